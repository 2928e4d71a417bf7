#!/usr/bin/env bash
# Install everything a run needs into a virtual environment: the active one ($VIRTUAL_ENV) or,
# when none is active, the project's .venv (made with "$PYTHON -m venv"; on Debian/Ubuntu the
# system packages python3-venv is installed when venv creation fails for its lack). Then the
# Python packages (this repo, editable) and the default dataset, Fashion-MNIST, from Debian's
# dataset-fashion-mnist package.
#   scripts/setup.sh          for runs
#   scripts/setup.sh --test   also the test tools: pytest and playwright, Debian's chromium (the
#                             report's browser test), and a single-node SLURM cluster's Debian
#                             packages (slurmctld slurmd slurm-client munge) with the Snakemake SLURM
#                             executor, which the SLURM test starts and stops itself
# System packages needed before: python3 (3.10+), python3-venv, make; the rest comes from apt.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {
    if command -v apt-get >/dev/null 2>&1; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
    else
        echo "warning: no apt-get; install $* yourself" >&2
        return 1
    fi
}

venv_works() { [ -x "$1/bin/python" ] && "$1/bin/python" -m pip --version >/dev/null 2>&1; }

if [ -n "${VIRTUAL_ENV:-}" ]; then
    ENV_DIR="$VIRTUAL_ENV"
else
    ENV_DIR=.venv
    if ! venv_works "$ENV_DIR"; then
        rm -rf "$ENV_DIR"  # a failed `python -m venv` leaves a folder without pip
        if ! "$PYTHON" -m venv "$ENV_DIR"; then
            # Debian/Ubuntu split venv's ensurepip into python3-venv (and python3.X-venv).
            version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            echo "setup: '$PYTHON -m venv' failed; installing python3-venv python$version-venv" >&2
            rm -rf "$ENV_DIR"
            apt_install python3-venv "python$version-venv"
            "$PYTHON" -m venv "$ENV_DIR"
        fi
    fi
fi
echo "setup: installing into $ENV_DIR"

debs=()
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || debs+=(dataset-fashion-mnist)
extra=""
if [ "${1:-}" = "--test" ]; then
    extra="[test]"
    for tool in slurmctld slurmd sinfo munged; do
        command -v "$tool" >/dev/null 2>&1 || { debs+=(slurmctld slurmd slurm-client munge); break; }
    done
    [ -x /usr/bin/chromium ] || debs+=(chromium)
fi
if [ ${#debs[@]} -gt 0 ]; then
    apt_install "${debs[@]}" || echo "warning: Fashion-MNIST: put its four idx .gz files under \$HARNESS_DATA/fashion-mnist" >&2
fi
"$ENV_DIR/bin/python" -m pip install -q -e ".$extra"
