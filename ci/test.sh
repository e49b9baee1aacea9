#!/usr/bin/env bash
# The test command: the library's tests (including the notebook pairing check), then every
# chapter executed under nbval in the smoke profile (only '# NBVAL_CHECK_OUTPUT' cells compared).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MPLBACKEND=Agg
"$PY" -m pytest tests/ -q -p no:cacheprovider
DCGAN_PROFILE=smoke "$PY" -m pytest book/ -q -p no:cacheprovider --nbval-lax \
  --nbval-current-env --nbval-cell-timeout=900 --nbval-sanitize-with ci/nbval_sanitize.cfg
