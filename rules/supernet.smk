rule sample_archs:
    input:
        RUN_CONFIG,
    output:
        res(P.ARCHS),
    params:
        archs=config["archs"],
        space=lambda w: config["spaces"][w.space],
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/sample_archs.log"),
    shell:
        "python -m harness sample-archs --config {input} --space {wildcards.space} --output {output} > {log} 2>&1"


rule train_supernet:
    input:
        config=RUN_CONFIG,
        data=DATASET,
    output:
        res(P.TRAIN_RECORD),
    params:
        supernet=config["supernet"],
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
        "python -m harness train-supernet --config {input.config} --space {wildcards.space} --method {wildcards.method}"
        " --seed {wildcards.seed} --data {input.data} --outdir {params.outdir} --threads {threads}"
        " --no-progress > {log} 2>&1"


rule score:
    input:
        config=RUN_CONFIG,
        data=DATASET,
        archs=res(P.ARCHS),
        supernet=supernet_record,
    output:
        scores=res(P.SCORES),
        record=res(P.SCORING_RECORD),
    params:
        scoring=config["scoring"],
        supernet_dir=lambda w: res(P.SUPERNET_DIR, space=w.space, method=w.method, seed=w.seed),
    threads: config["threads"]
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/score.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/score.tsv")
    shell:
        "python -m harness score --config {input.config} --space {wildcards.space} --method {wildcards.method}"
        " --seed {wildcards.seed} --data {input.data} --archs {input.archs} --supernet-dir {params.supernet_dir}"
        " --output {output.scores} --record {output.record} --threads {threads} > {log} 2>&1"


rule sample_all_archs:
    input:
        RUN_CONFIG,
    output:
        res(P.ALL_ARCHS),
    params:
        space=lambda w: config["spaces"][w.space],
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/sample_all_archs.log"),
    shell:
        "python -m harness sample-archs --all --config {input} --space {wildcards.space} --output {output} > {log} 2>&1"


rule score_all_archs:
    input:
        config=RUN_CONFIG,
        data=DATASET,
        archs=res(P.ALL_ARCHS),
        supernet=supernet_record,
    output:
        scores=res(P.ALL_SCORES),
        record=res(P.ALL_SCORING_RECORD),
    params:
        supernet_dir=lambda w: res(P.SUPERNET_DIR, space=w.space, method=w.method, seed=w.seed),
        limit=lambda w: benchmark_sample(w.space, w.method),
    threads: config["threads"]
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/score_all_archs.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/score_all_archs.tsv")
    shell:
        "python -m harness score --config {input.config} --space {wildcards.space} --method {wildcards.method}"
        " --seed {wildcards.seed} --data {input.data} --archs {input.archs} --supernet-dir {params.supernet_dir}"
        " --output {output.scores} --record {output.record} --threads {threads} --final-only --limit {params.limit}"
        " > {log} 2>&1"
