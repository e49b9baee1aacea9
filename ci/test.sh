#!/usr/bin/env bash
# The test command: the library's tests (including the notebook pairing check), then every
# chapter executed under nbval in the smoke profile (only '# NBVAL_CHECK_OUTPUT' cells compared).
# Both halves always run (a unit-test failure does not hide the notebooks' result); a summary of
# both follows pytest's own closing lines, and the exit status is non-zero if either failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
PY=${PY:-.venv/bin/python}
export MPLBACKEND=Agg PYTHONUNBUFFERED=1  # unbuffered: output piped through tee
log=$(mktemp) || exit 2
trap 'rm -f "$log" "$log.nb"' EXIT
"$PY" -m pytest tests/ -q -p no:cacheprovider | tee "$log"
unit=$?
DCGAN_PROFILE=smoke "$PY" -m pytest book/ -q -p no:cacheprovider --nbval-lax \
  --nbval-current-env --nbval-cell-timeout=900 --nbval-sanitize-with ci/nbval_sanitize.cfg \
  | tee "$log.nb"
notebooks=$?
half() {  # name, exit status, log: "name: passed (exit 0): <pytest's closing line>"
  local word=passed line
  [ "$2" -eq 0 ] || word=FAILED
  line=$(grep -E '(passed|failed|error|errors|skipped|no tests ran).* in [0-9.]+s' "$3" | tail -n 1)
  echo "$1: $word (exit $2): ${line:-no pytest summary line, see the output above}"
}
echo "---- ci/test.sh summary"
half "unit tests" "$unit" "$log"
half "notebooks" "$notebooks" "$log.nb"
[ "$unit" -eq 0 ] && [ "$notebooks" -eq 0 ]
