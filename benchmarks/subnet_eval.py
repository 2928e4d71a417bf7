"""Subnet evaluation: BN-indicator scoring vs SPOS evaluation of the same 1,000 architectures on
the same supernet (paper claim: evaluation more than 600,000x faster).

BN-NAS scores all 1,000 with the real scorer (table of mean |gamma| + one gather). SPOS
(BN recalibration + validation, the real `validation_accuracy` scorer) is timed on a handful of
them and its per-arch time multiplied by 1,000. Where a protocol is too long to run even on a few
archs, the per-image time of a shorter protocol is multiplied by the protocol's image count
(recalibration passes in train mode and validation passes in eval mode are assumed to cost the
same per image); every such figure says so in its note.

Timing does not depend on the weights' values, so the supernets are freshly initialised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.analysis.claims import PAPER_RECALIBRATION_IMAGES, PAPER_VALIDATION_IMAGES
from benchmarks.core import Figure, Goal, fmt_seconds, measure
from benchmarks.fixtures import default_config, default_data, default_space, paper_space, random_splits
from harness.data.datasets import DataSplits
from harness.method import ScoreContext
from harness.workflow.runs import configured_method
from harness.spaces.base import SearchSpace, Supernet

NAME = "eval"
DESCRIPTION = "subnet evaluation: BN indicator vs SPOS recalibration + validation"

# The SPOS code's evaluation protocol (harness.analysis.claims: 200 x 128 recalibration images,
# 8,000 validation images), the one the verdicts project to.
PAPER_PROTOCOL: dict[str, int] = {"recalibration_batches": PAPER_RECALIBRATION_IMAGES // 128,
                                  "recalibration_batch_size": 128,
                                  "validation_images": PAPER_VALIDATION_IMAGES, "batch_size": 500}
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Sizes:
    archs: int                 # architectures BN-NAS scores (the claim is about 1,000)
    bn_repeats: int
    spos_archs: int            # architectures SPOS evaluates for real (per-arch time x archs)
    paper_network: bool        # also time the NATS-Bench-size network (C=16, N=5, 32 px)
    paper_probe: dict[str, int]  # shortened SPOS protocol timed on the NATS-Bench-size network


FULL = Sizes(archs=1000, bn_repeats=30, spos_archs=5, paper_network=True,
             paper_probe={"recalibration_batches": 1, "recalibration_batch_size": 128,
                          "validation_images": 128, "batch_size": 128})
TINY = Sizes(archs=20, bn_repeats=2, spos_archs=1, paper_network=True,
             paper_probe={"recalibration_batches": 1, "recalibration_batch_size": 8,
                          "validation_images": 8, "batch_size": 8})


def protocol_images(protocol: dict[str, int]) -> int:
    """Images one SPOS evaluation of one architecture forwards (recalibration + validation)."""
    return protocol["recalibration_batches"] * protocol["recalibration_batch_size"] + protocol["validation_images"]


def sample_archs(space: SearchSpace, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return space.to_matrix([space.sample(rng) for _ in range(count)])


def bn_scoring_time(space: SearchSpace, supernet: Supernet, archs: np.ndarray, repeats: int) -> tuple[float, str]:
    """Median seconds of the real BN-NAS scorer over `archs` (table build + gather, as `score` runs it)."""
    method = configured_method(default_config(), "bnnas")
    ctx = _context(space, supernet, None, dict(method.options))
    timing = measure(lambda: method.scorer(ctx, archs), repeats=repeats, warmup=3)
    return timing.median_s, timing.describe()


def spos_time_per_arch(space: SearchSpace, supernet: Supernet, data: DataSplits, archs: np.ndarray,
                       protocol: dict[str, Any]) -> float:
    """Seconds per architecture of the real SPOS scorer: one warm-up call on one arch, then one
    timed call over all `archs` (as `score` runs it: batches materialised once per call)."""
    method = configured_method(default_config(), "spos")
    ctx = _context(space, supernet, data, {**protocol, **method.options})
    method.scorer(ctx, archs[:1])
    start = time.perf_counter()
    method.scorer(ctx, archs)
    return (time.perf_counter() - start) / len(archs)


def _context(space: SearchSpace, supernet: Supernet, data: DataSplits | None, options: dict[str, Any]) -> ScoreContext:
    return ScoreContext(space=space, supernet=supernet, data=data, options=options, seed=0, device=CPU)  # type: ignore[arg-type]


def run(sizes: Sizes) -> list[Figure]:
    figures = _default_network(sizes)
    if sizes.paper_network:
        figures += _paper_network(sizes)
    return figures


def _default_network(sizes: Sizes) -> list[Figure]:
    """Default config's network and data: SPOS measured at the config's protocol; the paper's
    protocol needs more train/val images than the default split holds, so it is extrapolated."""
    config = default_config()
    space, data = default_space(), default_data()
    supernet = space.build_supernet()
    archs = sample_archs(space, sizes.archs)
    bn_s, bn_how = bn_scoring_time(space, supernet, archs, sizes.bn_repeats)
    protocol = dict(config["scoring"])
    spos_s = spos_time_per_arch(space, supernet, data, archs[: sizes.spos_archs], protocol)
    per_image = spos_s / protocol_images(protocol)
    paper_s = per_image * protocol_images(PAPER_PROTOCOL)
    net = network_tag(space)
    spos_how = (f"{data.dataset} (real data); real validation_accuracy scorer on {sizes.spos_archs} of the same archs, one call after a "
                f"1-arch warm-up, mean per arch; protocol {_describe_protocol(protocol)}")
    return [
        Figure(f"BN-NAS scoring of {len(archs)} archs, {net}", bn_s * 1e3, "ms", Goal("<", 10.0),
               f"real bn_indicator scorer (score table + gather): {bn_how}"),
        Figure(f"SPOS evaluation per arch, {net}, default protocol", spos_s, "s", None, spos_how),
        Figure(f"SPOS/BN-NAS time for {len(archs)} archs, {net}, default protocol",
               spos_s * len(archs) / bn_s, "x", None,
               f"SPOS {fmt_seconds(spos_s)}/arch x {len(archs)} (extrapolated from {sizes.spos_archs} archs) "
               f"vs BN-NAS {fmt_seconds(bn_s)} for all {len(archs)}"),
        Figure(f"SPOS/BN-NAS time for {len(archs)} archs, {net}, paper protocol",
               paper_s * len(archs) / bn_s, "x", None,
               f"extrapolated: default-protocol time per image ({fmt_seconds(per_image)}) x "
               f"{protocol_images(PAPER_PROTOCOL)} images ({_describe_protocol(PAPER_PROTOCOL)}) = "
               f"{fmt_seconds(paper_s)}/arch; the default split has too few images to run it"),
    ]


def _paper_network(sizes: Sizes) -> list[Figure]:
    """NATS-Bench-size network (C=16, N=5, 32 px) on random images of that shape (no CIFAR-10
    here): SPOS per image from a short protocol, extrapolated to the paper's protocol."""
    space = paper_space()
    supernet = space.build_supernet()
    archs = sample_archs(space, sizes.archs)
    bn_s, bn_how = bn_scoring_time(space, supernet, archs, sizes.bn_repeats)
    probe = sizes.paper_probe
    data = random_splits(space.input_shape, train=2 * probe["recalibration_batches"] * probe["recalibration_batch_size"],
                         val=probe["validation_images"])
    probe_s = spos_time_per_arch(space, supernet, data, archs[: sizes.spos_archs], probe)
    per_image = probe_s / protocol_images(probe)
    paper_s = per_image * protocol_images(PAPER_PROTOCOL)
    net = network_tag(space)
    data_note = "random 32 px RGB images (timing only: no CIFAR-10 installed); "
    return [
        Figure(f"BN-NAS scoring of {len(archs)} archs, {net}", bn_s * 1e3, "ms", Goal("<", 10.0),
               f"real bn_indicator scorer: {bn_how}"),
        Figure(f"SPOS evaluation per arch, {net}, paper protocol", paper_s, "s", None,
               f"{data_note}extrapolated: real validation_accuracy scorer with a short protocol "
               f"({_describe_protocol(probe)}) on {sizes.spos_archs} archs took {fmt_seconds(probe_s)}/arch = "
               f"{fmt_seconds(per_image)}/image; x {protocol_images(PAPER_PROTOCOL)} images of the paper protocol "
               f"({_describe_protocol(PAPER_PROTOCOL)})"),
        Figure(f"SPOS/BN-NAS time for {len(archs)} archs, {net}, paper protocol (paper: > 600,000x)",
               paper_s * len(archs) / bn_s, "x", Goal(">=", 600_000.0),
               f"SPOS {fmt_seconds(paper_s)}/arch (extrapolated, see above) x {len(archs)} = "
               f"{paper_s * len(archs) / 3600:.1f} h vs BN-NAS {fmt_seconds(bn_s)} for all {len(archs)}"),
    ]


def network_tag(space: SearchSpace) -> str:
    """Short name of a network for figure names, e.g. "nats-tss C=8 N=1 16px"."""
    knobs = " ".join(f"{k}={getattr(space, k)}" for k in ("C", "N") if hasattr(space, k))
    return f"[{space.name} {knobs} {space.input_shape.resolution}px]"


def _describe_protocol(protocol: dict[str, int]) -> str:
    return (f"{protocol['recalibration_batches']} x {protocol['recalibration_batch_size']} recalibration + "
            f"{protocol['validation_images']} validation images")

