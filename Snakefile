# Reproduce BN-NAS vs its baselines: `snakemake --cores N` with config/config.yaml (CPU default);
# another config (--configfile config/paper.yaml) or profile (--profile profiles/slurm) scales it.
from snakemake.utils import min_version, validate

from harness.devices import export_jobs_per_gpu
from harness.workflow.config import check_consistency

min_version("9.0")


configfile: f"{workflow.basedir}/config/config.yaml"


validate(config, "config/schema.yaml")
check_consistency(config)  # checks across keys (spaces, methods, sizes), as every command does
export_jobs_per_gpu(config["jobs_per_gpu"])  # local jobs inherit HARNESS_JOBS_PER_GPU (harness/devices.py)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/supernet.smk"
include: "rules/groundtruth.smk"
include: "rules/search.smk"
include: "rules/report.smk"


rule all:
    input:
        report_targets(),
    default_target: True
