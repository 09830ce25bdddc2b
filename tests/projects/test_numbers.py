"""quorum.lib.numbers.percent: shares as pages show them."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.lib.numbers import percent


@pytest.mark.parametrize(("share", "shown"), [(0, "0%"), (0.0013, "0.13%"), (0.002, "0.2%"), (0.0747, "7.5%"),
                                              (0.2, "20%"), (1.0, "100%"), (1e-9, "<0.0001%")])
def test_percent_reads_at_a_glance(share, shown):
    assert percent(share) == shown


@given(st.floats(min_value=1e-6, max_value=1.0))
def test_a_non_zero_share_is_never_shown_as_zero_and_stays_within_five_percent(share):
    shown = percent(share)
    assert shown != "0%"
    assert float(shown.rstrip("%")) == pytest.approx(share * 100, rel=0.05)
