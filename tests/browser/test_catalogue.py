"""A dermatologist on a desktop (1366x900): the catalogue with the demo's products, searched
by type; a CSV import with a mistake, refused row by row with nothing saved; a template page,
a step moved up with the keyboard. Every page axe-clean (BROWSER_SCREENSHOTS=<folder> keeps a
screenshot of each)."""

import re

import pytest

from catalogue.models import CatalogueItem
from demo.seed.catalogue import seed_catalogue
from tests.browser.conftest import assert_no_axe_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
BAD_CSV = ("name,kind,monthly_cost,pregnancy_unsafe\n"
           "Gentle foaming cleanser,skincare,6.00,no\n"
           "Salicylic acid 2% wash,cleanser,5.50,no\n"
           "Tretinoin 0.05% cream,topical,\"16,00\",perhaps\n")


def test_catalogue_import_and_template_pages(live_server, browser, derm, tmp_path):
    # given
    clinic = derm.membership.clinic
    seed_catalogue(clinic)
    before = sorted(CatalogueItem.objects.filter(clinic=clinic)
                    .values_list("name", "monthly_cost"))
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, derm.email)
    # when: the catalogue, from the navigation, searched by type
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    page.wait_for_url(re.compile(r"/clinic/catalogue/$"))
    assert_no_axe_violations(page)
    page.get_by_label("Type").select_option(label="Oral medication")
    page.get_by_role("button", name="Search").click()
    # then
    page.wait_for_url(re.compile(r"kind=oral"))
    assert page.locator("table.catalogue tbody tr").count() == 7
    assert page.get_by_role("rowheader", name=re.compile("Isotretinoin")).is_visible()
    # when: a file with mistakes on rows 3 and 4
    page.get_by_role("link", name="Import from CSV").click()
    csv_file = tmp_path / "catalogue.csv"
    csv_file.write_text(BAD_CSV, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check and import").click()
    # then
    alert = page.get_by_role("alert")
    assert "Nothing was saved: the file has 3 problems." in alert.inner_text()
    assert "Row 3: kind “cleanser” is not one of" in alert.inner_text()
    assert "Row 4: monthly_cost “16,00”" in alert.inner_text()
    assert_no_axe_violations(page)
    assert sorted(CatalogueItem.objects.filter(clinic=clinic)
                  .values_list("name", "monthly_cost")) == before
    # when: a template, its retinoid moved up with the keyboard
    page.goto(f"{live_server.url}/clinic/templates/")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Acne starter").click()
    assert page.get_by_text("£33.50").first.is_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Move up Adapalene 0.1% gel (generic)").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # then
    order = page.locator("ol.step-order .step-order-name").all_inner_texts()
    assert order.index("Adapalene 0.1% gel (generic)") == 3
    page.context.close()
