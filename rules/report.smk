rule correlate:
    input:
        scores=correlated_scores,
        records=correlated_records,
        groundtruth=groundtruth_file,
    output:
        table=res(P.CORRELATION_PART),
        record=res(P.CORRELATION_RECORD),
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
    benchmark:
        res("benchmarks/{space}/correlate-{ground_truth}.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness correlate --space {wildcards.space} --scores {input.scores} --groundtruth {input.groundtruth}"
        " --ground-truth-name {params.name} --output {output.table} --record {output.record} {params.settings}"
        " --spec {params.spec:q} > {log} 2>&1"


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
        "\"$HARNESS_PYTHON\" -m harness merge-csv --inputs {input} --output {output} > {log} 2>&1"


# Captions of `snakemake --report report.html` (or .zip), relative to this file.
CAPTIONS = "../snakemake_report"


report: f"{CAPTIONS}/workflow.rst"


# The last stage, in three jobs: provenance (where the run ran, once), analyse (every number,
# table and figure of the report, as files: the same files feed `snakemake --report`) and report
# (index.html rendered from them; nothing is computed there). Analysis reads the manifest (written
# from the plan): the files of the configured runs, and nothing else under the results directory.
rule provenance:
    input:
        manifest=res(harness_plan.MANIFEST),
        files=[res(f) for f in harness_plan.report_files(config)],
    output:
        res(P.REPORT_PROVENANCE),
    params:
        results=results_of,
    conda:
        CONDA_ENV
    log:
        res("logs/provenance.log"),
    shell:
        "\"$HARNESS_PYTHON\" -m harness provenance --results {params.results} --output {output} > {log} 2>&1"


rule analyse:
    input:
        manifest=res(harness_plan.MANIFEST),
        files=[res(f) for f in harness_plan.report_files(config)],
        provenance=res(P.REPORT_PROVENANCE),  # the machine: what a proposed run would cost on it
    output:
        outline=res(P.REPORT_OUTLINE),
        correlations=report(res(P.REPORT_CORRELATIONS), caption=f"{CAPTIONS}/csv.rst", category="Data"),
        costs=report(res(P.REPORT_COSTS), caption=f"{CAPTIONS}/csv.rst", category="Data"),
        comparison=report(res(P.REPORT_COMPARISON), caption=f"{CAPTIONS}/csv.rst", category="Data"),
        verdicts=report(res(P.REPORT_VERDICTS), caption=f"{CAPTIONS}/verdicts.rst", category="Data"),
        figures=report(directory(res(P.REPORT_FIGURES)), patterns=["{name}.png"],
                       caption=f"{CAPTIONS}/figures.rst", category="Figures"),
        tables=report(directory(res(P.REPORT_TABLES)), patterns=["{name}.md"],
                      caption=f"{CAPTIONS}/tables.rst", category="Tables"),
    params:
        results=results_of,
    conda:
        CONDA_ENV
    log:
        res("logs/analyse.log"),
    benchmark:
        res("benchmarks/analyse.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness analyse --results {params.results} --manifest {input.manifest}"
        " --output $(dirname {output.outline}) > {log} 2>&1"


rule report:
    input:
        outline=res(P.REPORT_OUTLINE),
        provenance=res(P.REPORT_PROVENANCE),
        figures=res(P.REPORT_FIGURES),
        tables=res(P.REPORT_TABLES),
    output:
        html=report(res(P.REPORT_HTML), caption=f"{CAPTIONS}/index.rst", category="Report"),
    params:
        results=lambda w, input: os.path.dirname(os.path.dirname(input.provenance)),  # RESULTS/report/provenance.json
    conda:
        CONDA_ENV
    log:
        res("logs/report.log"),
    benchmark:
        res("benchmarks/report.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness report --results {params.results} --output $(dirname {output.html}) > {log} 2>&1"
