"""The benchmarks' code paths on tiny sizes, and the structure of their JSON record.

No timing assertions: timing goals are measured by `python -m benchmarks`, never by tests.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

import harness.paths as P
from benchmarks import GROUPS, gpu, network, pipeline, search, subnet_eval, supernet_train
from benchmarks.__main__ import main
from benchmarks.core import Figure, Goal, measure, measure_interleaved
from benchmarks.fixtures import default_config, random_batch
from harness.io import write_json
from harness.data.shapes import dataset_shape
from harness.spaces import build_space

FIGURE_KEYS = {"name", "value", "unit", "goal", "passed", "note"}


def _check_figures(figures: list[Figure]) -> None:
    assert figures and all(isinstance(f, Figure) for f in figures)
    for figure in figures:
        record = figure.to_dict()
        assert set(record) == FIGURE_KEYS
        json.dumps(record, allow_nan=False)  # NaN must have become null
        assert record["passed"] in (True, False, None)
        if record["value"] is None:
            assert figure.note, f"{figure.name}: a figure that was not measured must say why"


# --------------------------------------------------------------------------- core

def test_measure_counts_repeats_and_warmup():
    calls = []
    timing = measure(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and timing.repeats == 3 and timing.median_s >= 0
    timings = measure_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=2)
    assert all(t.repeats == 2 for t in timings.values())


def test_goal_verdicts_and_nan():
    assert Figure("x", 5.0, "ms", Goal("<", 10.0)).passed is True
    assert Figure("x", 12.0, "ms", Goal("<", 10.0)).passed is False
    assert Figure("x", 0.7, "x", Goal("<=", 0.7)).passed is True
    assert Figure("x", float("nan"), "x", Goal(">=", 1.0), note="not here").passed is None
    assert Figure("x", 1.0, "x").passed is None
    assert Figure("x", float("nan"), "x", note="n").to_dict()["value"] is None
    with pytest.raises(ValueError):
        Goal("~", 1.0)


# --------------------------------------------------------------------------- groups on tiny sizes

@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_subnet_eval_tiny():
    figures = subnet_eval.run(subnet_eval.TINY)
    _check_figures(figures)
    assert all(f.value > 0 for f in figures)


def test_supernet_train_tiny():
    figures = supernet_train.run(supernet_train.TINY)
    _check_figures(figures)
    assert any(f.name.startswith("supernet training time SPOS/BN-NAS") for f in figures)


def test_bn_only_step_computes_no_conv_weight_gradients():
    """What the per-step benchmark relies on: frozen convs get no weight gradient at all."""
    space = build_space("nats-tss", dataset_shape("fashion-mnist", 8), C=4, N=1)
    recipe = supernet_train.SupernetRecipe.from_dict(default_config()["supernet"])
    batch = random_batch(space.input_shape, 4)
    arch = (3, 3, 2, 3, 2, 3)
    weight_bn, calls_bn = supernet_train.count_weight_grad_convs(supernet_train.make_trainer(space, "bn", recipe, batch), arch)
    weight_all, _ = supernet_train.count_weight_grad_convs(supernet_train.make_trainer(space, "all", recipe, batch), arch)
    assert calls_bn > 0 and weight_bn == 0 and weight_all > 0


def test_step_breakdown_covers_the_step():
    space = build_space("nats-tss", dataset_shape("fashion-mnist", 8), C=4, N=1)
    recipe = supernet_train.SupernetRecipe.from_dict(default_config()["supernet"])
    trainer = supernet_train.make_trainer(space, "all", recipe, random_batch(space.input_shape, 4))
    kinds = supernet_train.step_breakdown(trainer, [(3, 3, 3, 3, 3, 3)])
    assert set(kinds) == set(supernet_train.BREAKDOWN_KINDS)
    assert kinds["conv backward"] > 0 and kinds["conv forward"] > 0 and kinds["batch norm fwd+bwd"] > 0


def test_network_tiny():
    figures = network.run(network.TINY)
    _check_figures(figures)
    # ours vs xautodl (NaN + note without xautodl), supernet vs subnet, our avg pool vs torch's
    assert len(figures) == 3 and "avg_pool_3x3" in figures[2].name


def test_search_tiny():
    figures = search.run(search.TINY)
    _check_figures(figures)
    lookup = next(f for f in figures if f.name.startswith("FLOPs + params lookup"))
    assert lookup.value > 0 and "15625" in lookup.name


def test_gpu_throughput_code_path_on_cpu():
    """The GPU benchmark's step (bf16 autocast, channels_last, real _train_step) runs on CPU too."""
    space = build_space("nats-tss", dataset_shape("cifar10", 8), C=4, N=1)
    for rule in ("bn", "all"):
        assert gpu.throughput(space, torch.device("cpu"), 4, rule, gpu.TINY) > 0


