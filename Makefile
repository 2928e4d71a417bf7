# make reproduce   set up, then run the default reproduction (results/report/index.html)
# make test        set up, then run the test suite (what .ci/run runs)
PYTHON ?= python3
CORES ?= 2

.PHONY: reproduce test

reproduce:
	PYTHON=$(PYTHON) bash scripts/setup.sh
	snakemake --cores $(CORES)

test:
	PYTHON=$(PYTHON) bash scripts/setup.sh --test
	$(PYTHON) -m pytest -q
