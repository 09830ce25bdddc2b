"""Small server-rendered SVG charts (bars, heat map, histogram, line) for the health and model pages.

Every string that reaches the SVG goes through ``escape``; the result is marked safe for templates.
"""
from __future__ import annotations

import math

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

INK, MUTED, LINE, ACCENT = "#1c2330", "#5d6778", "#dfe3ea", "#2f5bd3"
SERIES = ["#9db4ee", "#f0b35b", ACCENT]  # given, human, final
FONT = 'font-family="system-ui, sans-serif"'


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.2f}"
    return f"{int(v):,}"


def _svg(width: int, height: int, body: list[str], title: str) -> SafeString:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px" role="img" aria-label="{escape(title)}" {FONT} font-size="12">'
            f"<title>{escape(title)}</title>")
    return mark_safe(head + "".join(body) + "</svg>")


def grouped_bars(categories: list[str], series: list[tuple[str, list[float]]], *, title: str,
                 highlight: set[int] | None = None, colours: list[str] | None = None) -> SafeString:
    """Horizontal bars: one row per category, one bar per series (e.g. given / human / final counts), coloured by
    ``colours`` (one per series; SERIES in order by default)."""
    highlight = highlight or set()
    colours = colours or [SERIES[s % len(SERIES)] for s in range(len(series))]
    label_w, width, bar_h, gap = 130, 640, 12, 10
    row_h = bar_h * len(series) + gap
    legend_h = 24
    height = legend_h + row_h * len(categories) + 6
    top = max((max(vals, default=0) for _, vals in series), default=0) or 1
    scale = (width - label_w - 60) / top
    body = []
    for s, (name, _) in enumerate(series):
        x = label_w + s * 110
        body.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colours[s]}"/>'
                    f'<text x="{x + 16}" y="14" fill="{MUTED}">{escape(name)}</text>')
    for i, cat in enumerate(categories):
        y0 = legend_h + i * row_h
        weight = ' font-weight="700"' if i in highlight else ""
        colour = "#c2362f" if i in highlight else INK
        body.append(f'<text x="{label_w - 8}" y="{y0 + row_h / 2}" text-anchor="end" dominant-baseline="middle" '
                    f'fill="{colour}"{weight}>{escape(cat[:18])}</text>')
        for s, (name, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else 0
            y = y0 + s * bar_h
            w = max(v * scale, 1 if v else 0)
            body.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" rx="2" '
                        f'fill="{colours[s]}"><title>{escape(cat)} · {escape(name)}: {_fmt(v)}</title></rect>'
                        f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" fill="{MUTED}" font-size="11">{_fmt(v)}</text>')
    return _svg(width, height, body, title)


def accuracy_bars(rows: list[tuple[str, float, int, bool]], *, title: str, reference: float | None = None) -> SafeString:
    """Horizontal bars of accuracy in [0, 1]: (label, accuracy, count, weak). A dashed line marks ``reference``."""
    label_w, width, bar_h = 170, 640, 18
    plot_w = width - label_w - 90
    height = 20 + bar_h * len(rows) + 4
    body = []
    for i, (label, acc, count, weak) in enumerate(rows):
        y = 16 + i * bar_h
        w = max(0.0, acc) * plot_w
        fill = "#c2362f" if weak else ACCENT
        body.append(f'<text x="{label_w - 8}" y="{y + bar_h / 2}" text-anchor="end" dominant-baseline="middle" '
                    f'fill="{INK}">{escape(label[:26])}</text>'
                    f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 5}" rx="2" fill="{fill}">'
                    f'<title>{escape(label)}: accuracy {acc:.2f} on {count:,} items</title></rect>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h / 2}" dominant-baseline="middle" fill="{MUTED}" '
                    f'font-size="11">{acc:.2f} · n={count:,}</text>')
    if reference is not None:
        x = label_w + reference * plot_w
        body.append(f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{height}" stroke="{INK}" stroke-dasharray="4 3"/>'
                    f'<text x="{x:.1f}" y="9" text-anchor="middle" fill="{MUTED}" font-size="11">overall {reference:.2f}</text>')
    return _svg(width, height, body, title)


