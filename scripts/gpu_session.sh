#!/bin/bash
# The one command for a lent GPU machine without internet (a checkout that travelled with its
# .gpu-carry/ folder: wheels and Fashion-MNIST, prepared where there is internet with
# `bash scripts/gpu_carry.sh`):
#   bash scripts/gpu_session.sh                 # in the checkout's root, on the GPU machine
# It installs the carried wheels with --target .gpu-site (nothing outside the checkout changes),
# points PYTHONPATH, PATH and HARNESS_DATA at them, then runs `make gpu-check` with Snakemake's
# greedy scheduler (the ILP scheduler's pulp is not carried). Everything `make gpu-check` wrote
# (results/gpu: its records, tables, logs, report and gpu-check/summary.json; not the checkpoints)
# is also copied to $OUT when set.
#   CARRY=DIR         the carried folder (default .gpu-carry)
#   GPU_SITE=DIR      where its wheels are installed (default .gpu-site)
#   DEVICE=cpu        the same on the CPU at tiny sizes (how the test suite checks this script)
#   GPU_CHECK_ARGS    more options of scripts/gpu_tier.py
#   RESULTS_DIRS      what is copied to $OUT/results/ (default: results/gpu results/gpu-tiny)
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=${CARRY:-.gpu-carry}
SITE=${GPU_SITE:-$PWD/.gpu-site}   # where the wheels are installed (ignored by git)
PYTHON=${PYTHON:-python3}

shopt -s nullglob
wheels=("$CARRY"/whl/*.whl)
if ((${#wheels[@]})); then
  echo "installing ${#wheels[@]} carried wheel(s) from $CARRY/whl into $SITE"
  "$PYTHON" -m pip install -q --upgrade --no-index --no-deps --no-compile --target "$SITE" "${wheels[@]}"
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" PATH="$SITE/bin:$PATH"
else
  echo "no wheels in $CARRY/whl: using the environment at hand"
fi
if [ -d "$CARRY/data" ]; then
  export HARNESS_DATA="$(cd "$CARRY/data" && pwd)"  # absolute, whether CARRY is relative or not
fi
# the workflow's jobs run `python -m harness`: give machines that only have python3 a `python`
if ! command -v python >/dev/null 2>&1; then
  mkdir -p "$SITE/bin" && ln -sf "$(command -v "$PYTHON")" "$SITE/bin/python"
  export PATH="$SITE/bin:$PATH"
fi
"$PYTHON" -c "import snakemake, torch; print(f'snakemake {snakemake.__version__}, torch {torch.__version__}, '
              f'CUDA {torch.version.cuda}, GPU available: {torch.cuda.is_available()}')"

status=0
make gpu-check ${DEVICE:+DEVICE=$DEVICE} GPU_CHECK_ARGS="--snakemake-args '--scheduler greedy' ${GPU_CHECK_ARGS:-}" \
  || status=$?
if [ -n "${OUT:-}" ]; then  # the records, tables, logs and report; not the checkpoints or the dataset
  for dir in ${RESULTS_DIRS:-results/gpu results/gpu-tiny}; do
    [ -d "$dir" ] || continue
    target="$OUT/results/$(basename "$dir")"
    (cd "$dir" && find . -type f \( -name '*.json' -o -name '*.csv' -o -name '*.tsv' -o -name '*.log' \
       -o -path './report/*' \) -print0 | tar --null -cf - -T -) | (mkdir -p "$target" && tar -xf - -C "$target")
  done
  echo "copied the records, tables, logs and report to $OUT"
fi
exit $status
