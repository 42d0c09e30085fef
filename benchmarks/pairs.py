"""What every paired benchmark reports: the median of the product/baseline ratios of its pairs, so a
noisy machine slows both sides of a pair alike, and the medians of each side."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any


def measure_pairs(product: Callable[[], float], baseline: Callable[[], float],
                  runs: int, *, alternate: bool = False) -> tuple[list[float], list[float]]:
    """``runs`` pairs, product first in each (with ``alternate``, first in every other pair only: where
    the first of two runs is measurably slower, as whole processes are): the figures of each side."""
    products, baselines = [], []
    for i in range(runs):
        if alternate and i % 2:
            baselines.append(baseline())
            products.append(product())
        else:
            products.append(product())
            baselines.append(baseline())
    return products, baselines


def paired_result(products: list[float], baselines: list[float], unit: str, digits: int = 3) -> dict[str, Any]:
    """The figure of quality.md for pairs measured alternately: ``ratio`` is product over baseline."""
    ratio = statistics.median(p / b for p, b in zip(products, baselines, strict=True))
    return {"ratio": round(ratio, 3), "product": round(statistics.median(products), digits),
            "baseline": round(statistics.median(baselines), digits), "unit": unit, "runs": len(products)}
