#!/usr/bin/env bash
# Install everything a run or the tests need: the Python packages (this repo, editable) and the
# default dataset, Fashion-MNIST, from Debian's dataset-fashion-mnist package.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
    else
        echo "warning: no apt-get; put Fashion-MNIST's four idx .gz files under \$HARNESS_DATA/fashion-mnist" >&2
    fi
fi
"$PYTHON" -m pip install -q -e '.[test]'
