"""Dates, money and plan schedules in the reader's language."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from careplans.money import money
from checkins.charts import day_label


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Wed 25 Nov"), ("es", "mié 25 nov"), ("de", "Mi, 25. Nov"),
])
def test_chart_days_use_the_languages_own_names(language, expected):
    # when
    with translation.override(language):
        label = day_label(date(2026, 11, 25))
    # then
    assert label == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "£1,234.50"), ("es", "1.234,50\xa0GBP"), ("de", "1.234,50\xa0£"),
])
def test_money_follows_the_readers_locale(language, expected):
    # when
    with translation.override(language):
        shown = money(Decimal("1234.50"), "GBP")
    # then
    assert shown == expected


def test_an_amount_not_given_reads_so_in_the_readers_language():
    # when
    with translation.override("es"):
        shown = money(None, "EUR")
    # then
    assert shown == "aún sin indicar"
