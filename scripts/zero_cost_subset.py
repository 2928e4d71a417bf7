"""Zero-cost proxies at the NATS-Bench network (nats-tss, C=16, N=5, CIFAR-10 shape 3x32x32, 10
classes) on a fixed random subset of the 15,625 architectures, against NATS-Bench's CIFAR-10
test accuracy after 200 epochs (`c10_test_acc_200` of nb201_tss_wide.csv).

    python scripts/zero_cost_subset.py --methods az_nas zen --count 500 --out results/zero_cost_subset

With --scale default, the harness's default network instead (nats-tss C=8, N=1, 16 px,
Fashion-MNIST's shape 1x16x16): what each proxy costs per architecture in the default run.

Writes OUT/scores_<method>.csv (arch_str, accuracy, score) and OUT/summary.csv (method, n, Kendall
tau and Spearman rho with 95% percentile-bootstrap CIs over architectures, wall seconds per
architecture: with --workers, of the workers together), rewritten after every chunk of
architectures, so a stopped run leaves the measurement over the prefix it reached. The subset is
the first `count` rows of a permutation seeded by --subset-seed, so a smaller count is a prefix
of a larger one.

Data-free proxies (az_nas, zen, synflow, l2_norm) follow their published protocol exactly. The
others need CIFAR-10 images, which this machine does not have: they get Fashion-MNIST resized to
32 px with its grey channel repeated three times, a stand-in that the summary names. A
population-relative method (AZ-NAS) is scored over the whole subset at once; its bootstrap CI
resamples the fixed scores (the log-ranks are not recomputed per resample).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import methods  # noqa: E402
from harness.data.datasets import DataConfig, DataSplits, load_dataset  # noqa: E402
from harness.io import write_csv  # noqa: E402
from harness.method import ScoreContext  # noqa: E402
from harness.analysis.metrics import bootstrap_ci, kendall_tau, spearman_rho  # noqa: E402
from harness.groundtruth.nats_bench_bundled import FULL_TABLE, bundled_path  # noqa: E402
from harness.data.shapes import dataset_shape  # noqa: E402
from harness.spaces import build_space  # noqa: E402
from harness.scoring.zero_cost import gaussian_batch, per_arch  # noqa: E402
from methods.az_nas import az_nas_components, log_rank_sum  # noqa: E402

TRUTH = "c10_test_acc_200"
STAND_IN = "Fashion-MNIST at 32 px, grey repeated to 3 channels (stand-in for CIFAR-10)"


SCALES = {"nats-bench": {"C": 16, "N": 5}, "default": {"C": 8, "N": 1}}


def fashion_mnist(resolution: int, seed: int) -> DataSplits:
    return load_dataset(DataConfig.from_dict({"name": "fashion-mnist", "root": None, "resolution": resolution,
                                              "train_images": 2048, "val_images": 128, "test_images": 128,
                                              "split_seed": seed, "augment": False}))


def stand_in_data(seed: int) -> DataSplits:
    """Fashion-MNIST shaped like CIFAR-10 (3 x 32 x 32, 10 classes)."""
    data = fashion_mnist(32, seed)
    rgb = {f"{s}_x": getattr(data, f"{s}_x").repeat(1, 3, 1, 1) for s in ("train", "val", "test")}
    return dataclasses.replace(data, **rgb, mean=data.mean * 3, std=data.std * 3,
                               input_shape=dataset_shape("cifar10"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=["az_nas"])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="the scoring seed (inits, inputs, batches)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1,
                        help="AZ-NAS only: processes that share each chunk (one thread each; same scores)")
    parser.add_argument("--chunk", type=int, default=20, help="archs per progress step (results rewritten after each)")
    parser.add_argument("--nats-csv", type=Path, default=None,
                        help="NATS-Bench nats-tss table (default: the bundled one, harness/groundtruth/nats_bench_data)")
    parser.add_argument("--out", type=Path, default=Path("results/zero_cost_subset"))
    parser.add_argument("--scale", choices=sorted(SCALES), default="nats-bench",
                        help="nats-bench: C=16, N=5, 3x32x32 (the published protocol); default: the default "
                             "run's C=8, N=1 at Fashion-MNIST 16 px")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    wide = pd.read_csv(args.nats_csv or bundled_path(FULL_TABLE))
    rows = np.random.default_rng(args.subset_seed).permutation(len(wide))[:args.count]
    table = wide.iloc[rows]
    shape = dataset_shape("cifar10") if args.scale == "nats-bench" else dataset_shape("fashion-mnist", 16)
    space = build_space("nats-tss", shape, **SCALES[args.scale])
    archs = space.to_matrix([space.decode(text) for text in table["arch_str"]])
    data = None
    summary: list[dict] = []
    truth_all = table[TRUTH].to_numpy()
    for name in args.methods:
        method = methods.resolve(name)
        needs_data = name not in ("az_nas", "zen", "synflow", "l2_norm", "params", "flops", "conv_count")
        if needs_data and data is None:
            data = stand_in_data(args.seed) if args.scale == "nats-bench" else fashion_mnist(16, args.seed)
        ctx = ScoreContext(space=space, supernet=None, data=data if needs_data else None,
                           options=dict(method.options), seed=args.seed, device=torch.device("cpu"))
        used = (STAND_IN if args.scale == "nats-bench" else "Fashion-MNIST 16 px") if needs_data else "none (data-free)"
        seconds, done = 0.0, []
        for start in range(0, len(archs), args.chunk):
            chunk = archs[start:start + args.chunk]
            began = time.perf_counter()
            done.append(chunk_values(name, ctx, chunk, args.workers))
            seconds += time.perf_counter() - began
            values = np.concatenate(done)
            n = len(values)
            # AZ-NAS: the components per arch; its score is the log-rank sum over the archs done so far
            # (exactly what its scorer returns for that population).
            scores = (log_rank_sum(np.column_stack([values, space.cost_table().flops(archs[:n])]))
                      if name == "az_nas" else values)
            truth = truth_all[:n]
            frame = pd.DataFrame({"arch_str": table["arch_str"].to_numpy()[:n], TRUTH: truth, "score": scores})
            if name == "az_nas":
                frame[["expressivity", "progressivity", "trainability"]] = values
            write_csv(frame, args.out / f"scores_{name}.csv")
            row = {"method": name, "scale": args.scale, "n": n, "data": used,
                   "population_relative": method.population_relative, "seconds_per_arch": seconds / n,
                   "workers": args.workers if name == "az_nas" else 1}
            for label, metric in (("tau", kendall_tau), ("rho", spearman_rho)):
                low, high = bootstrap_ci(metric, scores, truth, n_boot=1000, confidence=0.95, seed=0)
                row.update({label: metric(scores, truth), f"{label}_lo": low, f"{label}_hi": high})
            print(f"{name}: tau {row['tau']:.3f} [{row['tau_lo']:.3f}, {row['tau_hi']:.3f}]  rho {row['rho']:.3f} "
                  f"[{row['rho_lo']:.3f}, {row['rho_hi']:.3f}]  {row['seconds_per_arch']:.2f} s/arch  (n={n})", flush=True)
            write_csv(pd.DataFrame([*summary, row]), args.out / "summary.csv")
        summary.append(row)


def chunk_values(name: str, ctx: ScoreContext, archs: np.ndarray, workers: int = 1) -> np.ndarray:
    """The scores of `archs` (a chunk); for AZ-NAS, its three network components (the log-rank
    aggregation needs the whole population, so it is done over everything scored so far),
    computed in `workers` processes."""
    if name != "az_nas":
        return methods.resolve(name).scorer(ctx, archs)
    x = gaussian_batch(ctx)
    return per_arch(ctx.space, archs, ctx.seed, functools.partial(az_nas_components, x=x), ctx.device,
                    workers=workers)

if __name__ == "__main__":
    main()
