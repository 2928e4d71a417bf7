"""Performance benchmarks of the harness against the paper's speed claims.

`python -m benchmarks` runs every group and writes results/benchmarks.json;
`python -m benchmarks NAME ...` runs some of them (names: see GROUPS). Each group is one module
with NAME, DESCRIPTION, a Sizes dataclass with FULL and TINY instances, and run(sizes) -> list of
benchmarks.core.Figure. Timing goals are checked here, never in the test suite.
"""

from __future__ import annotations

from benchmarks import gpu, network, pipeline, search, subnet_eval, supernet_train

GROUPS = {module.NAME: module for module in (subnet_eval, supernet_train, network, search, pipeline, gpu)}
