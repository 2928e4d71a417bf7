# make reproduce   set up, then run the default reproduction (results/report/index.html)
# make test        set up, then run the test suite (what .ci/run runs)
PYTHON ?= python3
CORES ?= 2

.PHONY: setup reproduce test

setup:
	PYTHON=$(PYTHON) bash scripts/setup.sh

reproduce: setup
	snakemake --cores $(CORES)

test: setup
	$(PYTHON) -m pytest -q
