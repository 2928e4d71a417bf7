rule retrain_shard:
    input:
        data=DATASET,
        archs=res(P.ARCHS),
    output:
        res(P.GT_SHARD),
    params:
        spec=spec("retrain_shard"),
    threads: config["threads"]
    priority: 10  # the longest jobs: start them first
    resources:
        gpu=1 if config["device"] != "cpu" else 0,
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/groundtruth/shard{shard}.log"),
    benchmark:
        res("benchmarks/{space}/groundtruth/shard{shard}.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness retrain --spec {params.spec:q}"
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
        "\"$HARNESS_PYTHON\" -m harness merge-csv --inputs {input} --output {output} --sort arch_id repetition > {log} 2>&1"


# The source (configured CSV or archive, else $TORCH_HOME) is looked for inside the job; a job
# that finds none writes an empty table and a "not available" record that the report shows.
rule nats_bench_groundtruth:
    input:
        archs=lambda w: res(P.ALL_ARCHS if w.all else P.ARCHS, space=w.space),
    output:
        table=res("{space}/groundtruth/{all}nats-bench-{dataset}.csv"),
        record=res("{space}/groundtruth/{all}nats-bench-{dataset}.csv.json"),
    wildcard_constraints:
        all="(all-)?",
    params:
        spec=spec("nats_bench_groundtruth"),
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/groundtruth/{all}nats-bench-{dataset}.log"),
    shell:
        "\"$HARNESS_PYTHON\" -m harness groundtruth query --spec {params.spec:q} --archs {input.archs}"
        " --output {output.table} --record {output.record} > {log} 2>&1"
