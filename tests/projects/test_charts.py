"""Charts stay readable: every text at least 11 px, curves use the width, tick labels never overlap."""
import re

from quorum.lib import charts


def _all_charts():
    return [
        charts.grouped_bars(["a", "b"], [("given", [3, 4]), ("final", [2, 5])], title="classes"),
        charts.accuracy_bars([("night", 0.7, 120, True), ("day", 0.9, 300, False)], title="slices", reference=0.85),
        charts.heatmap([[5, 1, 0] * 4] * 12, [f"label {i}" for i in range(12)], title="confusion"),
        charts.histogram(list(range(50)), [i / 50 for i in range(51)], title="quality", xlabel="score"),
        charts.line_chart([(950, 0.91), (1000, 0.93)], title="curve", xlabel="labels", ylabel="accuracy"),
    ]


def test_no_text_is_smaller_than_11_px():
    for svg in _all_charts():
        sizes = [int(v) for v in re.findall(r'font-size="(\d+)"', str(svg))]
        assert sizes and min(sizes) >= 11, (svg[:80], sizes)


def test_a_learning_curve_of_late_versions_spans_the_plot_not_its_right_edge():
    svg = str(charts.line_chart([(950, 0.91), (1000, 0.93)], title="t", xlabel="labels", ylabel="accuracy"))
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert xs[1] - xs[0] > 400  # of a 570 px plot; 0..1000 put them 29 px apart
    ticks = re.findall(r'font-size="11">([\d,]+)</text>', svg)
    assert ticks[0] != "0" and ticks[-1] != "0"


def test_histogram_tick_labels_are_far_enough_apart_not_to_overlap():
    svg = str(charts.histogram(list(range(50)), [i / 50 for i in range(51)], title="q", xlabel="score"))
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" fill="[^"]+" '
                                       r'font-size="11">', svg)]
    assert len(xs) >= 5 and min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 40


def test_the_class_chart_leaves_out_a_source_with_no_label_and_keeps_each_sources_colour():
    from health.views import _health_charts

    classes = {"labels": ["cat", "dog"], "given": [40, 38], "human": [0, 0], "final": [40, 38], "rare": []}
    svg = str(_health_charts({"classes": classes})["classes"])
    assert "human" not in svg and "given" in svg  # no annotator has labeled yet: no row of zero bars
    final_bars = re.findall(r'fill="([^"]+)"><title>cat · final', svg)
    assert final_bars == [charts.SERIES[2]]  # "final" keeps its colour with "human" gone
    svg = str(_health_charts({"classes": {**classes, "human": [3, 0]}})["classes"])
    assert "cat · human: 3" in svg and re.findall(r'fill="([^"]+)"><title>cat · human', svg) == [charts.SERIES[1]]
