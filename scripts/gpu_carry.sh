#!/bin/bash
# Prepare, on a machine with internet, what a GPU machine without internet lacks to run the
# harness: one ignored folder of the checkout (.gpu-carry/: wheels and Fashion-MNIST) that travels
# there with it. Then, on the GPU machine, `bash scripts/gpu_session.sh` installs and uses it.
#   bash scripts/gpu_carry.sh [FOLDER]      # in the checkout's root; default .gpu-carry
#   PYTHON_VERSION=3.12                     # the GPU machine's Python (its compiled wheels)
# A GPU image with CUDA torch usually has torch, torchvision, numpy, pandas, scipy, seaborn,
# matplotlib, jinja2, pyyaml and tqdm (seen on an H200 image with Python 3.12 and torch 2.11), but
# not Snakemake and its dependencies, nats_bench, platformdirs, jsonschema, threadpoolctl or
# tabulate: those are carried (about 9 MB), with Fashion-MNIST from Debian's dataset-fashion-mnist
# (31 MB). Snakemake's ILP scheduler's pulp is left out (16 MB): gpu_session.sh runs the greedy one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=$(realpath -m "${1:-$root/.gpu-carry}")  # a relative FOLDER is relative to where this was run
python_version=${PYTHON_VERSION:-3.12}
MARKER=.made-by-gpu_carry
if [ -e "$out" ] && [ ! -f "$out/$MARKER" ]; then  # never delete a folder this script did not make
  echo "error: $out exists and was not made by scripts/gpu_carry.sh: name another folder" >&2
  exit 2
fi
rm -rf "$out" && mkdir -p "$out/whl" "$out/data/fashion-mnist" && touch "$out/$MARKER"
cd "$root"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip wheel -q "snakemake>=9,<10" "nats_bench>=1.8" platformdirs "jsonschema>=4.18" \
  "threadpoolctl>=3.1" "tabulate>=0.9" -w "$tmp"
# on the GPU machine already, or not needed there
(cd "$tmp" && rm -f attrs-* certifi-* charset_normalizer-* idna-* jinja2-* markupsafe-* numpy-* packaging-* \
   psutil-* pyyaml-* requests-* urllib3-* wrapt-* typing_extensions-* pulp-*)
# compiled wheels: the GPU machine's CPython builds instead of this machine's
for wheel in "$tmp"/*.whl; do
  file=$(basename "$wheel")
  case "$file" in *-none-any.whl) mv "$wheel" "$out/whl/"; continue ;; esac
  name=$(echo "$file" | cut -d- -f1); version=$(echo "$file" | cut -d- -f2)
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$python_version" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$out/whl" "${name//_/-}==$version"
done
if ! cp /usr/share/datasets/fashion-mnist/*.gz "$out/data/fashion-mnist/" 2>/dev/null; then
  echo "error: Fashion-MNIST not found in /usr/share/datasets/fashion-mnist:" \
       "apt-get install dataset-fashion-mnist, then run this again" >&2
  exit 1
fi
du -sh "$out"
