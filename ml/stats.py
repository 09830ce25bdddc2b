"""Small statistics helpers: confidence intervals for proportions."""
from __future__ import annotations

import math


def wilson_interval(successes: int, n: int, *, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; default z gives 95 %.

    Returns (low, high) in [0, 1]; (0.0, 1.0) when ``n`` is 0 (nothing is known).
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def stratified_allocation(sizes: list[int], total: int) -> list[int]:
    """Split a sample of ``total`` over strata of the given ``sizes``: proportional (largest remainder), at
    least one per non-empty stratum when ``total`` allows, never more than a stratum holds.
    """
    if total < 0:
        raise ValueError("sample size must be >= 0")
    population = sum(sizes)
    total = min(total, population)
    if total == 0:
        return [0] * len(sizes)
    alloc = [0] * len(sizes)
    nonempty = [i for i, s in enumerate(sizes) if s > 0]
    if total >= len(nonempty):
        for i in nonempty:
            alloc[i] = 1
    remaining = total - sum(alloc)
    if remaining > 0:
        quotas = [(total * s / population) - alloc[i] for i, s in enumerate(sizes)]
        floors = [max(0, min(int(math.floor(q)), sizes[i] - alloc[i])) for i, q in enumerate(quotas)]
        floors_total = sum(floors)
        if floors_total > remaining:
            floors = [0] * len(sizes)
        for i, f in enumerate(floors):
            alloc[i] += f
        remaining = total - sum(alloc)
        order = sorted(range(len(sizes)), key=lambda i: -(quotas[i] - floors[i]))
        while remaining > 0:
            progressed = False
            for i in order:
                if remaining and alloc[i] < sizes[i]:
                    alloc[i] += 1
                    remaining -= 1
                    progressed = True
            if not progressed:
                break
    return alloc


def proportion_estimate(*, correct: int, n: int) -> dict:
    """{n, correct, accuracy, low, high}: a share with its 95 % Wilson interval (accuracy None when n is 0).

    Keyword-only, so the two counts cannot be swapped (two hand-written copies took them in opposite orders).
    """
    low, high = wilson_interval(correct, n)
    return {"n": n, "correct": correct, "accuracy": correct / n if n else None, "low": low, "high": high}
