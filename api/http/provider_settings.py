"""The red/black list's settings from the environment (红黑榜参数): weights and thresholds.

Defaults: docs/adr/0091-provider-score.md (metrics.md). Each variable is optional:
``YISHI_PROVIDER_WEIGHTS`` (seven numbers separated by commas, in metrics.md's order,
summing to 1), ``YISHI_PROVIDER_MIN_ORDERS``, ``YISHI_PROVIDER_RED_MIN``,
``YISHI_PROVIDER_BLACK_BELOW``, ``YISHI_PROVIDER_LIST_SIZE``, ``YISHI_PROVIDER_ACCEPT_HOURS``.
A bad value is a ``ConfigError`` naming the variable.
"""

from __future__ import annotations

import os

from domain.config import ConfigError
from domain.providers.config import ProviderRules


def _number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None


def provider_rules_env() -> ProviderRules:
    """The rules the environment sets (the defaults where it sets nothing)."""
    defaults = ProviderRules()
    weights = defaults.weights
    text = os.environ.get("YISHI_PROVIDER_WEIGHTS", "").strip()
    try:
        if text:
            weights = ProviderRules.parse_weights(text)
        return ProviderRules(
            weights=weights,
            min_orders=int(_number("YISHI_PROVIDER_MIN_ORDERS", defaults.min_orders)),
            red_min=_number("YISHI_PROVIDER_RED_MIN", defaults.red_min),
            black_below=_number("YISHI_PROVIDER_BLACK_BELOW", defaults.black_below),
            list_size=int(_number("YISHI_PROVIDER_LIST_SIZE", defaults.list_size)),
            acceptance_hours=_number("YISHI_PROVIDER_ACCEPT_HOURS", defaults.acceptance_hours),
        )
    except ValueError as error:
        raise ConfigError(f"the red/black list settings (YISHI_PROVIDER_*): {error}") from None
