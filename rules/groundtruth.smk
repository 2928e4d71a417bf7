rule retrain_shard:
    input:
        config=RUN_CONFIG,
        data=DATASET,
        archs=res(P.ARCHS),
    output:
        res(P.GT_SHARD),
    params:
        groundtruth=config["groundtruth"],
    threads: config["threads"]
    resources:
        gpu=1 if config["device"] != "cpu" else 0,
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/groundtruth/shard{shard}.log"),
    benchmark:
        res("benchmarks/{space}/groundtruth/shard{shard}.tsv")
    shell:
        "python -m harness retrain --config {input.config} --space {wildcards.space} --shard {wildcards.shard}"
        " --data {input.data} --archs {input.archs} --output {output} --threads {threads} > {log} 2>&1"


rule merge_groundtruth:
    input:
        expand(res(P.GT_SHARD), shard=range(config["groundtruth"]["shards"]), allow_missing=True),
    output:
        res(P.GT_RETRAIN),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/groundtruth/merge.log"),
    shell:
        "python -m harness merge-groundtruth --inputs {input} --output {output} > {log} 2>&1"
