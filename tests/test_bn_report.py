"""The report's BN-indicator section on hand-made run records: the table, the sentence about
conv count and the budget-sweep figure."""

from __future__ import annotations

import pandas as pd

from matplotlib.figure import Figure

from harness.analysis.structure_control import METRIC_NAME
from harness.report.bn_section import bn_indicator_table, departure_sentence, sweep_figure, sweep_runs
from harness.results.model import Run, SpaceResults
from harness.results.records import TrainingRecord


def _train(steps: int, fraction: float, determined: bool, recipe: str = "official") -> dict:
    method = {"family": "bn-nas", "scorer": "bn_indicator", "sampler": "uniform", "trainable": "bn", "recipe": recipe,
              "epoch_fraction": fraction, "options": {"statistic": "abs_gamma"}, "space_knobs": {}}
    points = [{"checkpoint": i, "step": steps * (i + 1) // 2, "epoch": 0.0, "gamma_drift_max": 0.1 * (i + 1),
               "gamma_drift_mean": 0.01, "op_score_spread_max": 0.05, "conv_count_determined": determined,
               "conv_count_margin": 2.9 if determined else -0.5} for i in range(2)]
    return TrainingRecord.of({"method": method, "steps": steps, "checkpoints": points})


def _correlations(methods: list[str]) -> pd.DataFrame:
    rows = [{"ground_truth": "retrain", "method": m, "seed": 0, "checkpoint": c, "metric": metric,
             "value": 0.3 if metric == "kendall_tau" else 0.05, "ci_low": 0.1, "ci_high": 0.5}
            for m in methods for c in range(2) for metric in ("kendall_tau", METRIC_NAME)]
    return pd.DataFrame(rows)


def _space(determined_at_large: bool) -> SpaceResults:
    spos = TrainingRecord.of({"method": {"family": "spos", "scorer": "validation_accuracy"}, "checkpoints": []})
    runs = [Run("bnnas", 0, _train(78, 0.1, True)),
            Run("bnnas-budget-300pct", 0, _train(2340, 3.0, determined_at_large)),
            Run("bnnas-spos-recipe", 0, _train(78, 0.1, True, recipe="spos")),
            Run("spos", 0, spos)]
    return SpaceResults("nats-tss", None, runs, None, _correlations([r.method for r in runs]))


def test_table_labels_the_paper_recipe_run_and_skips_non_bn_runs() -> None:
    table = bn_indicator_table(_space(True), "fashion-mnist")
    assert list(table["run"]) == ["BN-NAS (paper recipe)", "bnnas-budget-300pct (paper recipe)",
                                  "bnnas-spos-recipe (SPOS recipe)"]
    assert table["τ within conv count vs retrain"].iloc[0] == "0.050 [0.100, 0.500]"
    assert table["vs conv count"].str.contains("have not moved enough").all()


def test_sweep_is_the_official_uniform_runs_and_the_sentence_names_the_departure() -> None:
    assert [run.method for run in sweep_runs(_space(True))] == ["bnnas", "bnnas-budget-300pct"]
    assert departure_sentence(_space(True)).startswith("At no budget up to 2340 steps")
    assert departure_sentence(_space(False)) == "The scores first reorder architectures of different conv counts at 2340 steps."
    assert isinstance(sweep_figure(_space(False)), Figure)


def test_nothing_when_there_is_no_bn_run() -> None:
    empty = SpaceResults("nats-tss", None, [], None, None)
    assert bn_indicator_table(empty, "fashion-mnist").empty and sweep_figure(empty) is None
