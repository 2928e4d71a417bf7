"""`python -m harness costs`: FLOPs and params of architectures, from the space's lookup table."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from harness.errors import HarnessError
from harness.io import write_csv
from harness.data.shapes import DATASET_SHAPES, dataset_shape
from harness.spaces import build_space, space_names

NAME = "costs"
HELP = ("Print arch_str,flops_M,params_M (CSV) for every architecture of a space, or the given ones, "
        "from its lookup table (built by counting real networks).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help=f"search space ({', '.join(space_names())})")
    parser.add_argument("--dataset", required=True,
                        help=f"dataset whose input shape the network is built for ({', '.join(DATASET_SHAPES)})")
    parser.add_argument("--knob", action="append", default=[], metavar="KEY=VALUE",
                        help="a size knob of the space, e.g. C=8 or N=1 for nats-tss, width_mult=0.5 "
                             "for nats-sss (repeatable); default: the benchmark's own size")
    parser.add_argument("--arch", action="append", metavar="STR",
                        help="only this architecture string (repeatable); default: all")
    parser.add_argument("--output", metavar="FILE", help="write the CSV here instead of stdout")


def parse_knobs(items: list[str]) -> dict[str, int | float | str]:
    """KEY=VALUE pairs, values as int, float or string (e.g. C=8, width_mult=0.5, op_bn=all)."""
    knobs: dict[str, int | float | str] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise HarnessError(f"--knob {item!r} is not KEY=VALUE (e.g. --knob C=8)")
        for convert in (int, float, str):
            try:
                knobs[key] = convert(text)
                break
            except ValueError:
                continue
    return knobs


def run(args: argparse.Namespace) -> int:
    space = build_space(args.space, dataset_shape(args.dataset), **parse_knobs(args.knob))
    if args.arch:
        archs = [space.decode(text) for text in args.arch]
    else:
        try:
            archs = list(space.enumerate())
        except NotImplementedError as exc:
            raise HarnessError(f"space {args.space!r} cannot be enumerated; name architectures with --arch") from exc
    matrix = space.to_matrix(archs)
    table = space.cost_table()
    frame = pd.DataFrame({
        "arch_str": [space.encode(arch) for arch in archs],
        "flops_M": table.flops(matrix).round(5),
        "params_M": table.params(matrix).round(6),
    })
    if args.output:
        write_csv(frame, args.output)
    else:
        frame.to_csv(sys.stdout, index=False, float_format="%.10g")
    return 0
