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
        "\"$HARNESS_PYTHON\" -m harness sample-archs --spec {params.spec:q} --output {output} > {log} 2>&1"


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
        "\"$HARNESS_PYTHON\" -m harness train-supernet --spec {params.spec:q} --data {input.data} --outdir {params.outdir}"
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
        "\"$HARNESS_PYTHON\" -m harness score --spec {params.spec:q} --data {input.data} --archs {input.archs}"
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
        "\"$HARNESS_PYTHON\" -m harness sample-archs --all --spec {params.spec:q} --output {output} > {log} 2>&1"


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
        "\"$HARNESS_PYTHON\" -m harness score --spec {params.spec:q} --data {input.data} --archs {input.archs}"
        " --supernet-dir {params.supernet_dir} --output {output.scores} --record {output.record}"
        " --threads {threads} --final-only > {log} 2>&1"


# Cheap scoring in one job per space and group (harness.workflow.plan.score_group_spec): every
# supernet-free method (score_free_<space>), every BN-indicator run (score_bn_<space>: lookups of
# the trained gammas), sample and all-architectures scoring alike; each run keeps its own
# scores.csv / all_scores.csv and timing record. One process instead of one per run: the
# start-up of a job costs more than these scores.
for _group in [spec for group in harness_plan.SCORE_GROUPS for spec in planned(group)]:
    _space = _group["space"]["name"]
    _every = [s for s in _group["runs"] if s["stage"] == "score_all_archs"]
    _trained = [s for s in _group["runs"] if method(s["method"]["name"]).trains_supernet]
    _archs = res(P.ARCHS if len(_every) < len(_group["runs"]) else P.ALL_ARCHS, space=_space)

    rule:
        name:
            harness_plan.rule_name(_group)
        input:
            data=DATASET,
            archs=_archs,
            all_archs=[res(P.ALL_ARCHS, space=_space)] if _every else [],
            supernets=[run_path(P.TRAIN_RECORD, s) for s in _trained],
        output:
            scores=[run_path(P.SCORES if s["stage"] == "score" else P.ALL_SCORES, s) for s in _group["runs"]],
            records=[run_path(P.SCORING_RECORD if s["stage"] == "score" else P.ALL_SCORING_RECORD, s)
                     for s in _group["runs"]],
        params:
            spec=harness_plan.stable_json(_group),
            options=(f" --all-archs {res(P.ALL_ARCHS, space=_space)}" if _every else "")
            + (" --supernet-dir " + " ".join(run_path(P.SUPERNET_DIR, s) for s in _trained) if _trained else ""),
        threads: config["threads"]
        conda:
            CONDA_ENV
        log:
            res(f"logs/{_space}/{_group['stage']}.log"),
        benchmark:
            res(f"benchmarks/{_space}/{_group['stage']}.tsv")
        shell:
            "\"$HARNESS_PYTHON\" -m harness score --spec {params.spec:q} --data {input.data} --archs {input.archs}{params.options}"
            " --output {output.scores} --record {output.records} --threads {threads} > {log} 2>&1"
