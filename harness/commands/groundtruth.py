"""groundtruth: NATS-Bench accuracies as ground truth.

  export  every architecture (or those of --archs) for several datasets/splits, as a tidy CSV
          (space, arch_index, arch_str, dataset, split, hp, seed_policy, accuracy [percent]) plus
          FILE.json: the record of each query (source file, SHA-256, hp, keys, seed policy).
  query   one accuracy for the sampled archs, as a table the correlate command reads (arch_id,
          arch_str, seed, test_acc): seed -1 means "mean over seeds"; test_acc holds the accuracy
          of the queried split (also for --split valid; the record names the split) as a fraction
          in [0, 1] like the retrained ground truth, and accuracy_percent the NATS-Bench value.

Sources: --csv FILE (a tidy export or the shared wide table), else --path ARCHIVE, else the
official archive under $TORCH_HOME. See harness/groundtruth/nats_bench.py for the traps this avoids.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from harness.groundtruth import nats_bench as nb
from harness.errors import HarnessError
from harness.io import write_csv, write_json
from harness.results.files import read_arch_table

NAME = "groundtruth"
HELP = "NATS-Bench ground truth: export accuracies, or query them for the sampled archs (correlate's format)."
GROUNDTRUTH_COLUMNS = ["arch_id", "arch_str", "seed", "test_acc", "accuracy_percent"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="tidy CSV of accuracies (+ FILE.json record)")
    add_source_arguments(export)
    export.add_argument("--datasets", nargs="+", default=["cifar10", "cifar100", "ImageNet16-120"],
                        choices=nb.DATASETS, help="datasets (default: the three harness datasets)")
    export.add_argument("--splits", nargs="+", default=list(nb.SPLITS), choices=nb.SPLITS)
    add_query_arguments(export)
    export.add_argument("--archs", type=Path, help="csv with an arch_str column: export only these (default: all)")
    export.add_argument("--output", required=True, type=Path, help="tidy csv to write")

    query = actions.add_parser("query", help="ground-truth table for correlate (+ record json)")
    query.add_argument("--spec", help="the workflow's job spec (JSON text or file): space, dataset and the "
                                      "config's nats_bench section; the source is looked for inside the job and a "
                                      "job that finds none writes a 'not available' record")
    add_source_arguments(query, required=False)
    query.add_argument("--dataset", default="cifar10", choices=nb.DATASETS)
    query.add_argument("--split", default="test", choices=nb.SPLITS)
    add_query_arguments(query)
    query.add_argument("--archs", required=True, type=Path, help="archs csv (arch_id, arch_str)")
    query.add_argument("--output", required=True, type=Path, help="ground-truth csv to write")
    query.add_argument("--record", required=True, type=Path, help="json record of the query to write")


def add_source_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--space", required=required, choices=sorted(nb.SPACES))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--csv", type=Path, help="tidy export or wide NATS-Bench table to read")
    source.add_argument("--path", type=Path, help="official archive (fast-mode folder or .pickle.pbz2 file); "
                                                  "default: the official name under $TORCH_HOME")
    parser.add_argument("--fast-mode", action=argparse.BooleanOptionalAction, default=True,
                        help="read the per-arch folder (*-simple) rather than the single file")


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hp", default=None, help="training schedule (default: full training, 200 TSS / 90 SSS; "
                                                   "the API's own default 12 is NOT ground truth)")
    parser.add_argument("--seed-policy", default=nb.MEAN, help="'mean' over seeds (default) or one int seed")


def open_source(args: argparse.Namespace) -> nb.CsvSource | nb.OfficialSource:
    if args.csv is not None:
        return nb.CsvSource(args.csv)
    return nb.OfficialSource(args.path, args.space, args.fast_mode)


def read_archs(path: Path, columns: list[str]) -> pd.DataFrame:
    frame = read_arch_table(path, columns)
    if frame["arch_str"].duplicated().any():
        raise HarnessError(f"{path}: some arch_str appear more than once; rerun the sample-archs step")
    return frame


def run(args: argparse.Namespace) -> int:
    if args.action == "export":
        return run_export(args)
    return run_query(args)


def run_export(args: argparse.Namespace) -> int:
    queries = [nb.NatsQuery(args.space, dataset, split, args.hp, args.seed_policy)
               for dataset in dict.fromkeys(args.datasets) for split in dict.fromkeys(args.splits)]
    source = open_source(args)
    arch_strs = list(read_archs(args.archs, ["arch_str"])["arch_str"]) if args.archs else source.all_archs()
    start = time.perf_counter()
    results = source.query_many(arch_strs, queries, progress=True)
    frames = [tidy_frame(result, q) for result, q in zip(results, queries)]
    table = pd.concat(frames, ignore_index=True)[nb.TIDY_COLUMNS]
    sidecar = {"command": "groundtruth export", "n_archs": len(arch_strs),
               "archs": str(args.archs) if args.archs else "all", "seconds": round(time.perf_counter() - start, 3),
               "records": [source.record(q) for q in queries]}  # both outputs whole before either is written
    write_csv(table, args.output)
    write_json(sidecar, sidecar_path(args.output))
    print(f"wrote {len(arch_strs)} archs x {len(queries)} queries to {args.output} (+ {sidecar_path(args.output)})")
    return 0


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def tidy_frame(result: pd.DataFrame, q: nb.NatsQuery) -> pd.DataFrame:
    return result.assign(space=q.space, dataset=q.dataset, split=q.split, hp=q.hp, seed_policy=str(q.seed_policy))


def run_query(args: argparse.Namespace) -> int:
    if args.spec:
        return run_planned_query(args)
    if args.space is None:
        raise HarnessError("groundtruth query: pass --space (or --spec)")
    q = nb.NatsQuery(args.space, args.dataset, args.split, args.hp, args.seed_policy)
    archs = read_archs(args.archs, ["arch_id", "arch_str"])
    source = open_source(args)
    result = source.query(list(archs["arch_str"]), q)
    table, record = groundtruth_frame(archs, result, q), query_record(source, q, archs, args)  # both whole first
    write_csv(table, args.output)
    write_json(record, args.record)
    print(f"wrote NATS-Bench ground truth ({q.label()}) for {len(archs)} archs to {args.output}")
    return 0


def run_planned_query(args: argparse.Namespace) -> int:
    """The workflow's query: the source is found here, in the job (the configured CSV or archive,
    else the official archive under $TORCH_HOME), never while the job graph is built. Finding
    none is a result: an empty table and a record saying "not available" and how to enable it."""
    from harness.workflow.job import job_spec

    spec = job_spec(args, "nats_bench_groundtruth")
    space, section = spec["space"]["name"], spec["config"]["nats_bench"]
    q = nb.NatsQuery(space, spec["dataset"], section["split"], section["hp"], section["seed_policy"])
    archs = read_archs(args.archs, ["arch_id", "arch_str"])
    source = nb.find_source(space, section["archive"].get(space), section["csv"].get(space), section["fast_mode"])
    if source is None:
        write_csv(pd.DataFrame(columns=GROUNDTRUTH_COLUMNS), args.output)
        write_json({"command": "groundtruth query", "ground_truth_name": q.label(), "available": False,
                    "note": nb.how_to_enable(space)}, args.record)
        print(f"NATS-Bench ground truth ({q.label()}) not available: {nb.how_to_enable(space)}")
        return 0
    result = source.query(list(archs["arch_str"]), q)
    write_csv(groundtruth_frame(archs, result, q), args.output)
    write_json(query_record(source, q, archs, args), args.record)
    print(f"wrote NATS-Bench ground truth ({q.label()}) for {len(archs)} archs to {args.output}")
    return 0


def groundtruth_frame(archs: pd.DataFrame, result: pd.DataFrame, q: nb.NatsQuery) -> pd.DataFrame:
    """correlate's table: arch_id, arch_str, seed, test_acc (fraction), accuracy_percent."""
    return pd.DataFrame({
        "arch_id": archs["arch_id"].to_numpy(), "arch_str": archs["arch_str"].to_numpy(), "seed": q.seed,
        "test_acc": result["accuracy"].to_numpy() / 100.0, "accuracy_percent": result["accuracy"].to_numpy(),
    })[GROUNDTRUTH_COLUMNS]  # fmt: skip


def query_record(source: nb.CsvSource | nb.OfficialSource, q: nb.NatsQuery, archs: pd.DataFrame,
                 args: argparse.Namespace) -> dict[str, Any]:
    return {
        "command": "groundtruth query", "ground_truth_name": q.label(), "n_archs": len(archs),
        "archs": {"path": str(args.archs), "sha256": nb.sha256_file(args.archs)},
        "columns": {"seed": f"{nb.MEAN_SEED} = mean over seeds" if q.seed == nb.MEAN_SEED else "the queried seed",
                    "test_acc": f"NATS-Bench {q.split} accuracy ({q.key().dataset}/{q.key().eval_set}) / 100",
                    "accuracy_percent": "the same, in percent as NATS-Bench stores it"},
        "source": source.record(q),
    }  # fmt: skip
