# Shared by all rules: the results directory, path patterns (harness/paths.py) and the plan
# (harness/workflow/plan.py): every job, its spec and the spec's hash come from the plan. A rule passes
# its job's spec to the command as a param, so Snakemake reruns the job when the spec changes
# (params are a rerun trigger) and its dependents through their inputs; nothing else does.
import os
import shlex
import sys

from snakemake.settings.types import DeploymentMethod

import harness.paths as P
from harness.workflow import plan as harness_plan
from harness.environment import pin_variables
from harness.io import write_json

R = config["results_dir"]
CONDA_ENV = "../environment.yml"
PLAN = harness_plan.build_plan(config)


def job_interpreter(config, conda: bool) -> str:
    """The Python every job runs: config `python`, else (with --use-conda) the job's conda
    environment's `python`, else the interpreter running this workflow. Never whatever `python` the
    PATH happens to hold: `.venv/bin/snakemake` without an activated environment would start the
    system's, which lacks the project's packages."""
    if config.get("python"):
        return config["python"]
    return "python" if conda else sys.executable


# Every job runs `"$HARNESS_PYTHON" -m harness ...`, HARNESS_PYTHON set here to job_interpreter(): a
# shell variable, not the path itself in the rules, so that another checkout or environment (its
# interpreter elsewhere) does not count as changed code (Snakemake's code rerun trigger). Also:
# the package importable from this checkout in any environment (local, --use-conda, SLURM jobs),
# installed or not; each job's record of what it ran with goes under the results directory
# (HARNESS_RESULTS: harness.environment); the CPU code paths config cpu_capability pins (set
# before torch loads; none when null).
PYTHON = job_interpreter(config, DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method)
shell.prefix(
    'export PYTHONPATH="{}:${{{{PYTHONPATH:-}}}}" HARNESS_PYTHON={} HARNESS_RESULTS={}{}; '.format(
        workflow.basedir, shlex.quote(PYTHON), shlex.quote(R),
        "".join(f" {k}={shlex.quote(v)}" for k, v in pin_variables(config.get("cpu_capability")).items()),
    )
)


def results_of(wildcards, input) -> str:
    """The results directory, from the manifest at its root (a param derived from an input, not a
    hard-coded prefix: Snakemake's lint, and jobs without a shared file system)."""
    return os.path.dirname(input.manifest)


def res(pattern, **wildcards):
    """A results path from a harness.paths pattern; unformatted wildcards stay for Snakemake."""
    return f"{R}/{pattern}".format(**wildcards) if wildcards else f"{R}/{pattern}"


DATASET = res(P.DATASET)


def spec(stage):
    """Param: the planned spec of the rule's job, as JSON text (its hash changes with any key it reads)."""
    return lambda w: harness_plan.stable_json(harness_plan.spec_for(PLAN, stage, **dict(w.items())))


def planned(stage):
    """The planned jobs of one stage (their specs)."""
    return [s for s in PLAN.values() if s["stage"] == stage]


def run_path(pattern, spec_):
    return res(pattern, space=spec_["space"]["name"], method=spec_["method"]["name"], seed=spec_["seed"])


def method(name):
    return harness_plan.method_of(config, name)


def supernet_record(wildcards):
    """Score input: the trained supernet, for methods that train one."""
    if method(wildcards.method).trains_supernet:
        return res(P.TRAIN_RECORD, **wildcards)
    return []


def groundtruth_file(wildcards):
    name = wildcards.ground_truth
    if name == "retrain":
        return res(P.GT_RETRAIN, space=wildcards.space)
    return res(f"{{space}}/groundtruth/{name}.csv", space=wildcards.space)


def correlated_scores(wildcards):
    """Score files judged against one ground truth: the sample's, or every arch's for all-* ones."""
    every = wildcards.ground_truth.startswith("all-")
    pattern = P.ALL_SCORES if every else P.SCORES
    return [run_path(pattern, s) for s in harness_plan.score_specs(PLAN, config, wildcards.space, every)]


def correlated_records(wildcards):
    """The scoring records beside those score files: correlate reads each method's parts (its
    baseline, its kind) from them."""
    every = wildcards.ground_truth.startswith("all-")
    pattern = P.ALL_SCORING_RECORD if every else P.SCORING_RECORD
    return [run_path(pattern, s) for s in harness_plan.score_specs(PLAN, config, wildcards.space, every)]


def correlate_settings(w):
    """The correlate command's options, from the job's spec."""
    reads = harness_plan.spec_for(PLAN, "correlate", **dict(w.items()))["config"]
    section = reads["correlation"]
    bootstrap = section.get("bootstrap_all_archs", section.get("bootstrap"))
    return (f"--bootstrap {bootstrap} --confidence {section['confidence']} --topk {section['topk']}"
            f" --seed {reads['seed']}")


def report_targets():
    return [res(P.REPORT_HTML), res(P.REPORT_CORRELATIONS), res(P.REPORT_COSTS), res(P.REPORT_COMPARISON),
            res(P.REPORT_VERDICTS)]