def test_gpu_benchmark_profiles_bn_only_against_all_weights_on_the_cpu():
    """Without a GPU the group measures its CPU stand-in: the paired ratio, both throughputs,
    and a per-op-kind profile in which BN-only computes no conv weight gradient."""
    figures = gpu.run(gpu.TINY, cpu=True)  # the stand-in, on a machine with a GPU too
    _check_figures(figures)
    ratio = figures[0]
    assert ratio.name.startswith("CPU stand-in BN-only / all-weights step time") and ratio.value > 0
    assert ratio.goal is None and "no GPU here" in ratio.note
    assert "conv backward" in ratio.note and "BN-only launches 0 conv weight-gradient" in ratio.note
    assert all(f.value > 0 for f in figures)


def test_gpu_profile_kinds():
    assert gpu.op_kind("aten::convolution_backward") == "conv backward"
    assert gpu.op_kind("aten::cudnn_convolution") == "conv forward"
    assert gpu.op_kind("aten::cudnn_batch_norm_backward") == "batch norm"
    assert gpu.op_kind("aten::_foreach_add_") == "optimizer + clipping"
    assert gpu.op_kind("aten::_to_copy") == "copies + casts"
    assert gpu.op_kind("autograd::engine::evaluate_function: ReluBackward0") == "autograd engine"
    assert gpu.kernel_kind("sm90_xmma_wgrad_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc") == "conv weight grad"
    assert gpu.kernel_kind("void at::native::conv_depthwise2d_grad_weight_kernel<float>") == "conv weight grad"
    assert gpu.kernel_kind("sm80_xmma_dgrad_implicit_gemm_indexed_wo_smem_f32f32") == "conv input grad"
    assert gpu.kernel_kind("void at::native::vectorized_elementwise_kernel<4>") is None


# --------------------------------------------------------------------------- pipeline on a synthetic run

LOG = """\
Config file config/config.yaml is extended by additional config specified via the command line.

SNAKEMAKE
=========
  Date: 2026-01-02 10:00:00
  Command: snakemake --cores 2 --config results_dir={results}
  Working directory: {root}

Building DAG of jobs...
[Fri Jan  2 10:00:05 2026]
localrule run_config:
    output: {results}/run_config.json
    jobid: 2
[Fri Jan  2 10:00:06 2026]
Finished jobid: 2 (Rule: run_config)
1 of 3 steps (33%) done
[Fri Jan  2 10:00:06 2026]
rule train_supernet:
    output: {results}/nats-tss/spos/seed0/supernet/train.json
    log: {results}/logs/train.log
    jobid: 3
    benchmark: {results}/benchmarks/nats-tss/spos/seed0/train_supernet.tsv
[Fri Jan  2 10:01:46 2026]
Finished jobid: 3 (Rule: train_supernet)
2 of 3 steps (67%) done
[Fri Jan  2 10:01:46 2026]
localrule all:
    jobid: 0
[Fri Jan  2 10:01:46 2026]
Finished jobid: 0 (Rule: all)
3 of 3 steps (100%) done
Elapsed time: 0:01:46.500000
"""


def _synthetic_run(root: Path) -> Path:
    results = root / "results" / "default"
    write_json({**default_config(), "results_dir": str(results)}, results / P.RUN_CONFIG)
    write_json({"train_time_s": 90.0, "checkpoints": [{"checkpoint": 0}, {"checkpoint": 1}]},
               results / P.TRAIN_RECORD.format(space="nats-tss", method="spos", seed=0))
    write_json({"score_time_s": 1.0}, results / P.SCORING_RECORD.format(space="nats-tss", method="spos", seed=0))
    write_json({"analysis_time_s": 4.0}, results / P.CORRELATION_RECORD.format(space="nats-tss", ground_truth="retrain"))
    shard = results / P.GT_SHARD.format(space="nats-tss", shard=0)
    shard.parent.mkdir(parents=True)
    pd.DataFrame({"arch_id": [0, 1], "train_time_s": [1.5, 1.5], "eval_time_s": [0.5, 0.5]}).to_csv(shard, index=False)
    bench = results / "benchmarks" / "nats-tss" / "spos" / "seed0" / "train_supernet.tsv"
    bench.parent.mkdir(parents=True)
    pd.DataFrame({"s": [100.0], "h:m:s": ["0:01:40"], "max_rss": [812.5]}).to_csv(bench, sep="\t", index=False)
    log_dir = root / ".snakemake" / "log"
    log_dir.mkdir(parents=True)
    (log_dir / "2026-01-02T100000.000000.snakemake.log").write_text(LOG.format(results="results/default", root=root))
    return results


