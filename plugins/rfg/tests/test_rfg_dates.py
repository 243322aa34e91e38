import datetime as dt

import pytest
from formsengine_rfg.dates import add_months, months_since, parse_iso_date

D = dt.date.fromisoformat


@pytest.mark.parametrize("day, months, expected", [
    ("2024-03-31", -1, "2024-02-29"),   # leap year: clamped to the month's last day
    ("2023-03-31", -1, "2023-02-28"),
    ("2024-01-15", -1, "2023-12-15"),
    ("2024-01-31", 1, "2024-02-29"),
    ("2024-06-30", -36, "2021-06-30"),
    ("2024-06-30", 0, "2024-06-30"),
    ("2024-12-31", 13, "2026-01-31"),
])
def test_add_months(day, months, expected):
    assert add_months(D(day), months) == D(expected)


@pytest.mark.parametrize("earlier, as_of, expected", [
    ("2024-06-30", "2024-06-30", 0),    # on the as-of date
    ("2024-06-29", "2024-06-30", 1),    # yesterday: within the last month
    ("2024-05-30", "2024-06-30", 1),    # exactly one month before: still within one month
    ("2024-05-29", "2024-06-30", 2),    # one day more: within two months
    ("2024-02-29", "2024-03-31", 1),    # 31 March minus one month is 29 February
    ("2024-02-28", "2024-03-31", 2),
    ("2021-06-30", "2024-06-30", 36),
    ("2021-06-29", "2024-06-30", 37),
    ("2024-01-15", "2024-03-20", 3),    # 2 months and 5 days
])
def test_months_since(earlier, as_of, expected):
    assert months_since(D(earlier), D(as_of)) == expected


def test_months_since_refuses_a_later_date():
    with pytest.raises(ValueError):
        months_since(D("2024-07-01"), D("2024-06-30"))


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-01", "20240101", "2024-1-01",
                                  "01/02/2024", "", "２０２４-01-01", " 2024-01-01",
                                  "0201-01-01", "3024-01-01"])
def test_parse_iso_date_refuses(text):
    with pytest.raises(ValueError):
        parse_iso_date(text)
