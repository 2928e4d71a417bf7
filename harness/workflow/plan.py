"""The run as a plan: a validated config resolved into one spec per job.

A spec holds everything its job reads and nothing else:

    id       the job: "<stage>:<wildcard>=<value>,..." (job_id), the Snakemake rule and wildcards
    stage    the rule (prepare_data, sample_archs, train_supernet, score, ...)
    space    {name, knobs}: the space's configured knobs with the method's space_knobs applied
    method   Method.describe(): sampler, trainable, budget, scorer and its options, kind, baseline
    seed     the run's seed (one of seeds_for(config, method))
    config   exactly the config slices the stage's command reads, nested as in the config (the
             command takes its settings from here, never from the whole config)
    hash     sha256 of the stable JSON of all the above

The Snakefile enumerates its jobs from the plan and gives each rule its spec as a param, so
Snakemake reruns a job when its spec (hash) changes, and its dependents through their inputs;
a config key no spec contains reruns nothing. The report's manifest lists the files of the
planned runs, so the report shows exactly what the config asks for.

To extend: a new stage is a function below plus one line in `build_plan`; a per-method seed
list is `seeds_for`; a new method needs nothing here (its parts come from Method.describe()).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from harness import paths
from harness.errors import HarnessError
from harness.method import Method

Spec = dict[str, Any]
RUN_STAGES = ("train_supernet", "score", "score_all_archs", "search", "final")
SCORE_GROUPS = ("score_free", "score_bn")  # stages whose job scores many runs (score_group_spec)
MANIFEST, PLAN = paths.MANIFEST, paths.PLAN  # re-exported for the plan's users


# ------------------------------------------------------------------------------------ basics


def stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(spec: Mapping[str, Any]) -> str:
    """sha256 of the spec's stable JSON (its own `hash` field left out)."""
    return hashlib.sha256(stable_json({k: v for k, v in spec.items() if k != "hash"}).encode()).hexdigest()


def job_id(stage: str, **wildcards: Any) -> str:
    """The job's name: its rule and wildcard values, as Snakemake's rule name and wildcards give it."""
    return stage + ":" + ",".join(f"{key}={wildcards[key]}" for key in sorted(wildcards))


def seeds_for(config: Mapping[str, Any], method: Method | str) -> list[int]:
    """The supernet/scoring seeds a method runs with (config seeds, seeds_by_kind:
    harness.workflow.runs.seeds_for, the one place that decides them)."""
    from harness.workflow.runs import seeds_for as run_seeds

    return run_seeds(config, method_of(config, method) if isinstance(method, str) else method)


def method_of(config: Mapping[str, Any], name: str) -> Method:
    from methods import resolve

    return resolve(name, config["method_variants"], config["method_options"])


def space_methods(config: Mapping[str, Any], space: str, names: Iterable[str] | None = None) -> list[str]:
    """The configured methods (of `names`, if given) that run on `space`."""
    wanted = config["methods"] if names is None else [m for m in config["methods"] if m in set(names)]
    return [m for m in wanted if method_of(config, m).applies_to(space)]


def rank_spaces(config: Mapping[str, Any]) -> list[str]:
    """Spaces of the ranking experiment (sample, retrained ground truth, correlations)."""
    chosen = config["archs"]["spaces"]
    return list(config["spaces"]) if chosen is None else list(chosen)


def search_spaces(config: Mapping[str, Any]) -> list[str]:
    return list(config["search"]["spaces"])


def nats_spaces(config: Mapping[str, Any]) -> list[str]:
    """Ranking spaces judged against NATS-Bench too (the job finds the source, or records none)."""
    from harness.groundtruth.nats_bench import SPACES

    return [s for s in rank_spaces(config) if s in SPACES] if config["nats_bench"]["datasets"] else []


def declared_source(config: Mapping[str, Any], space: str) -> bool:
    """Whether `space`'s NATS-Bench values are known without looking at the machine: a configured
    CSV or archive, or the table bundled with the package (nats-tss). An archive that only a job
    finds in $TORCH_HOME serves the sample's ground truth, not the all-architectures scoring."""
    from harness.groundtruth.nats_bench_bundled import BUNDLED_SPACE

    section = config["nats_bench"]
    return space == BUNDLED_SPACE or space in section["csv"] or space in section["archive"]


