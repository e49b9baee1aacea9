#!/usr/bin/env bash
# The GPU check of the book (issue 14), at most 8 minutes on one CUDA GPU:
#   1. the tests that need CUDA (tests/test_cuda.py: the trainer's bf16 / channels-last path,
#      float32 GPU results against the CPU's);
#   2. benchmarks/run.py --device cuda: training images/s of Trainer.train_step against the
#      plain PyTorch loop (32x32 and 64x64; on CUDA the trainer runs bf16 autocast and
#      channels-last), and the step study at 64x64 colour with and without torch.compile;
#   3. chapter 02 (paper section 4's recipe) on Fashion-MNIST on the GPU: the `cpu` profile's
#      sizes (5 epochs, width 64; "cpu" names the sizes, the device is the GPU);
# and writes everything, figures included, to OUT_DIR:
#   machine.txt, tests.txt, benchmarks.txt, benchmarks.json, 02_training.ipynb,
#   figures/*.png (chapter 02's), summary.txt.
#
# usage: bash ci/gpu_check.sh OUT_DIR [DATA_ROOT]
#   DATA_ROOT (default $DCGAN_DATA or ~/.cache/dcgan_lib/data) must hold Fashion-MNIST or be
#   able to get it (`dcgan data fashion-mnist --root DATA_ROOT`: Debian's package or a
#   download); a machine without a network needs it copied there first.
# Exit status: 0 when every stage passed, 1 when one failed or ran out of time, 2 for a usage
# error, 3 when no CUDA device is visible.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=${1:-}
if [ -z "$OUT" ] || [ "$#" -gt 2 ]; then
  echo "usage: bash ci/gpu_check.sh OUT_DIR [DATA_ROOT]  (OUT_DIR: where figures and logs go)" >&2
  exit 2
fi
DATA=${2:-${DCGAN_DATA:-$HOME/.cache/dcgan_lib/data}}
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || { echo "gpu_check: no $PY: run 'bash ci/setup.sh' first (or set PY)" >&2; exit 2; }
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device: torch.cuda.is_available() is False on $(hostname)" \
       "(torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null));" \
       "run this script on a machine with an NVIDIA GPU and a CUDA build of torch" >&2
  exit 3
fi
mkdir -p "$OUT/figures" || exit 2
OUT=$(cd "$OUT" && pwd)
export MPLBACKEND=Agg PYTHONUNBUFFERED=1
t_start=$(date +%s)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "revision: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, '|', torch.cuda.get_device_name())"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

declare -a summary
failed=0
stage() {  # name, seconds allowed, log file, command...
  local name=$1 limit=$2 log=$3 t0 rc word
  shift 3
  echo "== $name (at most ${limit}s)"
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) word=passed ;;
    124|137) word="TIMED OUT after ${limit}s"; failed=1 ;;
    *) word="FAILED (exit $rc)"; failed=1 ;;
  esac
  summary+=("$name: $word in $(( $(date +%s) - t0 ))s (log: $log)")
}

stage "CUDA tests" 90 "$OUT/tests.txt" \
  "$PY" -m pytest tests/test_cuda.py -q -rs -p no:cacheprovider
stage "benchmarks (cuda)" 210 "$OUT/benchmarks.txt" \
  "$PY" benchmarks/run.py --device cuda --skip-loader --variants --compile \
  --variant-size 64 --variant-channels 3 --json "$OUT/benchmarks.json"
stage "Fashion-MNIST data" 60 "$OUT/data.txt" \
  "$PY" -m dcgan_lib.cli data fashion-mnist --root "$DATA"
stage "chapter 02 on the GPU" 180 "$OUT/chapter02.txt" \
  "$PY" ci/run_book.py --profile cpu --only 02_training --data-root "$DATA" \
  --results "$OUT/results"
cp "$OUT"/results/cpu/02_training/*.png "$OUT/figures/" 2>/dev/null
cp "$OUT/results/cpu/02_training.ipynb" "$OUT/02_training.ipynb" 2>/dev/null

{
  echo "---- ci/gpu_check.sh summary ($(( $(date +%s) - t_start ))s in all)"
  printf '%s\n' "${summary[@]}"
  echo "figures: $(ls "$OUT/figures" | wc -l) in $OUT/figures"
} | tee "$OUT/summary.txt"
exit $failed
