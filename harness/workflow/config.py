"""Validated run configuration: config/schema.yaml is the single description of every key.

The Snakefile validates with snakemake's `validate`; commands re-validate the resolved
run_config.json with the same schema, so a command run by hand gets the same checks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator, validators

from harness.errors import HarnessError
from harness.io import read_json

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"  # repository root/config


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _with_defaults(validator_class: type) -> type:
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultingValidator = _with_defaults(Draft202012Validator)


def validate_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return a defaulted copy of `raw`; raise HarnessError naming the first bad key."""
    config = copy.deepcopy(dict(raw))
    errors = sorted(_DefaultingValidator(load_schema()).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        raise HarnessError(_describe(errors[0]))
    check_consistency(config)
    return config


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        return f"config: unknown key in {where}: {error.message}. See config/schema.yaml for the allowed keys."
    return f"config key {where}: {error.message}. See config/schema.yaml for its type and range."


def check_consistency(config: Mapping[str, Any]) -> None:
    """Checks that span several keys (the schema checks each key alone)."""
    from methods import resolve
    from harness.spaces import space_names

    for space in config["spaces"]:
        if space not in space_names():
            raise HarnessError(f"config key spaces: unknown space {space!r}; known: {', '.join(space_names())}")
    from harness.workflow.runs import configured_space

    for space in config["archs"]["spaces"] or config["spaces"]:
        size = configured_space(config, space).size()
        if config["archs"]["count"] > size:
            raise HarnessError(f"config key archs.count = {config['archs']['count']} but space {space} has only "
                               f"{size} architectures; lower archs.count")
    for name in config["methods"]:
        method = resolve(name, config["method_variants"], config["method_options"])
        for space, knobs in method.space_knobs.items():
            if space not in config["spaces"]:
                raise HarnessError(f"method {name!r}: space_knobs names space {space!r}, which this config does not run")
            configured_space(config, space, knobs)  # unknown or bad knobs fail here, naming them
    for key, names in (("archs.spaces", config["archs"]["spaces"] or []),
                       ("search.spaces", config["search"]["spaces"]),
                       ("supernet.space_epochs", config["supernet"]["space_epochs"]),
                       ("groundtruth.space_epochs", config["groundtruth"]["space_epochs"])):
        unknown = sorted(set(names) - set(config["spaces"]))
        if unknown:
            raise HarnessError(f"config key {key} names space(s) {unknown} that are not in spaces "
                               f"({', '.join(config['spaces'])}); add them to spaces or remove them")
    search = config["search"]
    unknown = sorted(set(search["methods"] or []) - set(config["methods"]))
    if unknown and search["spaces"]:
        raise HarnessError(f"config key search.methods names method(s) {unknown} that are not in methods; add them there")
    if search["mutations"] + search["crossovers"] > search["population"] or search["parents"] > search["population"]:
        raise HarnessError("config key search: mutations + crossovers and parents must each fit in the population "
                           f"({search['population']}); lower them or raise search.population")
    from harness.workflow.runs import SEED_KINDS
    from methods import registry

    known = set(SEED_KINDS) | set(registry()) | set(config["method_variants"])
    unknown = sorted(set(config["nats_bench"]["sample"]) - known)
    if unknown:
        raise HarnessError(f"config key nats_bench.sample names {unknown}: neither a kind of method "
                           f"({', '.join(SEED_KINDS)}) nor a method (registered or a method_variants entry)")
    if config["groundtruth"]["repeat_archs"] > config["archs"]["count"]:
        raise HarnessError(
            f"config key groundtruth.repeat_archs ({config['groundtruth']['repeat_archs']}) exceeds "
            f"archs.count ({config['archs']['count']}); lower it or sample more architectures."
        )


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a run config (JSON as written by the workflow, or YAML)."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"config file {path} does not exist; run the workflow (snakemake) or pass an existing --config")
    raw = read_json(path) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    return validate_config(raw or {})
