"""Do two x86 hosts with different vector units train to the same bytes? Measured on one host.

torch, oneDNN and MKL choose their CPU kernels by the host's vector units; environment variables
cap them, which emulates a host that lacks AVX-512 on one that has it. This script runs the same
short supernet training (SPOS, the default network and data, one epoch: 78 steps) and the same
retraining shard (4 sampled architectures, one epoch each) as harness jobs, under:

    this host                       the kernels this host picks (AVX-512 where it has it)
    AVX2 host                       an AVX2-only host, emulated: ATEN_CPU_CAPABILITY=avx2,
                                    ONEDNN_MAX_CPU_ISA=AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2
    this host, pinned               config cpu_capability: avx2 (harness.environment.CPU_PINS)
    AVX2 host, pinned               the emulated host, pinned alike

and reports whether the checkpoints' tensors and the retrained accuracies are identical between
them, and the CPU seconds (user + system) each job took, median over --repeat runs.

    python scripts/cross_host_check.py [--repeat 3] [--workdir DIR] [--output FILE.json]

What one host cannot show: differences that come from the CPU model rather than its vector
units (cache sizes that choose oneDNN's blocking, Intel vs AMD code paths inside MKL). Run it, or
`python -m harness verify`, on the second host for those.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.environment import CPU_PINS  # noqa: E402

AVX2_HOST = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
VARIANTS = {
    "this host": {},
    "AVX2 host": AVX2_HOST,
    "this host, pinned": dict(CPU_PINS["avx2"]),
    "AVX2 host, pinned": {**AVX2_HOST, **CPU_PINS["avx2"]},
}
PAIRS = [("this host", "AVX2 host"), ("this host, pinned", "AVX2 host, pinned"), ("this host", "this host, pinned")]
CONFIG = {  # config/config.yaml's network and data, one SPOS supernet trained for one epoch, 4 archs retrained
    "dataset": {"name": "fashion-mnist", "resolution": 16, "train_images": 10000, "val_images": 2000,
                "test_images": 10000, "augment": False},
    "spaces": {"nats-tss": {"C": 8, "N": 1}}, "methods": ["spos"], "seeds_by_kind": {"supernet": 1},
    "archs": {"spaces": ["nats-tss"], "count": 4}, "supernet": {"epochs": 1, "curve_points": 1},
    "groundtruth": {"epochs": 1, "repeat_archs": 0, "shards": 1}, "search": {"spaces": []},
    "nats_bench": {"datasets": []},
}
TRAIN = "train_supernet:method=spos,seed=0,space=nats-tss"
SHARD = "retrain_shard:shard=0,space=nats-tss"


def harness(args: list[str], extra: dict[str, str], cwd: Path) -> float:
    """Run `python -m harness ARGS` with `extra` in its environment; its CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"python -m harness {args[0]} failed:\n{done.stderr[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def prepare(workdir: Path) -> dict[str, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump({**CONFIG, "results_dir": str(workdir / "results")}))
    specs = {}
    for job in ("prepare_data:", "sample_archs:space=nats-tss", TRAIN, SHARD):
        specs[job] = workdir / f"{job.split(':')[0]}.json"
        harness(["plan", "--config", str(workdir / "config.yaml"), "--job", job, "--output", str(specs[job])], {}, workdir)
    data, archs = workdir / "results/data/dataset.pt", workdir / "results/nats-tss/archs.csv"
    harness(["prepare-data", "--spec", str(specs["prepare_data:"]), "--output", str(data),
             "--meta", str(data.with_suffix(".json"))], {}, workdir)
    harness(["sample-archs", "--spec", str(specs["sample_archs:space=nats-tss"]), "--output", str(archs)], {}, workdir)
    return {"data": data, "archs": archs, "train": specs[TRAIN], "shard": specs[SHARD]}


def run_variant(name: str, extra: dict[str, str], inputs: dict[str, Path], folder: Path) -> dict[str, float]:
    folder.mkdir(parents=True, exist_ok=True)
    train = harness(["train-supernet", "--spec", str(inputs["train"]), "--data", str(inputs["data"]),
                     "--outdir", str(folder / "supernet"), "--threads", "1", "--no-progress"], extra, folder)
    retrain = harness(["retrain", "--spec", str(inputs["shard"]), "--data", str(inputs["data"]), "--archs",
                       str(inputs["archs"]), "--output", str(folder / "shard0.csv"), "--threads", "1"], extra, folder)
    capability = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                                env={**os.environ, **extra}, capture_output=True, text=True).stdout.strip()
    return {"train_cpu_s": train, "retrain_cpu_s": retrain, "capability": capability}


def outputs(folder: Path) -> tuple[dict[str, dict[str, torch.Tensor]], pd.Series]:
    weights = {p.name: torch.load(p, weights_only=True) for p in sorted((folder / "supernet").glob("ckpt*.pt"))}
    return weights, pd.read_csv(folder / "shard0.csv")["test_acc"]


def compare(a: Path, b: Path) -> dict[str, object]:
    (wa, acc_a), (wb, acc_b) = outputs(a), outputs(b)
    same = all(torch.equal(wa[n][k], wb[n][k]) for n in wa for k in wa[n])
    gap = max(((wa[n][k].double() - wb[n][k].double()).abs().max().item() for n in wa for k in wa[n]
               if wa[n][k].is_floating_point()), default=0.0)
    return {"weights_identical": same, "largest_weight_difference": gap,
            "accuracies_identical": bool(acc_a.equals(acc_b)),
            "largest_accuracy_difference": float((acc_a - acc_b).abs().max())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant (timings: the median)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to work (default: a temporary folder)")
    parser.add_argument("--output", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cross-host-"))
    inputs = prepare(workdir)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    started = time.perf_counter()
    for rep in range(args.repeat):
        for name, extra in VARIANTS.items():
            runs[name].append(run_variant(name, extra, inputs, workdir / f"{name.replace(' ', '_').replace(',', '')}-{rep}"))
            print(f"{name} (run {rep + 1}): {runs[name][-1]}", file=sys.stderr, flush=True)

    def folder(name: str, rep: int = 0) -> Path:
        return workdir / f"{name.replace(' ', '_').replace(',', '')}-{rep}"

    report = {"host": torch.backends.cpu.get_cpu_capability(), "variants": VARIANTS, "pairs": [], "timings": {},
              "repeatable": {n: all(compare(folder(n), folder(n, r))["weights_identical"] for r in range(1, args.repeat))
                             for n in VARIANTS},
              "wall_s": round(time.perf_counter() - started, 1)}
    for a, b in PAIRS:
        report["pairs"].append({"a": a, "b": b, **compare(folder(a), folder(b))})
    for name, rows in runs.items():
        report["timings"][name] = {"capability": rows[0]["capability"],
                                   "train_cpu_s": statistics.median(r["train_cpu_s"] for r in rows),
                                   "retrain_cpu_s": statistics.median(r["retrain_cpu_s"] for r in rows)}
    for pair in report["pairs"]:
        print(f"{pair['a']:18s} vs {pair['b']:18s}: checkpoints {'identical' if pair['weights_identical'] else 'differ'} "
              f"(up to {pair['largest_weight_difference']:.3g}), retrained accuracies "
              f"{'identical' if pair['accuracies_identical'] else 'differ'} (up to {pair['largest_accuracy_difference']:.4f})")
    for name, timing in report["timings"].items():
        print(f"{name:18s} torch {timing['capability']:7s} training {timing['train_cpu_s']:.1f} CPU-s, "
              f"retraining {timing['retrain_cpu_s']:.1f} CPU-s (median of {args.repeat})")
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
