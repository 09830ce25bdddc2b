"""Numbers as pages show them."""


def percent(fraction: float) -> str:
    """A share as a percentage people can read at a glance, with two significant digits below 10%:
    0.0013 -> "0.13%", 0.0747 -> "7.5%", 0.2 -> "20%", 0 -> "0%". Never rounds a non-zero share to "0%"."""
    value = float(fraction) * 100
    if value == 0:
        return "0%"
    if abs(value) >= 10:
        return f"{value:.0f}%"
    text = f"{value:.2g}"
    return "<0.0001%" if "e" in text else f"{text}%"  # an exponent only below 0.0001%
