"""CSV export and import: the same catalogue back, nothing saved from a file with any error,
and each problem named by its row."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalogue import csv_io
from catalogue.models import CatalogueItem
from catalogue.services import catalogue_import
from tests.factories import CatalogueItemFactory

pytestmark = pytest.mark.django_db

FIELDS = ("name", "kind", "instructions", "time_of_day", "frequency", "weekdays",
          "every_n_days", "minutes", "monthly_cost", "contains_fragrance", "animal_derived",
          "pregnancy_unsafe", "active")


def snapshot(clinic):
    return sorted(
        (*(getattr(item, f) for f in FIELDS),
         item.generic_alternative.name if item.generic_alternative else None)
        for item in CatalogueItem.objects.filter(clinic=clinic)
    )


def upload(client, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("catalogue_import"),
                       {"file": SimpleUploadedFile("catalogue.csv", data, "text/csv")})


@pytest.fixture
def catalogue(clinic):
    generic = CatalogueItemFactory(clinic=clinic, name="Tacrolimus 0.1% ointment (generic)",
                                   monthly_cost=Decimal("35.00"))
    CatalogueItemFactory(clinic=clinic, name="Tacrolimus 0.1% ointment (original brand)",
                         monthly_cost=Decimal("58.00"), generic_alternative=generic,
                         instructions='Thin layer, "where it flares", twice a week',
                         frequency="weekdays", weekdays="03")
    CatalogueItemFactory(clinic=clinic, name="Methotrexate 2.5 mg tablets", kind="oral",
                         pregnancy_unsafe=True, time_of_day="morning", frequency="weekdays",
                         weekdays="0", monthly_cost=Decimal("9.90"))
    CatalogueItemFactory(clinic=clinic, name="Dupilumab pen", kind="injection",
                         frequency="every_n_days", every_n_days=14, minutes=5,
                         monthly_cost=Decimal("0"), active=False)
    CatalogueItemFactory(clinic=clinic, name="Coal tar shampoo", contains_fragrance=True,
                         animal_derived=True, time_of_day="both", minutes=0)
    return snapshot(clinic)


def test_export_then_import_into_another_clinic_gives_the_same_catalogue(
        client, catalogue, clinic, other_clinic, other_derm):
    # given
    exported = csv_io.export_csv(CatalogueItem.objects.filter(clinic=clinic))
    client.force_login(other_derm)
    # when
    response = upload(client, exported)
    # then
    assert response.status_code == 302
    assert snapshot(other_clinic) == catalogue


def test_export_then_import_into_the_same_clinic_changes_nothing(client, catalogue, clinic,
                                                                 derm):
    # given
    client.force_login(derm)
    exported = client.get(reverse("catalogue_export"))
    assert exported["Content-Type"].startswith("text/csv")
    # when
    response = upload(client, exported.content)
    # then
    assert response.status_code == 302
    assert snapshot(clinic) == catalogue
    assert CatalogueItem.objects.filter(clinic=clinic).count() == 5


def test_import_updates_by_name_in_any_capitals_and_adds_new_items(client, catalogue, clinic,
                                                                   derm):
    # given
    client.force_login(derm)
    text = ("name,monthly_cost,pregnancy_unsafe\n"
            "METHOTREXATE 2.5 MG TABLETS,8.50,yes\n"
            "Folic acid 5 mg tablets,2,no\n")
    # when
    response = upload(client, text.replace("pregnancy_unsafe\n", "pregnancy_unsafe,kind\n")
                      .replace("yes\n", "yes,oral\n").replace("no\n", "no,oral\n"))
    # then
    assert response.status_code == 302
    methotrexate = CatalogueItem.objects.get(clinic=clinic, name__iexact="methotrexate 2.5 mg "
                                                                         "tablets")
    assert methotrexate.monthly_cost == Decimal("8.50")
    assert methotrexate.weekdays == "0"  # a column left out keeps its value
    folic = CatalogueItem.objects.get(clinic=clinic, name="Folic acid 5 mg tablets")
    assert (folic.kind, folic.monthly_cost, folic.active) == ("oral", Decimal("2.00"), True)


BAD_FILE = (
    "name,kind,time_of_day,frequency,weekdays,minutes,monthly_cost,generic_alternative,"
    "contains_fragrance\n"
    "Urea 10% cream,skincare,evening,daily,,2,8.00,,no\n"
    "Cream two,lotion,evening,daily,,2,8.00,,no\n"
    "Cream three,topical,noon,daily,,2,\"8,50\",,maybe\n"
    "Cream four,topical,evening,weekdays,,2,4.00,,no\n"
    "Urea 10% CREAM,skincare,evening,daily,,2,8.00,,no\n"
    "Cream six,topical,evening,daily,,2,5.00,Unknown cream,no\n"
)


def test_a_file_with_errors_saves_nothing_and_names_each_row(client, catalogue, clinic, derm):
    # given
    client.force_login(derm)
    # when
    response = upload(client, BAD_FILE)
    # then
    assert response.status_code == 400
    errors = response.context["parsed"].errors
    assert [e.split(":")[0] for e in errors] == [
        "Row 3", "Row 4", "Row 4", "Row 4", "Row 5", "Row 6", "Row 7"]
    assert "kind “lotion” is not one of: skincare, topical" in errors[0]
    assert "must be an amount such as 12.50" in " ".join(errors)
    assert "must be yes or no" in " ".join(errors)
    assert "“Urea 10% CREAM” is already on row 2" in errors[5]
    assert "“Unknown cream” is neither in the file nor in the catalogue" in errors[6]
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert snapshot(clinic) == catalogue  # not even row 2, which was fine


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff\xfe n\x00a\x00", "not UTF-8"),
    (b"title,kind\nA,topical\n", "must have a “name” column"),
    (b"name,colour\nA,red\n", "columns we do not know"),
    (b"name,kind\n", "no rows after the header"),
    (b"name,kind\nA,topical,extra\n", "Row 2: it has 3 cells"),
    (b"name\nBrand new cream\n", "Row 2: a new item needs its kind"),
])
def test_unreadable_files_are_refused_in_plain_words(client, catalogue, clinic, derm, data,
                                                     message):
    client.force_login(derm)
    response = upload(client, data)
    assert response.status_code == 400
    assert message in " ".join(response.context["parsed"].errors)
    assert snapshot(clinic) == catalogue


def test_the_service_refuses_a_file_with_errors(clinic, derm):
    parsed = csv_io.parse_csv(b"name,kind\nA,nonsense\n", existing={})
    with pytest.raises(ValueError, match="saves nothing"):
        catalogue_import(clinic=clinic, actor=derm, parsed=parsed)
    assert not CatalogueItem.objects.exists()


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_exported_as_text_and_read_back(
        clinic, other_clinic, derm, other_derm):
    # given
    CatalogueItemFactory(clinic=clinic, name="=HYPERLINK(\"http://x.test\")",
                         instructions="-1 pump, then +1 a week")
    # when
    exported = csv_io.export_csv(CatalogueItem.objects.filter(clinic=clinic))
    parsed = csv_io.parse_csv(exported.encode(), existing={})
    catalogue_import(clinic=other_clinic, actor=other_derm, parsed=parsed)
    # then
    assert "\r\n\"'=HYPERLINK(" in exported
    assert ',"\'-1 pump' in exported
    assert snapshot(other_clinic) == snapshot(clinic)
