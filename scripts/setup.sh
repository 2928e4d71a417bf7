#!/usr/bin/env bash
# Install everything a run needs: the Python packages (this repo, editable) and the default
# dataset, Fashion-MNIST, from Debian's dataset-fashion-mnist package.
#   scripts/setup.sh          for runs
#   scripts/setup.sh --test   also the test tools: pytest, and a single-node SLURM cluster's
#                             Debian packages (slurmctld slurmd slurm-client munge) with the
#                             Snakemake SLURM executor, which the SLURM test starts and stops itself
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
debs=()
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || debs+=(dataset-fashion-mnist)
extra=""
if [ "${1:-}" = "--test" ]; then
    extra="[test]"
    for tool in slurmctld slurmd sinfo munged; do
        command -v "$tool" >/dev/null 2>&1 || { debs+=(slurmctld slurmd slurm-client munge); break; }
    done
fi
if [ ${#debs[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${debs[@]}"
    else
        echo "warning: no apt-get; install ${debs[*]} yourself (Fashion-MNIST: its four idx .gz files under \$HARNESS_DATA/fashion-mnist)" >&2
    fi
fi
"$PYTHON" -m pip install -q -e ".$extra"
