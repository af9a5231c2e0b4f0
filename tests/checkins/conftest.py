from datetime import timedelta

import pytest

from tests.factories import backdated_revision, item_draft


@pytest.fixture
def routine(patient_a, derm, now):
    """A plan effective 30 days before ``now``: cleanser morning+evening (2 steps) and a nightly
    retinoid. It holds the clock at ``now``, so the pages a test opens see the same day."""
    return backdated_revision(
        patient_a, author=derm, number=1,
        effective_from=patient_a.local_date(now) - timedelta(days=30),
        items=[
            item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both", position=1),
            item_draft(name="Adapalene 0.1% gel", position=2),
        ],
    )


def steps_of(revision):
    """(item_id, slot) of the 3 daily steps."""
    cleanser = revision.items.get(name="Gentle cleanser")
    retinoid = revision.items.get(name="Adapalene 0.1% gel")
    return cleanser, retinoid