def test_pipeline_reads_a_finished_default_run(tmp_path):
    results = _synthetic_run(tmp_path)
    found = pipeline.find_default_run(tmp_path)
    assert found is not None and found.results == results and found.differences == []
    assert found.log.elapsed_s == pytest.approx(106.5)
    wall, share, not_work, peak = pipeline.run_figures(found, startup_s=2.0)
    _check_figures([wall, share, not_work, peak])
    assert wall.value == pytest.approx(106.5 / 60)
    # job seconds: run_config 1 (log) + train_supernet 100 (TSV); Snakemake start-up 5;
    # work: training 90 + scoring 1 x 2 checkpoints + retraining 3 and its test evaluation 1
    assert not_work.value == pytest.approx(100 * (101 + 5 - 96) / 106)
    # the correlate job's statistics (4 s) are neither work nor overhead
    assert share.value == pytest.approx(100 * (101 + 5 - 96 - 4) / 106)
    assert peak.value == pytest.approx(812.5)


def test_pipeline_counts_every_scoring_rule_as_scoring():
    assert {rule: pipeline.rule_stage(rule) for rule in (
        "score", "score_all_archs", "score_free_nats_tss", "score_bn_nats_sss", "train_supernet", "correlate",
        "score_bnx")} == {
        "score": "scoring", "score_all_archs": "scoring", "score_free_nats_tss": "scoring",
        "score_bn_nats_sss": "scoring", "train_supernet": "train_supernet", "correlate": "correlate",
        "score_bnx": "score_bnx"}


def test_pipeline_without_a_run_says_how_to_produce_one(tmp_path):
    figures = pipeline.run_figures(pipeline.find_default_run(tmp_path), startup_s=1.0)
    _check_figures(figures)
    assert all(math.isnan(f.value) and "snakemake --cores 2" in f.note for f in figures)


def test_pipeline_flags_a_run_of_an_older_default_config(tmp_path):
    results = _synthetic_run(tmp_path)
    write_json({**default_config(), "results_dir": str(results), "seed": 123}, results / P.RUN_CONFIG)
    found = pipeline.find_default_run(tmp_path)
    assert found is not None and found.differences == ["seed"]
    assert "CAUTION" in pipeline.run_figures(found, startup_s=1.0)[0].note


def test_pipeline_ignores_a_run_of_another_config_file(tmp_path):
    _synthetic_run(tmp_path)
    log = next((tmp_path / ".snakemake" / "log").glob("*.log"))
    log.write_text(log.read_text().replace("--cores 2", "--cores 2 --configfile config/smoke.yaml"))
    assert pipeline.find_default_run(tmp_path) is None


# --------------------------------------------------------------------------- the command and its JSON

def test_main_writes_and_merges_the_json_record(tmp_path, capsys):
    output = tmp_path / "benchmarks.json"
    assert main(["gpu", "--tiny", "--output", str(output)]) == 0
    assert main(["search", "--tiny", "--output", str(output)]) == 0
    record = json.loads(output.read_text())
    assert {"cpu_count", "torch_version", "torch_threads"} <= set(record["machine"])
    assert record["machine"]["torch_threads"] == 1
    assert set(record["groups"]) == {"gpu", "search"}  # the second run kept the first one's group
    for group in record["groups"].values():
        assert group["error"] is None and group["runtime_s"] >= 0 and group["figures"]
        for figure in group["figures"]:
            assert set(figure) == FIGURE_KEYS
    printed = capsys.readouterr().out
    assert "goal" in printed and "PASS" in printed


def test_main_rejects_an_unknown_group(tmp_path, capsys):
    assert main(["nope", "--output", str(tmp_path / "b.json")]) == 2
    assert "unknown benchmark group" in capsys.readouterr().err


def test_every_group_has_full_and_tiny_sizes():
    for name, module in GROUPS.items():
        assert module.NAME == name and module.DESCRIPTION
        assert type(module.FULL) is type(module.TINY)
