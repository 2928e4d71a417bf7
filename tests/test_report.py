"""The report command on the synthetic tree of test_correlate plus training and scoring records."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_correlate import CHECKPOINTS, METHODS, N_ARCHS, SPACE, run_correlate, write_tree

from harness import paths
from harness.analysis.verdicts import difference_outcome
from harness.cli import main
from harness.io import write_json
from harness import environment

TRAIN_TIME_S = {"spos": 100.0, "bnnas": 10.0}
TIME_PER_ARCH_S = {"spos": 2.0, "bnnas": 0.1}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def train_record(method: str) -> dict:
    fraction = 1.0 if method == "spos" else 0.1
    return {
        "method": {
            "name": method, "summary": f"{method} summary", "sampler": "uniform",
            "trainable": "all" if method == "spos" else "bn", "epoch_fraction": fraction,
            "scorer": "accuracy" if method == "spos" else "bn_gamma", "options": {"batches": 2},
            "kind": "supernet", "baseline": None if method == "spos" else "spos",
            "family": "spos" if method == "spos" else "bn-nas",
        },
        "epochs": 3.0 * fraction, "steps": int(300 * fraction), "skipped_steps": 0,
        "train_time_s": TRAIN_TIME_S[method], "trainable_params": 1000 if method == "spos" else 50,
        "total_params": 1000,
        "checkpoints": [
            {"checkpoint": c, "epoch": e, "step": 100 * c, "time_s": 30.0 * c} for c, e in CHECKPOINTS.items()
        ],
    }  # fmt: skip


def write_records(root: Path) -> None:
    """Everything besides scores and ground truth: config, dataset, archs, train and scoring."""
    config = {"results_dir": str(root), "spaces": [SPACE], "methods": METHODS, "marker": "cfg-1"}
    write_json(config, root / paths.RUN_CONFIG)
    dataset = {"dataset": "cifar10-synthetic", "files": {"x": {"sha256": "abc123"}}}
    write_json(dataset, root / paths.DATASET_META)
    archs = pd.DataFrame({"arch_id": range(N_ARCHS), "arch_str": [f"arch{a}" for a in range(N_ARCHS)]})
    archs.assign(flops_M=1.0, params_M=0.1).to_csv(root / paths.ARCHS.format(space=SPACE), index=False)
    for method in METHODS:
        where = {"space": SPACE, "method": method, "seed": 0}
        write_json(train_record(method), root / paths.TRAIN_RECORD.format(**where))
        scoring = {"n_archs": N_ARCHS, "score_time_s": TIME_PER_ARCH_S[method] * N_ARCHS,
                   "time_per_arch_s": TIME_PER_ARCH_S[method], "checkpoint": 3,
                   "method": {**train_record(method)["method"], "kind": "supernet",
                              "baseline": None if method == "spos" else "spos"}}  # fmt: skip
        write_json(scoring, root / paths.SCORING_RECORD.format(**where))


def write_manifest(root: Path, spaces: list[str]) -> None:
    """The plan's manifest of this tree (harness/workflow/plan.py build_manifest's format): METHODS, seed 0."""
    from harness.workflow.plan import MANIFEST, run_files

    entries = [{"name": space, "archs": paths.ARCHS.format(space=space), "retrain": paths.GT_RETRAIN.format(space=space),
                "correlations": paths.CORRELATIONS.format(space=space), "nats_records": [],
                "runs": [{"method": m, "seed": 0, "files": run_files(space, m, 0, trains=True, ranked=True, searched=False)}
                         for m in METHODS]} for space in spaces]
    write_json({"run_config": paths.RUN_CONFIG, "dataset_meta": paths.DATASET_META, "spaces": entries}, root / MANIFEST)


def run_report(root: Path, spaces: tuple[str, ...] = (SPACE,)) -> Path:
    from harness.workflow.plan import MANIFEST

    if not (root / MANIFEST).exists():
        write_manifest(root, list(spaces))
    output = root / Path(paths.REPORT_HTML).parent
    assert main(["analyse", "--results", str(root), "--output", str(output)]) == 0
    assert main(["provenance", "--results", str(root), "--output", str(output / "provenance.json")]) == 0
    assert main(["report", "--results", str(root), "--output", str(output)]) == 0
    return output


def embedded_pngs(page: str) -> list[bytes]:
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(data) for data in images]


@pytest.fixture
def full_tree(tmp_path: Path) -> Path:
    write_tree(tmp_path)
    write_records(tmp_path)
    run_correlate(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A full tree and its report page, built once for the tests that only read them."""
    root = tmp_path_factory.mktemp("results")
    write_tree(root)
    write_records(root)
    run_correlate(root)
    return root, (run_report(root) / Path(paths.REPORT_HTML).name).read_text()


