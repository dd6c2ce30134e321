"""The rules of the red/black list as configuration (红黑榜参数): weights and thresholds.

metrics.md ("Providers") defines the figures; the defaults here are those of
docs/adr/0091-provider-score.md. The server reads overrides from the environment
(``api/http/settings.py``); nothing here reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The measures of the score, in metrics.md's order.
MEASURES: tuple[str, ...] = (
    "taken_on_time", "completed_on_time", "supervision_pass", "not_reopened",
    "satisfaction", "not_overdue", "community_rating",
)
DEFAULT_WEIGHTS: tuple[float, ...] = (0.15, 0.25, 0.15, 0.10, 0.20, 0.05, 0.10)


@dataclass(frozen=True)
class ProviderRules:
    """``weights``: one per ``MEASURES`` entry, non-negative, summing to 1 (within 1e-6).
    ``min_orders``: fewer orders in the month are listed, not ranked. ``red_min``: a red
    list score is at least this; ``black_below``: a black list score is below this;
    ``list_size``: how many at most on each list. ``acceptance_hours``: the acceptance
    limit (领单时限) for "taken on time"."""

    weights: tuple[float, ...] = field(default=DEFAULT_WEIGHTS)
    min_orders: int = 5
    red_min: float = 90.0
    black_below: float = 70.0
    list_size: int = 3
    acceptance_hours: float = 24.0

    def __post_init__(self) -> None:
        if len(self.weights) != len(MEASURES):
            raise ValueError(f"{len(MEASURES)} weights are needed, one per measure")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1) > 1e-6:
            raise ValueError("weights are non-negative and sum to 1")
        if self.min_orders < 0 or self.list_size < 0 or self.acceptance_hours <= 0:
            raise ValueError("min_orders and list_size are >= 0, acceptance_hours > 0")
        if not 0 <= self.black_below <= 100 or not 0 <= self.red_min <= 100:
            raise ValueError("thresholds lie from 0 to 100")

    @classmethod
    def parse_weights(cls, text: str) -> tuple[float, ...]:
        """``"0.15,0.25,..."`` as weights (ValueError when not seven numbers)."""
        try:
            weights = tuple(float(part) for part in text.split(","))
        except ValueError:
            raise ValueError("weights are numbers separated by commas") from None
        return weights
