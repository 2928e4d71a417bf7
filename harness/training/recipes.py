"""Supernet training recipes: the config's shared one (SPOS, FairNAS) and BN-NAS's official one.

A method names its recipe (Method.recipe), one of RECIPES, a registry (harness.registry): a
recipe is a function (the config's SupernetRecipe) -> (the recipe to train with, the record of
how it was derived), added with `@register_recipe("name")` or by an installed package under the
entry-point group `bnnas_harness.recipes`.
    spos      the config's `supernet` section as written (default: SGD Nesterov 0.9, lr 0.1
              cosine, gradient clipping by norm).
    official  the BN-NAS code's optimiser (bychen515/BNNAS): SGD momentum 0.9
              (not Nesterov), lr 0.25 decayed linearly to 5e-4 at batch 512, no weight decay on
              BN, gradient clipping by VALUE at 5, label smoothing 0.1. The harness keeps the
              configured batch size (the machine's) and scales lr and min_lr linearly by
              batch_size / 512 (Goyal et al.'s linear scaling rule); both the paper values and
              the scaling applied are recorded in train.json.
Epochs, batch size, curve points and the weight decay of conv/linear weights (never applied to
BN, see harness.training.optim.make_sgd; irrelevant when only BN trains) stay the config's in both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from harness.errors import HarnessError
from harness.registry import Registry

CLIP_MODES = ("norm", "value")

# The BN-NAS code's optimiser, at its own batch size.
OFFICIAL_BNNAS: dict[str, Any] = {
    "batch_size": 512, "lr": 0.25, "min_lr": 5e-4, "lr_schedule": "linear", "momentum": 0.9,
    "nesterov": False, "bn_weight_decay": 0.0, "grad_clip": 5.0, "grad_clip_mode": "value",
    "label_smoothing": 0.1,
}


@dataclass(frozen=True)
class SupernetRecipe:
    epochs: float
    batch_size: int
    lr: float
    lr_schedule: str
    min_lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    label_smoothing: float
    grad_clip: float | None
    curve_points: int
    grad_clip_mode: str = "norm"  # norm: clip_grad_norm_; value: clip_grad_value_ (BN-NAS code)

    def __post_init__(self) -> None:
        if self.grad_clip_mode not in CLIP_MODES:
            raise HarnessError(f"grad_clip_mode {self.grad_clip_mode!r}; use one of {CLIP_MODES}")

    @classmethod
    def from_dict(cls, section: dict[str, Any]) -> "SupernetRecipe":
        return cls(**{f.name: section[f.name] for f in fields(cls) if f.name in section})

    @classmethod
    def for_space(cls, section: dict[str, Any], space: str) -> "SupernetRecipe":
        """The config's recipe with the space's baseline epochs (supernet.space_epochs)."""
        return cls.from_dict({**section, "epochs": section["space_epochs"].get(space, section["epochs"])})


Recipe = Callable[[SupernetRecipe], tuple[SupernetRecipe, dict[str, Any]]]
RECIPES: Registry[Recipe] = Registry(
    "supernet recipe", group="bnnas_harness.recipes",
    how_to_add="Register one with @register_recipe(\"name\") (harness.training.recipes), or in an installed "
               "package's entry point in group bnnas_harness.recipes.",
)
register_recipe = RECIPES.register


def recipe_for(name: str, shared: SupernetRecipe) -> tuple[SupernetRecipe, dict[str, Any]]:
    """The recipe a method's `recipe` part `name` trains with, and the record of how it was derived."""
    return RECIPES.get(name)(shared)


@register_recipe("spos")
def config_recipe(shared: SupernetRecipe) -> tuple[SupernetRecipe, dict[str, Any]]:
    """The config's `supernet` section as written (SPOS, FairNAS)."""
    return shared, {"name": "spos", "source": "config supernet section"}


@register_recipe("official")
def official_bnnas_recipe(shared: SupernetRecipe) -> tuple[SupernetRecipe, dict[str, Any]]:
    """The BN-NAS code's optimiser, lr and min_lr scaled linearly to the configured batch size."""
    scale = shared.batch_size / OFFICIAL_BNNAS["batch_size"]
    recipe = dataclasses.replace(
        shared, lr=OFFICIAL_BNNAS["lr"] * scale, min_lr=OFFICIAL_BNNAS["min_lr"] * scale,
        lr_schedule=OFFICIAL_BNNAS["lr_schedule"], momentum=OFFICIAL_BNNAS["momentum"],
        nesterov=OFFICIAL_BNNAS["nesterov"], grad_clip=OFFICIAL_BNNAS["grad_clip"],
        grad_clip_mode=OFFICIAL_BNNAS["grad_clip_mode"], label_smoothing=OFFICIAL_BNNAS["label_smoothing"],
    )
    return recipe, {
        "name": "official", "source": "BN-NAS official code (bychen515/BNNAS)", "paper": dict(OFFICIAL_BNNAS),
        "batch_size": shared.batch_size, "lr_scale": scale,
        "scaling": f"linear: lr and min_lr x batch_size / {OFFICIAL_BNNAS['batch_size']} = {scale:g}",
    }