def test_report_writes_the_three_outputs(built):
    root, _ = built
    for pattern in [paths.REPORT_HTML, paths.REPORT_CORRELATIONS, paths.REPORT_COSTS]:
        assert (root / pattern).is_file()
    merged = pd.read_csv(root / paths.REPORT_CORRELATIONS)
    pd.testing.assert_frame_equal(merged, pd.read_csv(root / paths.CORRELATIONS.format(space=SPACE)))


def test_costs_have_speedups_against_spos(built):
    root, _ = built
    costs = pd.read_csv(root / paths.REPORT_COSTS).set_index("method")
    assert list(costs.index) == ["spos", "bnnas"]  # the baseline first
    assert costs.loc["bnnas", "train_speedup_vs_baseline"] == pytest.approx(10.0)
    assert costs.loc["bnnas", "scoring_speedup_vs_baseline"] == pytest.approx(20.0)
    assert np.isnan(costs.loc["spos", "train_speedup_vs_baseline"])  # a baseline against itself: none
    assert costs.loc["bnnas", "epochs"] == pytest.approx(0.3)
    assert (costs.loc["bnnas", ["steps", "trainable_params", "total_params"]] == [30, 50, 1000]).all()
    assert (costs["space"] == SPACE).all() and (costs["seed"] == 0).all()


def test_training_speedup_uses_cpu_time_when_every_supernet_trained_on_a_cpu(full_tree):
    """Wall 100 s vs 10 s (10x) but CPU 150 s vs 10 s: the costs table says 15x, beside both times."""
    for method, cpu_s in (("spos", 150.0), ("bnnas", 10.0)):
        path = full_tree / paths.TRAIN_RECORD.format(space=SPACE, method=method, seed=0)
        path.write_text(json.dumps({**json.loads(path.read_text()), "train_cpu_time_s": cpu_s, "device": "cpu"}))
    run_report(full_tree)
    costs = pd.read_csv(full_tree / paths.REPORT_COSTS).set_index("method")
    assert costs.loc["bnnas", "train_speedup_vs_baseline"] == pytest.approx(15.0)
    assert costs["train_cpu_time_s"].tolist() == [150.0, 10.0] and costs["train_time_s"].tolist() == [100.0, 10.0]


def test_costs_without_spos_have_nan_speedups(full_tree):
    (full_tree / paths.TRAIN_RECORD.format(space=SPACE, method="spos", seed=0)).unlink()
    (full_tree / paths.SCORING_RECORD.format(space=SPACE, method="spos", seed=0)).unlink()
    run_report(full_tree)
    costs = pd.read_csv(full_tree / paths.REPORT_COSTS).set_index("method")
    assert costs[["train_speedup_vs_baseline", "scoring_speedup_vs_baseline"]].isna().all().all()