def all_archs_methods(config: Mapping[str, Any], space: str) -> list[str]:
    """Methods scored over (a sample of) every architecture of a NATS-Bench space whose values
    are declared (declared_source): scoring 32,768 nats-sss architectures against nothing is waste."""
    if space not in nats_spaces(config) or not declared_source(config, space):
        return []
    return space_methods(config, space, config["nats_bench"]["all_archs_methods"])


def ground_truths(config: Mapping[str, Any], space: str) -> list[str]:
    """Ground-truth names of `space` (file stems under groundtruth/)."""
    names = ["retrain"]
    if space in nats_spaces(config):
        datasets = config["nats_bench"]["datasets"]
        names += [f"nats-bench-{d}" for d in datasets]
        if all_archs_methods(config, space):
            names += [f"all-nats-bench-{d}" for d in datasets]
    return names


# ------------------------------------------------------------------------------ config slices


def _space_slice(config: Mapping[str, Any], space: str) -> dict[str, Any]:
    """What building `space` reads: its knobs and the dataset's input shape."""
    dataset = config["dataset"]
    return {"spaces": {space: config["spaces"][space]},
            "dataset": {"name": dataset["name"], "resolution": dataset["resolution"]}}


def _method_slice(config: Mapping[str, Any], method: str) -> dict[str, Any]:
    """What resolving `method` reads: its own variant definition and options, if any."""
    return {key: ({method: config[key][method]} if method in config[key] else {})
            for key in ("method_variants", "method_options")}


def _device_slice(config: Mapping[str, Any]) -> dict[str, Any]:
    """Where and how a job computes: device, threads, the determinism switch and the training
    precision / memory format (harness.workflow.job.setup_job applies them); cpu_capability only
    when pinned (the specs, and hashes, of a run that does not pin stay what they were). jobs_per_gpu
    is not here: how many jobs share a GPU changes no result, so it reruns nothing."""
    pinned = {"cpu_capability": config["cpu_capability"]} if config.get("cpu_capability") else {}
    return {**{key: config[key] for key in ("device", "threads", "deterministic", "bf16", "channels_last")}, **pinned}


