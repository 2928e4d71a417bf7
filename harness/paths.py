"""Where every stage's files live (one place for each path pattern), and what their columns are.

Snakemake rules format these patterns with wildcards; the report globs them. All paths are
relative to the results directory (config key `results_dir`, default `results`).

    run_config.json                           the validated, defaulted config of the run
    data/dataset.pt, data/dataset.json        the split dataset (uint8 tensors) and its provenance
    {space}/archs.csv                         arch_id, arch_str, flops_M, params_M
                                              (the fixed sample every method is judged on)
    {space}/{method}/seed{seed}/supernet/ckpt{checkpoint}.pt   supernet state at a curve point
    {space}/{method}/seed{seed}/supernet/resume.pt            full training state (resume)
    {space}/{method}/seed{seed}/supernet/train.json            training record: method parts,
              epochs, steps, skipped steps, wall and CPU time, trainable/total params, checkpoints
              [{checkpoint, epoch, step, time_s, cpu_time_s}]
    {space}/{method}/seed{seed}/scores.csv    checkpoint, epoch, arch_id, arch_str, score
    {space}/{method}/seed{seed}/scoring.json  time to score the sample at the final checkpoint
    {space}/{method}/seed{seed}/search.json   evolutionary + random search under a FLOPs budget
    {space}/{method}/seed{seed}/final.csv     the searched top-k retrained from scratch
    {space}/groundtruth/shard{shard}.csv      retrained records of one shard: arch_id, arch_str,
              seed, test_acc, val_acc, epochs, batch_size, lr, train_images, test_images,
              train_time_s, threads
    {space}/groundtruth/retrain.csv           all shards merged
    {space}/groundtruth/nats-bench-{dataset}.csv (+ .json: what was queried)  NATS-Bench values
    {space}/all_archs.csv                     every architecture of an enumerable space (arch_id =
              enumeration index), rows in a seeded random order: the first n are a uniform sample
    {space}/{method}/seed{seed}/all_scores.csv  scores of the first nats_bench.sample[kind]
              architectures of all_archs.csv (all of them by default), final checkpoint
    {space}/correlations/{ground_truth}.csv   one ground truth's correlations (merged below)
    {space}/correlations.csv                  tidy: space, method, seed, checkpoint, epoch,
              ground_truth, n, metric, value, ci_low, ci_high, seeds, ci_sources, relation
              (seed -1: mean over seeds; metric kendall_tau_diff_vs_<other>: paired differences;
              methods "retraining-reliability" and "perfect-scorer": see harness.commands.correlate)
    report/correlations.csv, costs.csv, comparison.csv, verdicts.csv (harness.analysis.verdicts), tables/,
    figures/, outline.json    the analyse job's output (harness.report.outline)
    report/provenance.json    the provenance job's output (harness.commands.provenance)
    report/index.html         the rendered page (harness.report.render)
    verification/verification.csv   the latest verify of this folder (harness.commands.verify)
    provenance/{stage}/{wildcards}.json       what each job ran with (host, CPU vector units, libraries,
              torch's build and CPU capability, determinism settings, code version):
              harness.environment.write_job_record
"""

from __future__ import annotations

RUN_CONFIG = "run_config.json"
PLAN = "plan.json"  # every job's spec and hash (the plan rule)
MANIFEST = "manifest.json"  # the files of the configured runs: all the analysis reads (the plan rule)
DATASET = "data/dataset.pt"
DATASET_META = "data/dataset.json"
ARCHS = "{space}/archs.csv"
RUN_DIR = "{space}/{method}/seed{seed}"
SUPERNET_DIR = RUN_DIR + "/supernet"
CHECKPOINT_NAME = "ckpt{checkpoint}.pt"
RESUME_NAME = "resume.pt"
STALE_RESUME_NAME = "resume.stale.pt"  # a resume.pt of a different run, moved aside (never continued)
TRAIN_RECORD_NAME = "train.json"
TRAIN_RECORD = SUPERNET_DIR + "/" + TRAIN_RECORD_NAME
SCORES = RUN_DIR + "/scores.csv"
SCORING_RECORD = RUN_DIR + "/scoring.json"
GT_SHARD = "{space}/groundtruth/shard{shard}.csv"
GT_RETRAIN = "{space}/groundtruth/retrain.csv"
GT_NATS = "{space}/groundtruth/nats-bench-{dataset}.csv"
GT_NATS_RECORD = GT_NATS + ".json"
ALL_ARCHS = "{space}/all_archs.csv"
SEARCH = RUN_DIR + "/search.json"
FINAL = RUN_DIR + "/final.csv"
ALL_SCORES = RUN_DIR + "/all_scores.csv"
ALL_SCORING_RECORD = RUN_DIR + "/all_scoring.json"
CORRELATION_PART = "{space}/correlations/{ground_truth}.csv"
CORRELATION_RECORD = CORRELATION_PART + ".json"  # the correlate job's timing
CORRELATIONS = "{space}/correlations.csv"
REPORT_HTML = "report/index.html"
REPORT_CORRELATIONS = "report/correlations.csv"
REPORT_COSTS = "report/costs.csv"
REPORT_COMPARISON = "report/comparison.csv"
REPORT_VERDICTS = "report/verdicts.csv"
REPORT_FIGURES = "report/figures"  # every figure of the report as a PNG
REPORT_TABLES = "report/tables"  # every table of the report as CSV (as shown), Markdown and LaTeX
REPORT_OUTLINE = "report/outline.json"  # the page's blocks in order (harness.report.outline)
REPORT_PROVENANCE = "report/provenance.json"  # code version, machine, libraries, determinism (provenance job)
JOB_RECORD = "provenance/{job}.json"  # what a job ran with (harness.environment.write_job_record)
VERIFICATION = "verification/verification.csv"  # the latest `python -m harness verify` of the results