def test_html_is_self_contained_with_tables_figures_and_provenance(built):
    root, page = built
    assert "<script" not in page and "<link" not in page and "http" not in page
    pngs = embedded_pngs(page)
    # forest plot, cost on a log scale, scatter, early-bird curve; the same PNGs under figures/
    assert len(pngs) == 4 and all(png.startswith(PNG_SIGNATURE) for png in pngs)
    files = sorted((root / paths.REPORT_FIGURES).glob("*.png"))
    assert sorted(p.read_bytes() for p in files) == sorted(pngs)
    # final-checkpoint table: bnnas is perfect, spos is perfect at checkpoint 3, the retraining reliability is 7/9
    assert "1.000 [1.000, 1.000]" in page
    assert "retraining reliability (retrain seed vs seed; not a ceiling)" in page and "0.778 [" in page
    assert "training speed-up (×)" in page and "train_speedup_vs_baseline" not in page
    assert '<td class="num">20.0</td>' in page  # scoring speed-up, one decimal, right-aligned
    # methods described from their recorded parts, not their hand-written summaries
    assert "score: bn_gamma" in page and "10% of the baseline epochs" in page and "bnnas summary" not in page
    assert "cfg-1" in page and "abc123" in page  # config and dataset provenance
    assert "seaborn" in page and "scipy" in page  # library versions
    assert "Ground-truth protocol" in page and "5000" in page and "0, 1" in page and "archs trained more than once" in page
    assert "CPU model" in page and "torch CPU capability" in page  # host facts that move trained results


def test_cpu_model_reads_the_first_model_name_of_cpuinfo(monkeypatch):
    cpuinfo = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Example CPU 9000 @ 3.0GHz\n\nprocessor\t: 1\nmodel name\t: Other\n"
    assert environment.cpu_info(cpuinfo)["model"] == "Example CPU 9000 @ 3.0GHz"
    monkeypatch.setattr(environment.platform, "processor", lambda: "")
    assert environment.cpu_info("processor\t: 0\nmodel name\t:   \n")["model"] == "unknown"  # no name: say so
    monkeypatch.setattr(environment.platform, "processor", lambda: "arm")
    assert environment.cpu_info("")["model"] == "arm"


def test_verdicts_come_first_then_one_figure(built):
    root, page = built
    headings = re.findall(r"<h([23])[^>]*>(.*?)</h\1>", page)
    assert headings[0] == ("2", "Verdicts")
    assert headings[1][1].startswith("Kendall τ of every method")
    verdicts = pd.read_csv(root / paths.REPORT_VERDICTS)
    first = page[:page.index("Kendall τ of every method")]
    headline = verdicts[verdicts["headline"]]
    assert len(headline) == 6  # one per claim
    for claim, verdict in zip(headline["claim"], headline["verdict"]):  # every headline, on the first screen
        assert html.escape(claim) in first and verdict in first
    assert "<details><summary>Every comparison behind the verdicts</summary>" in first  # details: collapsed


def test_every_table_is_written_as_markdown_and_latex(built):
    root, page = built
    tables = root / paths.REPORT_TABLES
    sections = re.split(r'(?=<h[23] id=")', page)
    anchors = [re.match(r'<h[23] id="([^"]+)"', part).group(1) for part in sections[1:]
               if '<div class="table-wrap">' in part.split("<details>")[0]]
    from harness.report.render import PROVENANCE_SECTIONS

    from_provenance_json = {kind.replace("_", "-") for kind in PROVENANCE_SECTIONS.values()}  # facts, not analysis
    anchors = [key for key in anchors if key not in from_provenance_json]
    assert len(anchors) >= 8
    for key in anchors:
        assert (tables / f"{key}.md").read_text().count("|") > 4, key
        assert "\\begin{tabular}" in (tables / f"{key}.tex").read_text(), key
    assert "training speed-up (×)" in (tables / "nb201-cost.md").read_text()


def test_rerunning_the_report_does_not_read_its_own_outputs(built):
    root, page = built
    assert (run_report(root) / Path(paths.REPORT_HTML).name).read_text() == page
    assert set(pd.read_csv(root / paths.REPORT_COSTS)["space"]) == {SPACE}


