#!/usr/bin/env bash
# Set up a fresh Debian machine (Python 3.11) for the book: a virtual environment in .venv with
# dcgan_lib and its development tools, and Fashion-MNIST from Debian when it is missing.
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
.venv/bin/python -c "import dcgan_lib, torch, torchvision, papermill, nbval, jupytext; print('setup: ok, torch', torch.__version__, 'torchvision', torchvision.__version__)"