def _only(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {key: mapping[key]} if key in mapping else {}


def _spec(stage: str, wildcards: Mapping[str, Any], config_slice: Mapping[str, Any], **resolved: Any) -> Spec:
    spec = {"id": job_id(stage, **wildcards), "stage": stage, **resolved, "config": dict(config_slice)}
    spec["hash"] = content_hash(spec)
    return spec


def _space_part(config: Mapping[str, Any], space: str, method: Method | None = None) -> dict[str, Any]:
    knobs = {**config["spaces"][space], **(method.knobs_for(space) if method else {})}
    return {"name": space, "knobs": knobs}


# ---------------------------------------------------------------------------------- stages


def prepare_data_spec(config: Mapping[str, Any]) -> Spec:
    return _spec("prepare_data", {}, {"dataset": config["dataset"]})


def sample_archs_spec(config: Mapping[str, Any], space: str, every: bool = False) -> Spec:
    reads = {**_space_slice(config, space), "seed": config["seed"]}  # the sample, or the all-archs order
    if not every:
        reads["archs"] = {"count": config["archs"]["count"]}
    return _spec("sample_all_archs" if every else "sample_archs", {"space": space}, reads,
                 space=_space_part(config, space))


def run_spec(config: Mapping[str, Any], stage: str, space: str, name: str, seed: int) -> Spec:
    """A (space, method, seed) job: train_supernet, score, score_all_archs, search or final."""
    method = method_of(config, name)
    reads: dict[str, Any] = {"seed": config["seed"], **_device_slice(config), **_space_slice(config, space)}
    if stage != "final":  # the final retraining reads the method's name only (the search found the archs)
        reads.update(_method_slice(config, name))
    if stage == "train_supernet":
        section = config["supernet"]
        reads["supernet"] = {**section, "space_epochs": _only(section["space_epochs"], space)}
    elif stage in ("score", "score_all_archs"):
        reads["scoring"] = config["scoring"]
    elif stage == "search":
        section = config["search"]
        reads["scoring"] = config["scoring"]
        reads["search"] = {**{k: v for k, v in section.items() if k not in ("spaces", "methods", "seeds", "flops_budget")},
                           "flops_budget": _only(section.get("flops_budget") or {}, space)}
    elif stage == "final":
        reads["final"] = config["final"]
    else:
        raise HarnessError(f"unknown run stage {stage!r}; one of {RUN_STAGES}")
    final = stage == "final"
    extra: dict[str, Any] = {}
    if stage == "score_all_archs":  # the benchmark sample: the first `limit` of the seeded all-archs order
        from harness.workflow.runs import benchmark_sample_size, configured_space, seed_kind

        extra["limit"] = benchmark_sample_size(config, method, configured_space(config, space).size())
        sample = config["nats_bench"].get("sample") or {}
        applies = name if name in sample else seed_kind(method)  # the one entry that sizes this sample
        if applies in sample:
            reads["nats_bench"] = {"sample": {applies: sample[applies]}}
    return _spec(stage, {"space": space, "method": name, "seed": seed}, reads,
                 space=_space_part(config, space, None if final else method),
                 method={"name": name} if final else method.describe(), seed=seed, **extra)


def retrain_shard_spec(config: Mapping[str, Any], space: str, shard: int) -> Spec:
    reads = {"seed": config["seed"], **_device_slice(config), **_space_slice(config, space),
             "groundtruth": config["groundtruth"]}
    return _spec("retrain_shard", {"space": space, "shard": shard}, reads, space=_space_part(config, space), shard=shard)


def nats_bench_spec(config: Mapping[str, Any], space: str, dataset: str, every: bool) -> Spec:
    section = config["nats_bench"]
    reads = {"nats_bench": {"csv": _only(section["csv"], space), "archive": _only(section["archive"], space),
                            **{k: section[k] for k in ("fast_mode", "split", "hp", "seed_policy")}}}
    return _spec("nats_bench_groundtruth", {"space": space, "all": "all-" if every else "", "dataset": dataset},
                 reads, space={"name": space}, dataset=dataset)


def score_group_spec(config: Mapping[str, Any], stage: str, space: str,
                     runs: list[tuple[str, tuple[str, str, int]]]) -> Spec:
    """Cheap scoring of many runs of a space in one job: one process, not one per run, whose
    start-up would cost more than the scoring. `runs` holds (run stage, (space, method, seed)):
    one score or score_all_archs spec each, the job's outputs in that order.

    score_free  every supernet-free method (zero-cost proxies, structural counts)
    score_bn    every BN-indicator run (its scores are lookups of the trained BN parameters),
                after all of the space's BN-indicator supernets are trained
    """
    if stage not in SCORE_GROUPS:
        raise HarnessError(f"unknown score group {stage!r}; one of {SCORE_GROUPS}")
    return _spec(stage, {"space": space}, {}, space={"name": space},
                 runs=[run_spec(config, run_stage, *run) for run_stage, run in runs])


def score_group(method: Method) -> str | None:
    """The grouped scoring job a method's runs are scored in, or None (SPOS, FairNAS: minutes of
    subnet evaluation per run, a job each)."""
    from harness.workflow.runs import seed_kind

    if not method.trains_supernet:
        return "score_free"
    return "score_bn" if seed_kind(method) == "bn_indicator" else None


def correlate_spec(config: Mapping[str, Any], space: str, ground_truth: str) -> Spec:
    section = config["correlation"]
    every = ground_truth.startswith("all-")
    reads = {"seed": config["seed"], **_space_slice(config, space), "correlation": {  # the space: its conv-op counts
        "confidence": section["confidence"], "topk": section["topk"],
        ("bootstrap_all_archs" if every else "bootstrap"): section["bootstrap_all_archs" if every else "bootstrap"]}}
    return _spec("correlate", {"space": space, "ground_truth": ground_truth}, reads,
                 space={"name": space}, ground_truth=ground_truth.replace("nats-bench-", "nats-bench:"))


# ------------------------------------------------------------------------------------- plan


def method_runs(config: Mapping[str, Any], spaces: Iterable[str], names: Iterable[str] | None = None
                ) -> list[tuple[str, str, int]]:
    """(space, method, seed) of every run on `spaces` (of methods `names` only, if given)."""
    return [(s, m, seed) for s in spaces for m in space_methods(config, s, names)
            for seed in seeds_for(config, method_of(config, m))]


def search_runs(config: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(space, method, seed) of every search and final retraining: each method's first
    search.seeds run seeds (all of them when null)."""
    count = config["search"].get("seeds")
    return [(s, m, seed) for s, m, seed in method_runs(config, search_spaces(config), config["search"]["methods"])
            if count is None or seed in seeds_for(config, m)[:count]]


def build_plan(config: Mapping[str, Any]) -> dict[str, Spec]:
    """Every job's spec, by job id, in a stable order."""
    specs: list[Spec] = [prepare_data_spec(config)]
    ranked = method_runs(config, rank_spaces(config))
    searched = search_runs(config)
    trained = [r for r in dict.fromkeys(ranked + searched) if method_of(config, r[1]).trains_supernet]
    every = [run for space in nats_spaces(config) for run in scored_runs(config, space, every=True)]
    for space in rank_spaces(config):
        specs.append(sample_archs_spec(config, space))
        specs += [retrain_shard_spec(config, space, shard) for shard in range(config["groundtruth"]["shards"])]
        specs += [correlate_spec(config, space, truth) for truth in ground_truths(config, space)]
    for space in nats_spaces(config):
        scored_all = bool(all_archs_methods(config, space))
        if scored_all:
            specs.append(sample_archs_spec(config, space, every=True))
        for dataset in config["nats_bench"]["datasets"]:
            specs.append(nats_bench_spec(config, space, dataset, every=False))
            if scored_all:
                specs.append(nats_bench_spec(config, space, dataset, every=True))
    specs += [run_spec(config, "train_supernet", *run) for run in trained]
    scored = [("score", run) for run in ranked] + [("score_all_archs", run) for run in every]
    specs += [run_spec(config, stage, *run) for stage, run in scored
              if score_group(method_of(config, run[1])) is None]
    for space in dict.fromkeys(run[0] for _, run in scored):
        for group in SCORE_GROUPS:
            runs = [(stage, run) for stage, run in scored
                    if run[0] == space and score_group(method_of(config, run[1])) == group]
            if runs:
                specs.append(score_group_spec(config, group, space, runs))
    specs += [run_spec(config, stage, *run) for run in searched for stage in ("search", "final")]
    return {spec["id"]: spec for spec in specs}


def stage_spec(config: Mapping[str, Any], stage: str, **names: Any) -> Spec:
    """One job's spec from the config and its names (space, method, seed, shard), planned or not:
    what a command run by hand with --config gets."""
    if stage == "prepare_data":
        return prepare_data_spec(config)
    if names.get("space") not in config["spaces"]:
        raise HarnessError(f"space {names.get('space')!r} is not in this run's config (spaces: {', '.join(config['spaces'])})")
    if stage in ("sample_archs", "sample_all_archs"):
        return sample_archs_spec(config, names["space"], every=stage == "sample_all_archs")
    if stage == "retrain_shard":
        return retrain_shard_spec(config, names["space"], names["shard"])
    if stage in RUN_STAGES:
        return run_spec(config, stage, names["space"], names["method"], names["seed"])
    raise HarnessError(f"stage {stage!r} has no command-line spec")


def scored_runs(config: Mapping[str, Any], space: str, every: bool = False) -> list[tuple[str, str, int]]:
    """(space, method, seed) of every run scored on `space`'s sample (or, with `every`, on (a
    sample of) all its architectures): the order of the correlate command's inputs and so of
    its rows. The sample's runs: those that train a supernet, then the supernet-free ones, each
    in the config's order; every architecture's: nats_bench.all_archs_methods' order."""
    if every:
        return [(space, m, seed) for m in all_archs_methods(config, space) for seed in seeds_for(config, m)]
    runs = method_runs(config, [space]) if space in rank_spaces(config) else []
    return sorted(runs, key=lambda run: not method_of(config, run[1]).trains_supernet)  # stable


def score_specs(plan: Mapping[str, Spec], config: Mapping[str, Any], space: str, every: bool = False) -> list[Spec]:
    """The score specs of a space's sample (or, with `every`, of all its architectures), also
    those folded into its grouped scoring jobs (SCORE_GROUPS), in scored_runs order."""
    stage = "score_all_archs" if every else "score"
    planned = {}
    for spec in plan.values():
        for run in spec["runs"] if spec["stage"] in SCORE_GROUPS else [spec]:
            if run["stage"] == stage and run["space"]["name"] == space:
                planned[(space, run["method"]["name"], run["seed"])] = run
    return [planned[run] for run in scored_runs(config, space, every) if run in planned]


def rule_name(spec: Mapping[str, Any]) -> str:
    """The Snakemake rule of a job: its stage, or for a grouped scoring job one rule per space
    (score_free_nats_tss)."""
    if spec["stage"] in SCORE_GROUPS:
        return spec["stage"] + "_" + spec["space"]["name"].replace("-", "_")
    return spec["stage"]


def stage_of_rule(rule: str) -> str:
    """The stage whose jobs a Snakemake rule runs: rule_name read backwards."""
    return next((group for group in SCORE_GROUPS if rule.startswith(group + "_")), rule)


def spec_for(plan: Mapping[str, Spec], stage: str, **wildcards: Any) -> Spec:
    """The planned spec of one job; HarnessError if the config plans no such job."""
    key = job_id(stage, **wildcards)
    if key not in plan:
        raise HarnessError(f"job {key} is not in the plan of this config (spaces, methods, seeds or "
                           "search settings do not include it)")
    return plan[key]


# --------------------------------------------------------------------------------- manifest


def run_files(space: str, method: str, seed: int, *, trains: bool, ranked: bool, searched: bool,
              every: bool = False) -> dict[str, str | None]:
    """The files of one planned run (relative to the results directory; None = not planned);
    `every`: the run also scores (a sample of) all the space's architectures."""
    where = {"space": space, "method": method, "seed": seed}
    return {
        "train": paths.TRAIN_RECORD.format(**where) if trains else None,
        "scoring": paths.SCORING_RECORD.format(**where) if ranked else None,
        "scores": paths.SCORES.format(**where) if ranked else None,
        "all_scoring": paths.ALL_SCORING_RECORD.format(**where) if every else None,
        "search": paths.SEARCH.format(**where) if searched else None,
        "final": paths.FINAL.format(**where) if searched else None,
    }


def build_manifest(config: Mapping[str, Any]) -> dict[str, Any]:
    """The report's inputs: per space, its planned runs and files (paths relative to results/)."""
    ranked = set(method_runs(config, rank_spaces(config)))
    searched = set(search_runs(config))
    every = {run for space in nats_spaces(config) for run in scored_runs(config, space, every=True)}
    spaces = list(dict.fromkeys(rank_spaces(config) + search_spaces(config)))
    entries = []
    for space in spaces:
        is_ranked = space in rank_spaces(config)
        runs = [run for run in dict.fromkeys(method_runs(config, [space])) if run in ranked | searched]
        entries.append({
            "name": space,
            "archs": paths.ARCHS.format(space=space) if is_ranked else None,
            "retrain": paths.GT_RETRAIN.format(space=space) if is_ranked else None,
            "correlations": paths.CORRELATIONS.format(space=space) if is_ranked else None,
            "nats_records": sorted(f"{space}/groundtruth/{truth}.csv.json" for truth in ground_truths(config, space)
                                   if truth != "retrain") if is_ranked else [],
            "runs": [{"method": m, "seed": seed,
                      "files": run_files(space, m, seed, trains=method_of(config, m).trains_supernet,
                                         ranked=(space, m, seed) in ranked, searched=(space, m, seed) in searched,
                                         every=(space, m, seed) in every)}
                     for _, m, seed in runs],
        })
    return {"run_config": paths.RUN_CONFIG, "dataset_meta": paths.DATASET_META, "spaces": entries}


def report_files(config: Mapping[str, Any]) -> list[str]:
    """Every file the manifest names (the report rule's inputs)."""
    return manifest_files(build_manifest(config))


def manifest_files(manifest: Mapping[str, Any]) -> list[str]:
    """Every file a manifest names, relative to the results directory."""
    files = [manifest["run_config"], manifest["dataset_meta"]]
    for space in manifest["spaces"]:
        files += [space[k] for k in ("archs", "retrain", "correlations") if space[k]] + space["nats_records"]
        files += [f for run in space["runs"] for f in run["files"].values() if f]
    return list(dict.fromkeys(files))