def test_report_of_a_partial_tree_notes_what_is_missing(tmp_path):
    write_tree(tmp_path)  # scores and ground truth only: no correlations, records or config
    page = (run_report(tmp_path) / Path(paths.REPORT_HTML).name).read_text()
    assert f"No {paths.CORRELATIONS.format(space=SPACE)}" in page
    assert f"No run configuration {paths.RUN_CONFIG}" in page and "No training or scoring record found" in page
    assert "No curve" in page
    assert len(embedded_pngs(page)) == 1  # the scatter needs only scores and ground truth
    costs = pd.read_csv(tmp_path / paths.REPORT_COSTS)
    assert len(costs) == len(METHODS) and costs["train_time_s"].isna().all()


def test_report_of_an_empty_results_dir(tmp_path):
    page = (run_report(tmp_path, spaces=()) / Path(paths.REPORT_HTML).name).read_text()
    assert "No search-space results found" in page
    assert pd.read_csv(tmp_path / paths.REPORT_CORRELATIONS).empty


def test_missing_results_dir_is_an_error(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_config_and_dataset_are_embedded_as_json(built):
    root, page = built
    blocks = [json.loads(html.unescape(block)) for block in re.findall(r"<pre>(.*?)</pre>", page, flags=re.S)]
    assert json.loads((root / paths.RUN_CONFIG).read_text()) in blocks
    assert json.loads((root / paths.DATASET_META).read_text()) in blocks


def test_a_plugged_in_section_is_rendered_and_exported(full_tree, monkeypatch):
    from harness.report import outline as report

    def gamma_section(results):
        yield "Gamma diagnostics", pd.DataFrame({"space": [s.name for s in results.spaces], "ops with BN": [7]})

    monkeypatch.setattr(report, "EXTRA_SECTIONS", [gamma_section])
    page = (run_report(full_tree) / Path(paths.REPORT_HTML).name).read_text()
    assert '<h3 id="gamma-diagnostics">Gamma diagnostics</h3>' in page and '<td class="num">7</td>' in page
    assert "ops with BN" in (full_tree / paths.REPORT_TABLES / "gamma-diagnostics.md").read_text()
    assert page.index("Gamma diagnostics") < page.index(">Methods<") < page.index(">Provenance<")


def test_a_space_without_a_ranking_sample_is_not_pending(full_tree):
    (full_tree / paths.ARCHS.format(space=SPACE)).unlink()
    page = (run_report(full_tree) / Path(paths.REPORT_HTML).name).read_text()
    assert "search only (no ranking sample)" in page and "no ground truth yet" not in page


def test_cheap_answers_say_beats_only_from_a_paired_difference(built):
    root, page = built
    correlations = pd.read_csv(root / paths.REPORT_CORRELATIONS)
    diffs = correlations[correlations["metric"].str.startswith("kendall_tau_diff_vs_")]
    assert len(diffs) > 0
    text = html.unescape(page)
    for _, row in diffs.iterrows():
        outcome = difference_outcome(row["ci_low"], row["ci_high"])
        assert f"{outcome} {row['metric'][len('kendall_tau_diff_vs_'):]}: Δτ" in text
    assert "within CI" not in text  # the old CI-against-a-point reading is gone


def test_the_report_shows_only_the_runs_of_its_manifest(full_tree):
    """Files of a method the config no longer plans stay on disk but are not reported."""
    from harness.workflow.plan import MANIFEST

    write_manifest(full_tree, [SPACE])
    manifest = json.loads((full_tree / MANIFEST).read_text())
    manifest["spaces"][0]["runs"] = [run for run in manifest["spaces"][0]["runs"] if run["method"] == "spos"]
    write_json(manifest, full_tree / MANIFEST)
    output = run_report(full_tree)
    assert list(pd.read_csv(output / Path(paths.REPORT_COSTS).name)["method"]) == ["spos"]
    assert "bnnas summary" not in (output / Path(paths.REPORT_HTML).name).read_text()


def test_a_missing_manifest_is_an_error(tmp_path, capsys):
    assert main(["analyse", "--results", str(tmp_path)]) == 2
    assert "no manifest" in capsys.readouterr().err


def test_rendering_without_the_analysis_is_an_error(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path)]) == 2
    assert "outline.json is missing: run `python -m harness analyse" in capsys.readouterr().err
