# make reproduce   set up, run the default reproduction, then say where to look (the report, the verdicts)
# make test        set up with the test tools, then run the test suite (what .ci/run runs), which
#                  also builds the documentation strictly and runs every documented command
# make resume      after a crash or kill: release Snakemake's lock and finish the run
# make docs        build the documentation site into site/ (docs/, mkdocs.yml)
# make gpu-check   on a GPU machine: everything it must verify, each figure beside its goal (< 9 min):
#                  gpu_check, the GPU benchmark, config/gpu.yaml's run timed with the GPU's utilisation,
#                  a determinism re-run, the headline verdicts (scripts/gpu_tier.py; no setup: it runs
#                  in the environment at hand, e.g. scripts/gpu_session.sh's carried wheels)
#   DEVICE=cpu                every step on the CPU at tiny sizes (config/gpu-tiny.yaml)
#   GPU_CHECK_ARGS="..."      more options of scripts/gpu_tier.py (e.g. --snakemake-args "--scheduler greedy")
#
# Setup (scripts/setup.sh) installs into the active virtual environment ($VIRTUAL_ENV) or, when
# none is active, into a project one, .venv, made with `$(PYTHON) -m venv`; every target then runs
# that environment's python and snakemake.
#   PYTHON=/usr/bin/python3   the interpreter that creates .venv (default: python3 on the PATH)
#   CORES=N                   cores Snakemake may use
#   ARGS="..."                more Snakemake arguments, the same for reproduce and resume
#                             (e.g. ARGS="--configfile config/smoke.yaml")
PYTHON ?= python3
CORES ?= 2
ARGS ?=
ENV_DIR := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)
RUN := PATH="$(ENV_DIR)/bin:$$PATH"

.PHONY: reproduce test resume setup setup-test where docs gpu-check

setup:
	PYTHON=$(PYTHON) bash scripts/setup.sh

setup-test:
	PYTHON=$(PYTHON) bash scripts/setup.sh --test

reproduce: setup
	$(RUN) snakemake --cores $(CORES) $(ARGS)
	@$(MAKE) --no-print-directory where

# Where a finished run's answers are: the report, the headline verdicts (one line per claim, with
# the run that would decide each inconclusive one), Snakemake's own report.
where:
	@results="$$($(RUN) python scripts/results_dir.py $(ARGS))"; \
	echo ""; \
	$(RUN) python -m harness summary --results "$$results" --snakemake-args "$(ARGS)" \
	  || echo "No verdicts under $$results/report/ yet: the run has not finished (make resume finishes it)."; \
	echo "           (Snakemake's report runs in the environment: . $(ENV_DIR)/bin/activate first)"

test: setup-test
	$(RUN) python -m pytest -q

# A killed run leaves Snakemake's lock (the next run refuses to start) and half-written outputs:
# unlock, then rerun what was incomplete and everything not yet done.
resume:
	$(RUN) snakemake --unlock $(ARGS)
	$(RUN) snakemake --cores $(CORES) --rerun-incomplete $(ARGS)
	@$(MAKE) --no-print-directory where

docs: setup
	$(RUN) python -m pip install -q -e ".[docs]"
	$(RUN) python -m mkdocs build --strict

DEVICE ?=
GPU_CHECK_ARGS ?=

gpu-check:
	$(RUN) python3 scripts/gpu_tier.py $(if $(DEVICE),--device $(DEVICE)) $(GPU_CHECK_ARGS)
