rule sample_archs:
    output:
        res(P.ARCHS),
    params:
        spec=spec("sample_archs"),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/sample_archs.log"),
    shell:
        "python -m harness sample-archs --spec {params.spec:q} --output {output} > {log} 2>&1"


rule train_supernet:
    input:
        data=DATASET,
    output:
        res(P.TRAIN_RECORD),
    params:
        spec=spec("train_supernet"),
        outdir=lambda w: res(P.SUPERNET_DIR, space=w.space, method=w.method, seed=w.seed),
    threads: config["threads"]
    priority: 5  # train -> search -> final chains before short scoring jobs: no lone chain at the end
    resources:
        gpu=1 if config["device"] != "cpu" else 0,
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/train_supernet.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/train_supernet.tsv")
    shell:
        "python -m harness train-supernet --spec {params.spec:q} --data {input.data} --outdir {params.outdir}"
        " --threads {threads} --no-progress > {log} 2>&1"


rule score:
    input:
        data=DATASET,
        archs=res(P.ARCHS),
        supernet=supernet_record,
    output:
        scores=res(P.SCORES),
        record=res(P.SCORING_RECORD),
    params:
        spec=spec("score"),
        supernet_dir=lambda w: res(P.SUPERNET_DIR, space=w.space, method=w.method, seed=w.seed),
    threads: config["threads"]
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/score.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/score.tsv")
    shell:
        "python -m harness score --spec {params.spec:q} --data {input.data} --archs {input.archs}"
        " --supernet-dir {params.supernet_dir} --output {output.scores} --record {output.record}"
        " --threads {threads} > {log} 2>&1"


rule sample_all_archs:
    output:
        res(P.ALL_ARCHS),
    params:
        spec=spec("sample_all_archs"),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/sample_all_archs.log"),
    shell:
        "python -m harness sample-archs --all --spec {params.spec:q} --output {output} > {log} 2>&1"


rule score_all_archs:
    input:
        data=DATASET,
        archs=res(P.ALL_ARCHS),
        supernet=supernet_record,
    output:
        scores=res(P.ALL_SCORES),
        record=res(P.ALL_SCORING_RECORD),
    params:
        spec=spec("score_all_archs"),
        supernet_dir=lambda w: res(P.SUPERNET_DIR, space=w.space, method=w.method, seed=w.seed),
    threads: config["threads"]
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/score_all_archs.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/score_all_archs.tsv")
    shell:
        "python -m harness score --spec {params.spec:q} --data {input.data} --archs {input.archs}"
        " --supernet-dir {params.supernet_dir} --output {output.scores} --record {output.record}"
        " --threads {threads} --final-only > {log} 2>&1"


# Every supernet-free method of a space (zero-cost proxies, structural counts: seconds each)
# scored in one job per space, each method with its own scores.csv and scoring.json.
for _free in planned("score_free"):

    rule:
        name:
            harness_plan.rule_name(_free)
        input:
            data=DATASET,
            archs=res(P.ARCHS, space=_free["space"]["name"]),
        output:
            scores=[run_path(P.SCORES, s) for s in _free["runs"]],
            records=[run_path(P.SCORING_RECORD, s) for s in _free["runs"]],
        params:
            spec=harness_plan.stable_json(_free),
        threads: config["threads"]
        conda:
            CONDA_ENV
        log:
            res(f"logs/{_free['space']['name']}/score_free.log"),
        benchmark:
            res(f"benchmarks/{_free['space']['name']}/score_free.tsv")
        shell:
            "python -m harness score --spec {params.spec:q} --data {input.data} --archs {input.archs}"
            " --output {output.scores} --record {output.records} --threads {threads} > {log} 2>&1"
