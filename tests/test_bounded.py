"""Size limits that hold for what is read, whatever the input reports about its size."""

from __future__ import annotations

import io

import pytest

from formsengine.bounded import TooLarge, bounded_lines, read_bounded


def test_read_bounded_reads_at_most_one_byte_past_the_limit(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 10)
    assert read_bounded(f, 10) == b"x" * 10
    with pytest.raises(TooLarge, match="limit of 9 bytes"):
        read_bounded(f, 9)


def test_bounded_lines_skips_a_long_line_and_goes_on():
    data = b"short\n" + b"y" * 50 + b"\n" + b"z" * 25 + b"\nlast"
    out = list(bounded_lines(io.BytesIO(data), max_line=10, max_total=1000))
    assert out == [(1, b"short\n"), (2, None), (3, None), (4, b"last")]


def test_bounded_lines_a_line_exactly_at_the_limit_is_kept():
    out = list(bounded_lines(io.BytesIO(b"a" * 10 + b"\n"), max_line=10, max_total=100))
    assert out == [(1, b"a" * 10 + b"\n")]


@pytest.mark.parametrize("data", [b"a\n" * 100, b"b" * 500, b"c" * 30 + b"\n" + b"d" * 300])
def test_bounded_lines_stops_past_the_total(data):
    with pytest.raises(TooLarge):
        list(bounded_lines(io.BytesIO(data), max_line=40, max_total=100))
