"""Declare a zero-cost proxy next to its code: one file in methods/ holds both.

    @zero_cost_proxy(name="snip", stochastic=True)
    def snip_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        \"\"\"no supernet; score = sum |g * w| over conv/linear weights on one batch (sign: higher = better)\"\"\"
        x, y = one_batch(ctx, batch_size)
        return each_arch(ctx, archs, functools.partial(snip_score, x=x, y=y))

The decorated function is the method's scorer: (context, archs) and then its options as
keyword-only parameters. The declaration takes every fact from the function, once:

    options   the keyword-only parameters and their defaults (Method.options; config's
              method_options and method_variants override them by name)
    summary   the docstring's first paragraph (the method's one-line description)
    scorer    the function's name (recorded by Method.describe())

and the decorator's arguments say the rest: the method's `name`, its `kind` ("zero-cost", or
"trivial" for a structural count), whether it is `stochastic` (draws data, inputs or
initialisations: scored with several seeds) and `population_relative` (a score depends on the
architectures scored with it). The method is registered in harness.method.METHOD_REGISTRY.

The decorator returns the scorer the method calls, (ctx, archs) -> scores: it passes every
option from ctx.options (the score command puts the method's options there, over config's
`scoring` section), with no default of its own, so a value is declared in one place. The
undecorated function is its `__wrapped__`, the Method its `method`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.method import METHOD_REGISTRY, Method, ScoreContext
from harness.registry import call_site

ProxyFunction = Callable[..., np.ndarray]
PROXY_KINDS = ("zero-cost", "trivial")


def zero_cost_proxy(*, name: str, kind: str = "zero-cost", stochastic: bool = False,
                    population_relative: bool = False) -> Callable[[ProxyFunction], Callable[[ScoreContext, np.ndarray], np.ndarray]]:
    """Decorator: register the function as the scorer of a supernet-free method `name` (see the
    module docstring)."""
    if kind not in PROXY_KINDS:
        raise HarnessError(f"zero_cost_proxy {name!r}: kind {kind!r}; use one of {PROXY_KINDS}")
    where = call_site()

    def declare(function: ProxyFunction) -> Callable[[ScoreContext, np.ndarray], np.ndarray]:
        options = proxy_options(function, name)
        names = tuple(options)

        @functools.wraps(function)
        def scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
            missing = [option for option in names if option not in ctx.options]
            if missing:
                raise HarnessError(f"method {name!r}: option(s) {', '.join(missing)} missing from the scoring "
                                   f"context; pass the method's options (Method.options: {options})")
            return function(ctx, archs, **{option: ctx.options[option] for option in names})

        method = Method(name=name, summary=proxy_summary(function, name), scorer=scorer, sampler=None, kind=kind,
                        options=options, stochastic=stochastic, population_relative=population_relative)
        scorer.method = method  # type: ignore[attr-defined]
        METHOD_REGISTRY.add(name, method, where)
        return scorer

    return declare


def proxy_options(function: ProxyFunction, name: str) -> dict[str, Any]:
    """{option: default} of a proxy function: its keyword-only parameters. The first two
    parameters are the context and the architectures; every other one must be keyword-only with
    a default (the option's default)."""
    parameters = list(inspect.signature(function).parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    others = [p for p in parameters if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(positional) != 2 or others:
        raise HarnessError(f"zero_cost_proxy {name!r}: {function.__name__} must take (ctx, archs, *, option=default, "
                           "...): two positional parameters, then keyword-only options")
    options = {}
    for parameter in parameters[2:]:
        if parameter.default is inspect.Parameter.empty:
            raise HarnessError(f"zero_cost_proxy {name!r}: option {parameter.name!r} of {function.__name__} needs a "
                               "default (the method's default value)")
        options[parameter.name] = parameter.default
    return options


def proxy_summary(function: ProxyFunction, name: str) -> str:
    """The docstring's first paragraph on one line."""
    doc = inspect.getdoc(function)
    if not doc:
        raise HarnessError(f"zero_cost_proxy {name!r}: {function.__name__} needs a docstring (its first paragraph "
                           "is the method's summary, e.g. 'no supernet; score = ... (sign: higher = better)')")
    return " ".join(doc.split("\n\n")[0].split())
