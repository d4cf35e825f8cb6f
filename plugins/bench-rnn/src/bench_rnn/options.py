"""Checks a model's options before anything is built, so a bad value fails in one line, naming it.

No torch here: the checks run when a model is built, before the trainer starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.api import BenchError

OUTPUTS = ("exp", "sigmoid")
NORMS = ("pre", "post")  # where the RoBERTa layer normalises: each block's input, or after each residual sum


def _fail(model: str, key: str, expected: str, value: Any) -> BenchError:
    return BenchError(f"model '{model}': option '{key}' must be {expected}, got {value!r}")


def positive_int(model: str, config: Mapping[str, Any], key: str) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(model, key, "a whole number >= 1", value)
    return value


def probability(model: str, config: Mapping[str, Any], key: str) -> float:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise _fail(model, key, "a number in [0, 1)", value)
    return float(value)


def positive_float(model: str, config: Mapping[str, Any], key: str) -> float:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _fail(model, key, "a number > 0", value)
    return float(value)


def flag(model: str, config: Mapping[str, Any], key: str) -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise _fail(model, key, "true or false", value)
    return value


def choice(model: str, config: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = config[key]
    if value not in choices:
        raise _fail(model, key, f"one of {', '.join(choices)}", value)
    return value


def heads_dividing(model: str, config: Mapping[str, Any], key: str, width: int) -> int:
    """Attention heads must split the encoder's width (the number of units) evenly."""
    heads = positive_int(model, config, key)
    if width % heads:
        divisors = ", ".join(str(d) for d in range(1, width + 1) if width % d == 0)
        raise BenchError(
            f"model '{model}': option '{key}' must divide the encoder width, the {width} held-in + held-out "
            f"units, got {heads} (divisors: {divisors})"
        )
    return heads
