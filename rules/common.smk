# Shared by all rules: the results directory, path patterns (harness/paths.py) and targets.
import functools
import os

import harness.paths as P
from harness.io import write_json

R = config["results_dir"]
CONDA_ENV = "../environment.yml"
# Jobs run `python -m harness`: make the package importable from this checkout in any
# environment (local, --use-conda, SLURM jobs), installed or not.
shell.prefix('export PYTHONPATH="{}:${{{{PYTHONPATH:-}}}}"; '.format(workflow.basedir))


def res(pattern, **wildcards):
    """A results path from a harness.paths pattern; unformatted wildcards stay for Snakemake."""
    return f"{R}/{pattern}".format(**wildcards) if wildcards else f"{R}/{pattern}"


RUN_CONFIG = ancient(res(P.RUN_CONFIG))
DATASET = res(P.DATASET)


def method(name):
    from harness.runtime import configured_method

    return configured_method(config, name)


def space_methods(space):
    """The configured methods that run on `space` (a variant with space_knobs names its spaces)."""
    return [m for m in config["methods"] if method(m).applies_to(space)]


def rank_spaces():
    """Spaces that get the ranking experiment (sample, retrained ground truth, correlations)."""
    chosen = config["archs"]["spaces"]
    return list(config["spaces"]) if chosen is None else list(chosen)


def search_spaces():
    """Spaces that get the search experiment."""
    return config["search"]["spaces"]


def method_runs(spaces=None, methods=None):
    """(space, method, seed) of every run in the config (of `spaces` / `methods` only, if given)."""
    spaces = config["spaces"] if spaces is None else spaces
    return [(s, m, seed) for s in spaces for m in space_methods(s) for seed in method_seeds(m)
            if methods is None or m in methods]


def method_seeds(name):
    """The run seeds of method `name` (config seeds / seeds_by_kind: harness.runtime.seeds_for)."""
    from harness.runtime import seeds_for

    return seeds_for(config, method(name))


def benchmark_sample(space, name):
    """How many of `space`'s architectures method `name` scores against NATS-Bench (nats_bench.sample)."""
    from harness.runtime import benchmark_sample_size, configured_space

    return benchmark_sample_size(config, method(name), configured_space(config, space).size())


def search_runs():
    """(space, method, seed) of every search (and final retraining) in the config: each method's
    first search.seeds run seeds (all of them when null)."""
    count = config["search"]["seeds"]
    return [(s, m, seed) for s, m, seed in method_runs(search_spaces(), config["search"]["methods"])
            if count is None or seed in method_seeds(m)[:count]]


def all_runs():
    """Every (space, method, seed) that the ranking or the search experiment needs."""
    return list(dict.fromkeys(method_runs(rank_spaces()) + search_runs()))


def supernet_record(wildcards):
    """Score input: the trained supernet, for methods that train one."""
    if method(wildcards.method).trains_supernet:
        return res(P.TRAIN_RECORD, **wildcards)
    return []


@functools.cache
def nats_bench_source(space):
    """The NATS-Bench source of `space` (configured CSV or archive, the bundled nats-tss table, or
    found in $TORCH_HOME), or None."""
    from harness import nats_bench

    if space not in nats_bench.SPACES:
        return None
    section = config["nats_bench"]
    return nats_bench.find_source(space, section["archive"].get(space), section["csv"].get(space), section["fast_mode"],
                                  section["hp"], section["seed_policy"])


def nats_bench_args(space):
    """Command-line arguments naming the source and schedule of the NATS-Bench query."""
    from harness.nats_bench import CsvSource

    source, section = nats_bench_source(space), config["nats_bench"]
    if isinstance(source, CsvSource):
        args = f"--csv {source.path}"
    else:
        args = f"--path {source.path}" + ("" if source.fast_mode else " --no-fast-mode")
    return args + (f" --hp {section['hp']}" if section["hp"] else "")


def ground_truths(space):
    """Names of the ground truths `space` is judged against (file stems under groundtruth/)."""
    names = ["retrain"]
    if nats_bench_source(space) is not None:
        names += [f"nats-bench-{d}" for d in config["nats_bench"]["datasets"]]
        if all_archs_methods(space):
            names += [f"all-nats-bench-{d}" for d in config["nats_bench"]["datasets"]]
    return names


def all_archs_methods(space):
    """Methods scored over every architecture of `space` (enumerable spaces with NATS-Bench values)."""
    wanted = config["nats_bench"]["all_archs_methods"]
    return [m for m in space_methods(space) if m in wanted] if nats_bench_source(space) else []


def groundtruth_file(wildcards):
    name = wildcards.ground_truth
    if name == "retrain":
        return res(P.GT_RETRAIN, space=wildcards.space)
    return res(f"{{space}}/groundtruth/{name}.csv", space=wildcards.space)


def correlated_scores(wildcards):
    """Score files judged against one ground truth: the sample's, or every arch's for all-* ones."""
    if wildcards.ground_truth.startswith("all-"):
        runs = [(m, s) for m in all_archs_methods(wildcards.space) for s in method_seeds(m)]
        return [res(P.ALL_SCORES, space=wildcards.space, method=m, seed=s) for m, s in runs]
    runs = [(m, s) for m in space_methods(wildcards.space) for s in method_seeds(m)]
    return [res(P.SCORES, space=wildcards.space, method=m, seed=s) for m, s in runs]


def report_targets():
    return [res(P.REPORT_HTML), res(P.REPORT_CORRELATIONS), res(P.REPORT_COSTS), res(P.REPORT_COMPARISON)]
