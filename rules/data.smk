rule run_config:
    output:
        res(P.RUN_CONFIG),
    params:
        config=config,
    log:
        res("logs/run_config.log"),
    localrule: True
    run:
        write_json(params.config, output[0])


rule prepare_data:
    input:
        RUN_CONFIG,
    output:
        data=DATASET,
        meta=res(P.DATASET_META),
    params:
        dataset=config["dataset"],
    conda:
        CONDA_ENV
    log:
        res("logs/prepare_data.log"),
    benchmark:
        res("benchmarks/prepare_data.tsv")
    shell:
        "python -m harness prepare-data --config {input} --output {output.data} --meta {output.meta} > {log} 2>&1"
