import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Clinic, ClinicMembership, Patient, User
from accounts.selectors import role_of
from demo.seed import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_three_demo_logins_and_a_cohort():
    # when
    call_command("seed_demo")
    # then
    assert Clinic.objects.count() == 1
    assert Patient.objects.count() >= 31
    for email, role in [("patient@demo.test", "patient"), ("derm@demo.test", "dermatologist"),
                        ("staff@demo.test", "staff")]:
        user = authenticate(email=email, password=DEMO_PASSWORD)
        assert user is not None, email
        assert role_of(user) == role


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = (User.objects.count(), Patient.objects.count(), ClinicMembership.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Patient.objects.count(),
            ClinicMembership.objects.count()) == counts


def test_larger_cohort_is_bulk_inserted_with_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    call_command("seed_demo", patients=5)
    # 2,500 more patients x 3 tables: per-row inserts would take 7,500+ queries. SQLite splits
    # each bulk insert into batches of ~100 rows (its 999-variable limit), hence the headroom.
    # (The flag sweep is counted by its own tests; here only the seeding.) The recorded clinic
    # visits add one insert per 1,000 patients; the photo diary's second patient (number 8) a
    # handful. SQLite's batches shrink as a table gains columns (users' ``is_caregiver`` and
    # patients' ``date_of_birth`` took 226 queries from 219); the family adds one.
    with django_assert_max_num_queries(232):
        call_command("seed_demo", patients=2505, flags=False)
    assert Patient.objects.count() == 2506 + 2  # the family's two children (demo/seed/family.py)
    assert authenticate(email="patient02505@demo.test", password=DEMO_PASSWORD) is not None


def test_demo_patients_have_names_of_their_own():
    # given
    call_command("seed_demo", patients=700, no_flags=True, days=1)
    # when
    names = list(Patient.objects.values_list("user__first_name", "user__last_name"))
    # then
    assert len(names) == 701 + 2  # the family's two children
    assert len(set(names)) == len(names)
