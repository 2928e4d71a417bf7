rule plan:
    output:
        config=res(P.RUN_CONFIG),
        plan=res(harness_plan.PLAN),
        manifest=res(harness_plan.MANIFEST),
    params:
        config=harness_plan.stable_json(config),  # key order aside: the same config is the same
        plan=harness_plan.content_hash({"plan": PLAN, "manifest": harness_plan.build_manifest(config)}),
    log:
        res("logs/plan.log"),
    localrule: True
    run:
        write_json(config, output.config)
        write_json(PLAN, output.plan)
        write_json(harness_plan.build_manifest(config), output.manifest)


rule prepare_data:
    output:
        data=DATASET,
        meta=res(P.DATASET_META),
    params:
        spec=spec("prepare_data"),
    conda:
        CONDA_ENV
    log:
        res("logs/prepare_data.log"),
    benchmark:
        res("benchmarks/prepare_data.tsv")
    shell:
        "\"$HARNESS_PYTHON\" -m harness prepare-data --spec {params.spec:q} --output {output.data} --meta {output.meta} > {log} 2>&1"
