rule correlate:
    input:
        scores=correlated_scores,
        groundtruth=groundtruth_file,
    output:
        res(P.CORRELATION_PART),
    wildcard_constraints:
        ground_truth="retrain|(all-)?nats-bench-[^/]+",
    params:
        spec=spec("correlate"),
        settings=correlate_settings,
        name=lambda w: w.ground_truth.replace("nats-bench-", "nats-bench:"),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/correlate-{ground_truth}.log"),
    shell:
        "python -m harness correlate --space {wildcards.space} --scores {input.scores} --groundtruth {input.groundtruth}"
        " --ground-truth-name {params.name} --output {output} {params.settings} > {log} 2>&1"


rule merge_correlations:
    input:
        lambda w: [res(P.CORRELATION_PART, space=w.space, ground_truth=g)
                   for g in harness_plan.ground_truths(config, w.space)],
    output:
        res(P.CORRELATIONS),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/merge_correlations.log"),
    shell:
        "python -m harness merge-csv --inputs {input} --output {output} > {log} 2>&1"


# The report reads the manifest (written from the plan): the files of the configured runs, and
# nothing else under the results directory.
rule report:
    input:
        manifest=res(harness_plan.MANIFEST),
        files=[res(f) for f in harness_plan.report_files(config)],
    output:
        html=res(P.REPORT_HTML),
        correlations=res(P.REPORT_CORRELATIONS),
        costs=res(P.REPORT_COSTS),
        comparison=res(P.REPORT_COMPARISON),
    params:
        results=lambda w, output: os.path.dirname(os.path.dirname(output.html)),
    conda:
        CONDA_ENV
    log:
        res("logs/report.log"),
    shell:
        "python -m harness report --results {params.results} --manifest {input.manifest}"
        " --output $(dirname {output.html}) > {log} 2>&1"