def heatmap(matrix: list[list[int]], labels: list[str], *, title: str) -> SafeString:
    """Confusion matrix: rows are true labels, columns predicted; colour is the share of the row."""
    n = len(labels)
    cell = max(22, min(48, 420 // max(n, 1)))
    left, top = 110, 90
    width, height = left + cell * n + 10, top + cell * n + 10
    body = [f'<text x="{left + cell * n / 2}" y="14" text-anchor="middle" fill="{MUTED}">predicted →</text>',
            f'<text x="12" y="{top + cell * n / 2}" fill="{MUTED}" transform="rotate(-90 12 {top + cell * n / 2})" '
            f'text-anchor="middle">true label →</text>']
    for j, name in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(f'<text x="{x}" y="{top - 6}" fill="{INK}" transform="rotate(-45 {x} {top - 6})">{escape(name[:12])}</text>')
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        y = top + i * cell
        body.append(f'<text x="{left - 6}" y="{y + cell / 2}" text-anchor="end" dominant-baseline="middle" '
                    f'fill="{INK}">{escape(labels[i][:14])}</text>')
        for j, v in enumerate(row):
            share = v / total
            if i == j:
                fill = f"rgba(31,138,76,{0.12 + 0.85 * share:.2f})"
            else:
                fill = f"rgba(194,54,47,{min(1.0, 0.05 + 1.6 * share):.2f})" if v else "#f6f7f9"
            text_fill = "#fff" if share > 0.55 else INK
            body.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                        f'<title>true {escape(labels[i])}, predicted {escape(labels[j])}: {v:,} ({share:.0%} of the row)'
                        f'</title></rect>')
            if v:
                body.append(f'<text x="{left + j * cell + cell / 2}" y="{y + cell / 2}" text-anchor="middle" '
                            f'dominant-baseline="middle" font-size="11" fill="{text_fill}">{v}</text>')
    return _svg(width, height, body, title)


def histogram(counts: list[int], edges: list[float], *, title: str, xlabel: str) -> SafeString:
    """Vertical bars of a histogram with its bin edges on the x axis."""
    width, height, left, bottom = 640, 200, 44, 36
    plot_w, plot_h = width - left - 10, height - bottom - 12
    top = max(counts, default=0) or 1
    bw = plot_w / max(len(counts), 1)
    body = [f'<line x1="{left}" y1="{12 + plot_h}" x2="{width - 10}" y2="{12 + plot_h}" stroke="{LINE}"/>',
            f'<text x="{left - 6}" y="16" text-anchor="end" fill="{MUTED}" font-size="11">{top:,}</text>',
            f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" fill="{MUTED}">{escape(xlabel)}</text>']
    for i, v in enumerate(counts):
        h = plot_h * v / top
        x = left + i * bw
        body.append(f'<rect x="{x + 1:.1f}" y="{12 + plot_h - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="{ACCENT}">'
                    f'<title>{edges[i]:g}–{edges[i + 1]:g}: {v:,}</title></rect>')
    step = max(1, len(edges) // 6)
    for i in range(0, len(edges), step):
        x = left + i * bw
        body.append(f'<text x="{x:.1f}" y="{12 + plot_h + 14}" text-anchor="middle" fill="{MUTED}" font-size="11">{edges[i]:g}</text>')
    return _svg(width, height, body, title)


def _x_range(xs: list[float]) -> tuple[float, float]:
    """The x axis spans the data (not 0 to the largest x, which squeezed a curve of late versions into the right
    edge), padded by a tenth of the span, never below 0; one point gets a range around it."""
    if not xs:
        return 0.0, 1.0
    lo, hi = min(xs), max(xs)
    pad = (hi - lo) * 0.1 if hi > lo else max(1.0, abs(hi) * 0.1)
    return max(0.0, lo - pad), hi + pad


def line_chart(points: list[tuple[float, float]], *, title: str, xlabel: str, ylabel: str) -> SafeString:
    """A line with dots, y in [0, 1] (accuracy), x from 0 to the largest x (number of labels)."""
    width, height, left, bottom = 640, 240, 50, 40
    plot_w, plot_h = width - left - 20, height - bottom - 14
    xlo, xhi = _x_range([p[0] for p in points])
    ymin = min([0.5] + [p[1] for p in points])
    ymin = math.floor(ymin * 10) / 10
    sx = lambda x: left + 8 + (plot_w - 16) * (x - xlo) / (xhi - xlo)  # noqa: E731
    sy = lambda y: 14 + plot_h * (1 - (y - ymin) / (1 - ymin or 1))  # noqa: E731
    body = [f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" fill="{MUTED}">{escape(xlabel)}</text>',
            f'<text x="12" y="{14 + plot_h / 2}" fill="{MUTED}" transform="rotate(-90 12 {14 + plot_h / 2})" '
            f'text-anchor="middle">{escape(ylabel)}</text>']
    for k in range(int(round((1 - ymin) * 10)) + 1):
        y = ymin + k / 10
        body.append(f'<line x1="{left}" y1="{sy(y):.1f}" x2="{left + plot_w}" y2="{sy(y):.1f}" stroke="{LINE}"/>'
                    f'<text x="{left - 6}" y="{sy(y):.1f}" text-anchor="end" dominant-baseline="middle" fill="{MUTED}" '
                    f'font-size="11">{y:.1f}</text>')
    for frac in (0, 0.25, 0.5, 0.75, 1):
        x = xlo + frac * (xhi - xlo)
        body.append(f'<text x="{sx(x):.1f}" y="{14 + plot_h + 16}" text-anchor="middle" fill="{MUTED}" '
                    f'font-size="11">{int(round(x)):,}</text>')
    pts = sorted(points)
    if len(pts) > 1:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for x, y in pts:
        body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{ACCENT}"><title>{int(x):,} labels: '
                    f'accuracy {y:.3f}</title></circle>')
    return _svg(width, height, body, title)
