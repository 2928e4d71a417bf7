"""NATS-Bench ground truth: official-format fixtures read through the real nats_bench API, the
shared wide table, the groundtruth command and its hand-off to correlate.

Fixture accuracies encode what was read, so a wrong key is a wrong number:
    acc = 50 + 10*index + DATASET_OFFSET + SET_OFFSET + (20 if hp is full training) + SEED_OFFSET
with seeds 777 (+1) and 888 (+3): the mean over seeds is +2, a single seed gives +1 or +3.
Epochs before the last hold acc - 30, so a wrong epoch is a wrong number too.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import nats_bench
import pandas as pd
import pytest

from harness import paths
from harness.cli import main
from harness.errors import HarnessError
from harness.groundtruth.nats_bench import (CsvSource, NatsQuery, OfficialSource, combined_sha256,
                                            find_source, how_to_enable)

TSS_ARCHS = [
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
]
SSS_ARCHS = ["8:8:8:8:8", "64:64:64:64:64", "16:32:24:8:64"]
SEEDS = (777, 888)
SEED_OFFSET = {777: 1.0, 888: 3.0}
DATASET_OFFSET = {"cifar10-valid": 0.1, "cifar10": 0.2, "cifar100": 0.3, "ImageNet16-120": 0.4}
SET_OFFSET = {"x-valid": 0.01, "x-test": 0.02, "ori-test": 0.03}
EVAL_SETS = {"cifar10-valid": ["x-valid", "ori-test"], "cifar10": ["ori-test"],
             "cifar100": ["x-valid", "x-test", "ori-test"], "ImageNet16-120": ["x-valid", "x-test", "ori-test"]}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
FULL_HP = {"tss": "200", "sss": "90"}
HPS = {"tss": ("12", "200"), "sss": ("12", "90")}


def fixture_acc(index: int, dataset: str, eval_set: str, hp: str, seed: int | str, space: str = "tss") -> float:
    seed_part = 2.0 if seed == "mean" else SEED_OFFSET[int(seed)]
    full = 20.0 if hp == FULL_HP[space] else 0.0
    return 50 + 10 * index + DATASET_OFFSET[dataset] + SET_OFFSET[eval_set] + full + seed_part


# --- official-format fixtures ------------------------------------------------------------------

def results_count(space: str, index: int, arch: str, dataset: str, hp: str, seed: int) -> dict[str, Any]:
    """A ResultsCount-state (NATS_BENCH.md "Official file layout")."""
    epochs = int(hp)
    last = epochs - 1
    acc = {f"{name}@{e}": fixture_acc(index, dataset, name, hp, seed, space) - (0 if e == last else 30)
           for name in EVAL_SETS[dataset] for e in range(epochs)}
    config = ({"name": "infer.shape.tiny", "channels": arch, "genotype": "", "class_num": CLASSES[dataset]}
              if space == "sss" else
              {"name": "infer.tiny", "channel": 16, "num_cells": 5, "arch_str": arch, "class_num": CLASSES[dataset]})
    return {
        "name": f"{dataset}-seed{seed}", "net_state_dict": None,
        "train_acc1es": {e: 90.0 for e in range(epochs)}, "train_acc5es": {e: 99.0 for e in range(epochs)},
        "train_losses": {e: 0.3 for e in range(epochs)}, "train_times": {e: 1.5 for e in range(epochs)},
        "eval_names": list(EVAL_SETS[dataset]), "eval_acc1es": acc,
        "eval_losses": {k: 0.5 for k in acc}, "eval_times": {k: 0.25 for k in acc},
        "arch_config": config, "params": 0.1 + index, "flop": 10.0 + index, "seed": seed, "epochs": epochs,
        "latency": [0.01],
    }  # fmt: skip


def arch_results(space: str, index: int, arch: str, hp: str) -> dict[str, Any]:
    """An ArchResults-state."""
    return {
        "arch_index": index, "arch_str": arch, "clear_net_done": True,
        "dataset_seed": {d: list(SEEDS) for d in EVAL_SETS},
        "all_results": {(d, s): results_count(space, index, arch, d, hp, s) for d in EVAL_SETS for s in SEEDS},
    }  # fmt: skip


def save_pbz2(obj: Any, path: Path) -> None:
    with bz2.BZ2File(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=4)


def arch_files(space: str, archs: list[str]) -> dict[int, dict[str, Any]]:
    return {i: {hp: arch_results(space, i, a, hp) for hp in HPS[space]} for i, a in enumerate(archs)}


def make_fast_folder(root: Path, space: str) -> Path:
    archs = TSS_ARCHS if space == "tss" else SSS_ARCHS
    name = "NATS-tss-v1_0-3ffb9-simple" if space == "tss" else "NATS-sss-v1_0-50262-simple"
    folder = root / name
    folder.mkdir(parents=True)
    save_pbz2({"meta_archs": list(archs)}, folder / "meta.pickle.pbz2")
    for index, content in arch_files(space, archs).items():
        save_pbz2(content, folder / f"{index:06d}.pickle.pbz2")
    return folder


def make_single_file(root: Path) -> Path:
    path = root / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    root.mkdir(parents=True, exist_ok=True)
    infos = arch_files("tss", TSS_ARCHS)
    save_pbz2({"meta_archs": list(TSS_ARCHS), "arch2infos": infos, "evaluated_indexes": list(infos)}, path)
    return path


@pytest.fixture(scope="module")
def tss_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fast_folder(tmp_path_factory.mktemp("torch_home"), "tss")


@pytest.fixture()
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "empty_torch_home"
    home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- NatsQuery -----------------------------------------------------------------------------------

def test_query_defaults_and_keys() -> None:
    assert NatsQuery("nats-tss", "cifar10").hp == "200"
    assert NatsQuery("nats-sss", "cifar10").hp == "90"
    assert NatsQuery("nats-sss", "cifar10", hp=1).hp == "01"
    assert NatsQuery("nats-tss", "cifar10").key() == ("cifar10", "ori-test", "test-accuracy")
    assert NatsQuery("nats-tss", "cifar10", "valid").key() == ("cifar10-valid", "x-valid", "valid-accuracy")
    assert NatsQuery("nats-tss", "cifar10-valid", "test").key() == ("cifar10-valid", "ori-test", "test-accuracy")
    assert NatsQuery("nats-tss", "cifar100", "test").key().eval_set == "x-test"
    assert NatsQuery("nats-tss", "ImageNet16-120", "valid").key().eval_set == "x-valid"
    mean, seeded = NatsQuery("nats-tss", "cifar10"), NatsQuery("nats-tss", "cifar10", seed_policy="777")
    assert (mean.is_random, mean.seed, seeded.is_random, seeded.seed) == (False, -1, 777, 777)
    assert mean.label() == "nats-bench:cifar10"
    assert NatsQuery("nats-tss", "cifar100", "valid", "12", 777).label() == "nats-bench:cifar100:valid:hp12:seed777"
    for bad in [dict(hp="90"), dict(dataset="imagenet"), dict(split="train"), dict(seed_policy="random")]:
        with pytest.raises(HarnessError):
            NatsQuery(**{"space": "nats-tss", "dataset": "cifar10", **bad})


# --- the official archive through the real API ------------------------------------------------

def test_fixture_is_read_by_the_official_api(tss_folder: Path) -> None:
    """The fixture is in the official format, and shows the API's traps: its defaults
    (hp='12', is_random=True) give one 12-epoch seed, not the ground truth."""
    api = nats_bench.create(str(tss_folder), "tss", fast_mode=True, verbose=False)
    assert len(api) == len(TSS_ARCHS)
    default = api.get_more_info(1, "cifar10")["test-accuracy"]
    assert default in {fixture_acc(1, "cifar10", "ori-test", "12", s) for s in SEEDS}
    info = api.get_more_info(1, "cifar10", hp="200", is_random=False)
    assert info["test-accuracy"] == pytest.approx(fixture_acc(1, "cifar10", "ori-test", "200", "mean"))
    assert "valid-accuracy" not in info  # cifar10 has no validation split: it lives under cifar10-valid
    assert api.query_index_by_arch("|not~0|+|an~0|arch~1|+|a~0|b~1|c~2|") == -1  # no error from the API


@pytest.mark.parametrize(
    "dataset, split, dataset_key, eval_set",
    [("cifar10", "test", "cifar10", "ori-test"), ("cifar10", "valid", "cifar10-valid", "x-valid"),
     ("cifar10-valid", "test", "cifar10-valid", "ori-test"), ("cifar100", "test", "cifar100", "x-test"),
     ("cifar100", "valid", "cifar100", "x-valid"), ("ImageNet16-120", "test", "ImageNet16-120", "x-test")],
)  # fmt: skip
def test_official_fast_mode_keys(tss_folder: Path, dataset: str, split: str, dataset_key: str, eval_set: str) -> None:
    source = OfficialSource(tss_folder, "nats-tss", fast_mode=True)
    archs = [TSS_ARCHS[3], TSS_ARCHS[0]]
    result = source.query(archs, NatsQuery("nats-tss", dataset, split))
    assert list(result["arch_str"]) == archs and list(result["arch_index"]) == [3, 0]
    expected = [fixture_acc(i, dataset_key, eval_set, "200", "mean") for i in (3, 0)]
    assert result["accuracy"].tolist() == pytest.approx(expected)


def test_official_hp_and_seed_policy(tss_folder: Path) -> None:
    source = OfficialSource(tss_folder, "nats-tss", fast_mode=True)
    archs = TSS_ARCHS[:2]
    hp12 = source.query(archs, NatsQuery("nats-tss", "cifar100", hp="12"))["accuracy"]
    seed888 = source.query(archs, NatsQuery("nats-tss", "cifar100", seed_policy=888))["accuracy"]
    assert hp12.tolist() == pytest.approx([fixture_acc(i, "cifar100", "x-test", "12", "mean") for i in (0, 1)])
    assert seed888.tolist() == pytest.approx([fixture_acc(i, "cifar100", "x-test", "200", 888) for i in (0, 1)])
    with pytest.raises(HarnessError, match="seed_policy=123"):
        source.query(archs, NatsQuery("nats-tss", "cifar100", seed_policy=123))


def test_official_record_hashes_the_files_read(tss_folder: Path) -> None:
    source = OfficialSource(tss_folder, "nats-tss", fast_mode=True)
    q = NatsQuery("nats-tss", "cifar10", "valid")
    source.query([TSS_ARCHS[2], TSS_ARCHS[1]], q)
    record = source.record(q)
    opened = {name: sha256(tss_folder / name) for name in ("000001.pickle.pbz2", "000002.pickle.pbz2")}
    assert (record["sha256_of"], record["sha256"]) == ("meta.pickle.pbz2", sha256(tss_folder / "meta.pickle.pbz2"))
    assert record["arch_files"]["sha256"] == combined_sha256(opened) and record["arch_files"]["count"] == 2
    assert (record["hp"], record["dataset_key"], record["eval_set"], record["metric"], record["seed_policy"]) == \
        ("200", "cifar10-valid", "x-valid", "valid-accuracy", "mean")
    assert record["file"] == "NATS-tss-v1_0-3ffb9-simple" and record["nats_bench_version"] == "1.8"
    assert source.api.arch2infos_dict == {}  # released after reading: the cache does not grow


def test_official_single_file_found_in_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_single_file(tmp_path / "home")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert find_source("nats-tss").path.name == "nb201_tss_wide.csv.xz"  # the bundled table comes first
    # one seed: the bundled means cannot answer; no fast-mode folder there: falls back to the single file
    source = find_source("nats-tss", seed_policy=777)
    assert isinstance(source, OfficialSource) and source.path == path and not source.fast_mode
    q = NatsQuery("nats-tss", "ImageNet16-120", "valid")
    result = source.query(TSS_ARCHS, q)
    assert result["accuracy"].tolist() == pytest.approx(
        [fixture_acc(i, "ImageNet16-120", "x-valid", "200", "mean") for i in range(4)])
    assert source.record(q)["sha256"] == sha256(path)


def test_official_sss_fast_mode(tmp_path: Path) -> None:
    folder = make_fast_folder(tmp_path, "sss")
    source = OfficialSource(folder, "nats-sss", fast_mode=True)
    result = source.query(["16:32:24:8:64", "8:8:8:8:8"], NatsQuery("nats-sss", "cifar10"))
    expected = [fixture_acc(i, "cifar10", "ori-test", "90", "mean", space="sss") for i in (2, 0)]
    assert result["accuracy"].tolist() == pytest.approx(expected)
    assert source.record(NatsQuery("nats-sss", "cifar10"))["hp"] == "90"
    with pytest.raises(HarnessError, match="hp=01"):  # the real archive has '01'; this fixture does not
        source.query(["8:8:8:8:8"], NatsQuery("nats-sss", "cifar10", hp=1))


def test_official_unknown_archs(tss_folder: Path) -> None:
    source = OfficialSource(tss_folder, "nats-tss", fast_mode=True)
    unknown = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|bad|"]
    with pytest.raises(HarnessError, match=r"2 of 3 architecture\(s\) are not in the NATS-Bench archive"):
        source.query([TSS_ARCHS[0], *unknown], NatsQuery("nats-tss", "cifar10"))


def test_missing_archive_names_expected_paths(empty_torch_home: Path) -> None:
    with pytest.raises(HarnessError) as error:
        OfficialSource(None, "nats-tss", fast_mode=True)
    message = str(error.value)
    assert str(empty_torch_home / "NATS-tss-v1_0-3ffb9-simple") in message
    assert str(empty_torch_home / "NATS-tss-v1_0-3ffb9.pickle.pbz2") in message
    assert "NATS-tss-v1_0-3ffb9-simple.tar" in message and "github.com/D-X-Y/NATS-Bench" in message
    with pytest.raises(HarnessError, match="NATS-sss-v1_0-50262-simple"):
        OfficialSource(empty_torch_home / "nowhere", "nats-sss", fast_mode=True)
    assert find_source("nats-tss", seed_policy=777) is None and find_source("nats-sss") is None
    assert "NATS-tss-v1_0-3ffb9-simple" in how_to_enable("nats-tss")


def test_fast_mode_must_match_the_path(tss_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="is a folder"):
        OfficialSource(tss_folder, "nats-tss", fast_mode=False)
    with pytest.raises(HarnessError, match="is a file"):
        OfficialSource(make_single_file(tmp_path), "nats-tss", fast_mode=True)


# --- the bundled wide table -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def wide(nats_wide_csv: Path) -> CsvSource:
    return CsvSource(nats_wide_csv)


def test_wide_table_known_values(wide: CsvSource) -> None:
    frame = wide.frame
    best = frame.loc[frame["c10_test_acc_200"].idxmax()]
    assert best["index"] == 6111
    result = wide.query([best["arch_str"], frame["arch_str"][0]], NatsQuery("nats-tss", "cifar10"))
    assert result["accuracy"].tolist() == pytest.approx([94.3733, 85.86333333], abs=1e-4)
    assert list(result["arch_index"]) == [6111, 0]
    record = wide.record(NatsQuery("nats-tss", "cifar10", "valid"))
    assert record["column"] == "c10valid_valid_acc_200" and record["sha256"] == sha256(wide.path)
    for q, column in [(NatsQuery("nats-tss", "cifar100"), "c100_test_acc_200"),
                      (NatsQuery("nats-tss", "ImageNet16-120"), "in16_test_acc_200"),
                      (NatsQuery("nats-tss", "cifar10-valid", "test"), "c10valid_test_acc_200")]:
        assert wide.record(q)["column"] == column


def test_wide_hp12_table(nats_hp12_csv: Path) -> None:
    hp12 = CsvSource(nats_hp12_csv)
    arch0 = hp12.frame["arch_str"][0]
    assert hp12.query([arch0], NatsQuery("nats-tss", "cifar100", "valid", hp="12"))["accuracy"][0] == \
        pytest.approx(31.84)


def test_wide_table_errors(wide: CsvSource) -> None:
    with pytest.raises(HarnessError, match=r"nats-bench:ImageNet16-120:valid.*in16_test_acc_200"):
        wide.query(wide.frame["arch_str"][:2], NatsQuery("nats-tss", "ImageNet16-120", "valid"))
    with pytest.raises(HarnessError, match="c10_test_acc_12"):
        wide.query(wide.frame["arch_str"][:2], NatsQuery("nats-tss", "cifar10", hp="12"))
    with pytest.raises(HarnessError, match="means over seeds"):
        wide.query(wide.frame["arch_str"][:2], NatsQuery("nats-tss", "cifar10", seed_policy=777))
    with pytest.raises(HarnessError, match="nats-sss"):
        wide.query(["8:8:8:8:8"], NatsQuery("nats-sss", "cifar10"))
    missing = ["|none~0|+|none~0|none~1|+|none~0|none~1|bad~2|", "x"]
    with pytest.raises(HarnessError, match=r"2 of 3 architecture\(s\) are not in .*nb201_tss_wide.csv.xz: \|none"):
        wide.query([wide.frame["arch_str"][5], *missing], NatsQuery("nats-tss", "cifar10"))


# --- the groundtruth command -----------------------------------------------------------------------

def test_export_round_trip(tss_folder: Path, tmp_path: Path) -> None:
    output = tmp_path / "tss.csv"
    assert main(["groundtruth", "export", "--space", "nats-tss", "--path", str(tss_folder),
                 "--splits", "test", "valid", "--output", str(output)]) == 0  # fmt: skip
    tidy = pd.read_csv(output)
    assert len(tidy) == len(TSS_ARCHS) * 3 * 2 and set(tidy["hp"]) == {200}
    sidecar = json.loads((tmp_path / "tss.csv.json").read_text())
    assert len(sidecar["records"]) == 6 and sidecar["records"][0]["arch_files"]["count"] == 4
    source, official = CsvSource(output), OfficialSource(tss_folder, "nats-tss", fast_mode=True)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        for split in ("test", "valid"):
            q = NatsQuery("nats-tss", dataset, split)
            pd.testing.assert_frame_equal(source.query(TSS_ARCHS[::-1], q), official.query(TSS_ARCHS[::-1], q))
    # cifar10/valid rows also answer the same official key asked as cifar10-valid/valid
    assert source.query(TSS_ARCHS[:1], NatsQuery("nats-tss", "cifar10-valid", "valid"))["accuracy"][0] == \
        pytest.approx(fixture_acc(0, "cifar10-valid", "x-valid", "200", "mean"))
    with pytest.raises(HarnessError, match="cannot answer nats-bench:cifar10:hp12"):
        source.query(TSS_ARCHS, NatsQuery("nats-tss", "cifar10", hp="12"))
    assert source.record(NatsQuery("nats-tss", "cifar10"))["sidecar"]["path"].endswith("tss.csv.json")


def write_archs_and_scores(root: Path, archs: list[str], scores: list[float]) -> tuple[Path, Path]:
    archs_path = root / paths.ARCHS.format(space="nats-tss")
    archs_path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"arch_id": range(len(archs)), "arch_str": archs}).to_csv(archs_path, index=False)
    scores_path = root / paths.SCORES.format(space="nats-tss", method="bnnas", seed=0)
    scores_path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"checkpoint": 1, "epoch": 1.0, "arch_id": range(len(archs)), "arch_str": archs,
                  "score": scores}).to_csv(scores_path, index=False)
    return archs_path, scores_path


def test_query_output_feeds_correlate(nats_wide_csv: Path, tmp_path: Path) -> None:
    table = pd.read_csv(nats_wide_csv).iloc[::1500].reset_index(drop=True)
    archs, scores = write_archs_and_scores(tmp_path, list(table["arch_str"]), list(table["c10_test_acc_200"]))
    gt, record = tmp_path / "nats-tss/groundtruth/nats-bench.csv", tmp_path / "nats-tss/groundtruth/nats-bench.json"
    assert main(["groundtruth", "query", "--space", "nats-tss", "--archs", str(archs),
                 "--csv", str(nats_wide_csv), "--dataset", "cifar10",
                 "--output", str(gt), "--record", str(record)]) == 0  # fmt: skip
    truth = pd.read_csv(gt)
    assert list(truth.columns[:4]) == ["arch_id", "arch_str", "seed", "test_acc"] and set(truth["seed"]) == {-1}
    assert truth["test_acc"].tolist() == pytest.approx((table["c10_test_acc_200"] / 100).tolist())
    saved = json.loads(record.read_text())
    assert saved["ground_truth_name"] == "nats-bench:cifar10" and saved["source"]["column"] == "c10_test_acc_200"
    correlations = tmp_path / "nats-tss/correlations.csv"
    assert main(["correlate", "--space", "nats-tss", "--scores", str(scores), "--groundtruth", str(gt),
                 "--output", str(correlations), "--ground-truth-name", saved["ground_truth_name"],
                 "--bootstrap", "0"]) == 0  # fmt: skip
    rows = pd.read_csv(correlations).query("seed == 0").set_index("metric")  # the run's own rows (-1: over seeds)
    assert rows.loc["spearman_rho", "value"] == pytest.approx(1.0)
    assert set(rows["ground_truth"]) == {"nats-bench:cifar10"} and rows.loc["spearman_rho", "n"] == len(table)


def test_query_from_archive(tss_folder: Path, tmp_path: Path) -> None:
    archs, _ = write_archs_and_scores(tmp_path, TSS_ARCHS[1:], [0.0, 1.0, 2.0])
    gt, record = tmp_path / "gt.csv", tmp_path / "gt.json"
    assert main(["groundtruth", "query", "--space", "nats-tss", "--archs", str(archs), "--path", str(tss_folder),
                 "--dataset", "cifar100", "--split", "valid", "--seed-policy", "777",
                 "--output", str(gt), "--record", str(record)]) == 0  # fmt: skip
    truth = pd.read_csv(gt)
    expected = [fixture_acc(i, "cifar100", "x-valid", "200", 777) for i in (1, 2, 3)]
    assert truth["accuracy_percent"].tolist() == pytest.approx(expected)
    assert set(truth["seed"]) == {777} and truth["arch_id"].tolist() == [0, 1, 2]
    saved = json.loads(record.read_text())
    assert saved["source"]["split"] == "valid" and saved["source"]["eval_set"] == "x-valid"


def test_cli_reports_missing_archive(empty_torch_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["groundtruth", "export", "--space", "nats-tss", "--output", str(tmp_path / "x.csv")]) == 2
    assert str(empty_torch_home / "NATS-tss-v1_0-3ffb9-simple") in capsys.readouterr().err
