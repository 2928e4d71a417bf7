rule correlate:
    input:
        scores=correlated_scores,
        groundtruth=groundtruth_file,
    output:
        res(P.CORRELATION_PART),
    wildcard_constraints:
        ground_truth="retrain|(all-)?nats-bench-[^/]+",
    params:
        correlation=config["correlation"],
        seed=config["seed"],
        name=lambda w: w.ground_truth.replace("nats-bench-", "nats-bench:"),
        bootstrap=lambda w: config["correlation"]["bootstrap_all_archs" if w.ground_truth.startswith("all-") else "bootstrap"],
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/correlate-{ground_truth}.log"),
    shell:
        "python -m harness correlate --space {wildcards.space} --scores {input.scores} --groundtruth {input.groundtruth}"
        " --ground-truth-name {params.name} --output {output} --bootstrap {params.bootstrap}"
        " --confidence {params.correlation[confidence]} --topk {params.correlation[topk]} --seed {params.seed}"
        " > {log} 2>&1"


rule merge_correlations:
    input:
        lambda w: [res(P.CORRELATION_PART, space=w.space, ground_truth=g) for g in ground_truths(w.space)],
    output:
        res(P.CORRELATIONS),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/merge_correlations.log"),
    shell:
        "python -m harness merge-csv --inputs {input} --output {output} > {log} 2>&1"


# Captions of `snakemake --report report.html` (or .zip), relative to this file.
CAPTIONS = "../snakemake_report"


report: f"{CAPTIONS}/workflow.rst"


rule report:
    input:
        RUN_CONFIG,
        res(P.DATASET_META),
        expand(res(P.CORRELATIONS), space=rank_spaces()),
        [res(P.TRAIN_RECORD, space=s, method=m, seed=k) for s, m, k in all_runs() if method(m).trains_supernet],
        [res(P.SCORING_RECORD, space=s, method=m, seed=k) for s, m, k in method_runs(rank_spaces())],
        [res(P.FINAL, space=s, method=m, seed=k) for s, m, k in search_runs()],
    output:
        html=report(res(P.REPORT_HTML), caption=f"{CAPTIONS}/index.rst", category="Report"),
        correlations=report(res(P.REPORT_CORRELATIONS), caption=f"{CAPTIONS}/csv.rst", category="Data"),
        costs=report(res(P.REPORT_COSTS), caption=f"{CAPTIONS}/csv.rst", category="Data"),
        comparison=report(res(P.REPORT_COMPARISON), caption=f"{CAPTIONS}/csv.rst", category="Data"),
        figures=report(directory(res(P.REPORT_FIGURES)), patterns=["{name}.png"],
                       caption=f"{CAPTIONS}/figures.rst", category="Figures"),
        tables=report(directory(res(P.REPORT_TABLES)), patterns=["{name}.md"],
                      caption=f"{CAPTIONS}/tables.rst", category="Tables"),
    params:
        results=lambda w, output: os.path.dirname(os.path.dirname(output.html)),
    conda:
        CONDA_ENV
    log:
        res("logs/report.log"),
    benchmark:
        res("benchmarks/report.tsv")
    shell:
        "python -m harness report --results {params.results} --output $(dirname {output.html}) > {log} 2>&1"
