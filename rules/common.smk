# Shared by all rules: the results directory, path patterns (harness/paths.py) and targets.
import os

import harness.paths as P
from harness.io import write_json

R = config["results_dir"]
CONDA_ENV = "../environment.yml"
# Jobs run `python -m harness`: make the package importable from this checkout in any
# environment (local, --use-conda, SLURM jobs), installed or not.
shell.prefix('export PYTHONPATH="' + workflow.basedir + ':${{PYTHONPATH:-}}"; ')


def res(pattern, **wildcards):
    """A results path from a harness.paths pattern; unformatted wildcards stay for Snakemake."""
    return f"{R}/{pattern}".format(**wildcards) if wildcards else f"{R}/{pattern}"


RUN_CONFIG = ancient(res(P.RUN_CONFIG))
DATASET = res(P.DATASET)


def method_runs():
    """(space, method, seed) of every run in the config."""
    return [(s, m, seed) for s in config["spaces"] for m in config["methods"] for seed in config["seeds"]]


def trains_supernet(method):
    from harness.runtime import configured_method

    return configured_method(config, method).trains_supernet


def supernet_record(wildcards):
    """Score input: the trained supernet, for methods that train one."""
    if trains_supernet(wildcards.method):
        return res(P.TRAIN_RECORD, **wildcards)
    return []


def report_targets():
    return [res(P.REPORT_HTML), res(P.REPORT_CORRELATIONS), res(P.REPORT_COSTS)]
