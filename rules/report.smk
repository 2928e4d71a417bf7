rule correlate:
    input:
        scores=lambda w: [res(P.SCORES, space=w.space, method=m, seed=s) for m in config["methods"] for s in config["seeds"]],
        groundtruth=res(P.GT_RETRAIN),
    output:
        res(P.CORRELATIONS),
    params:
        correlation=config["correlation"],
        seed=config["seed"],
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/correlate.log"),
    shell:
        "python -m harness correlate --space {wildcards.space} --scores {input.scores} --groundtruth {input.groundtruth}"
        " --output {output} --bootstrap {params.correlation[bootstrap]} --confidence {params.correlation[confidence]}"
        " --topk {params.correlation[topk]} --seed {params.seed} > {log} 2>&1"


rule report:
    input:
        RUN_CONFIG,
        res(P.DATASET_META),
        expand(res(P.CORRELATIONS), space=config["spaces"]),
        [res(P.TRAIN_RECORD, space=s, method=m, seed=k) for s, m, k in method_runs() if trains_supernet(m)],
        [res(P.SCORING_RECORD, space=s, method=m, seed=k) for s, m, k in method_runs()],
    output:
        html=res(P.REPORT_HTML),
        correlations=res(P.REPORT_CORRELATIONS),
        costs=res(P.REPORT_COSTS),
    params:
        results=lambda w, output: os.path.dirname(os.path.dirname(output.html)),
    conda:
        CONDA_ENV
    log:
        res("logs/report.log"),
    shell:
        "python -m harness report --results {params.results} --output $(dirname {output.html}) > {log} 2>&1"
