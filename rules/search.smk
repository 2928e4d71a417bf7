rule search:
    input:
        data=DATASET,
        supernet=supernet_record,
    output:
        res(P.SEARCH),
    params:
        spec=spec("search"),
        supernet_dir=lambda w: res(P.SUPERNET_DIR, space=w.space, method=w.method, seed=w.seed),
    threads: config["threads"]
    priority: 5  # train -> search -> final chains before short scoring jobs: no lone chain at the end
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/search.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/search.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness search --spec {params.spec:q} --data {input.data} --supernet-dir {params.supernet_dir}"
        " --output {output} --threads {threads} > {log} 2>&1"


rule final:
    input:
        data=DATASET,
        search=res(P.SEARCH),
    output:
        res(P.FINAL),
    params:
        spec=spec("final"),
    threads: config["threads"]
    priority: 5  # train -> search -> final chains before short scoring jobs: no lone chain at the end
    resources:
        gpu=1 if config["device"] != "cpu" else 0,
    conda:
        CONDA_ENV
    log:
        res("logs/{space}/{method}/seed{seed}/final.log"),
    benchmark:
        res("benchmarks/{space}/{method}/seed{seed}/final.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness final --spec {params.spec:q} --data {input.data} --search {input.search} --output {output}"
        " --threads {threads} > {log} 2>&1"
