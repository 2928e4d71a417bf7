"""The scatter figure's colour is each architecture's true conv-op count, from the run's own space
(not read off the string by a rule of its own): checked on the MobileNet and the width space,
where a count of "conv" in the string is 0 for every architecture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.report.figure_data import final_scores_vs_truth
from harness.results.model import Results, Run, SpaceResults
from harness.workflow.runs import configured_space

DATASET = {"name": "fashion-mnist", "resolution": 16}
SPACES = {"spos-mobilenet": {"width_mult": 0.25}, "nats-sss": {"width_mult": 0.25}, "nats-tss": {"C": 4, "N": 1}}


@pytest.mark.parametrize("name", sorted(SPACES))
def test_scatter_points_carry_the_spaces_conv_op_count(name: str) -> None:
    config = {"spaces": {name: SPACES[name]}, "dataset": DATASET}
    space = configured_space(config, name)
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.encode(space.sample(rng)) for _ in range(12)))
    scores = pd.DataFrame({"checkpoint": 0, "epoch": 1.0, "arch_id": range(len(archs)), "arch_str": archs,
                           "score": rng.normal(size=len(archs))})
    retrain = pd.DataFrame({"arch_id": range(len(archs)), "seed": 0, "test_acc": rng.uniform(0.8, 0.9, len(archs))})
    results = Results(root=Path("."), manifest={}, config=config, dataset={"dataset": "fashion-mnist"},
                      spaces=[SpaceResults(name, None, [Run("params", 0, scores=scores)], retrain, None)])
    data = final_scores_vs_truth(results, results.spaces[0])
    expected = space.conv_op_counts(space.to_matrix([space.decode(a) for a in data["arch_str"]]))
    assert data["conv_ops"].tolist() == expected.astype(float).tolist()
    assert (data["conv_ops"] > 0).any() and not np.isnan(data["conv_ops"]).any()
    assert all("conv" not in a for a in archs) or name == "nats-tss"  # a string rule would have counted 0
