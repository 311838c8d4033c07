"""Reports in a real browser: correct two cells inline (mouse, then keyboard only), undo one,
and see the dashboard's counts follow. Screenshots go to the artifacts folder (see conftest)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from labeling.models import Label, ModelVersion
from labeling.selectors.category_index import category_index_clear
from labeling.services.review.labels import label_create
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, make_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()


@pytest.fixture
def catalog(version, tree, bob):
    entries = make_queue(version, tree, n=6)
    for item, path in ((entries[4].item, SHIRTS), (entries[5].item, TSHIRTS)):
        newest = label_create(
            item=item, category=tree[path], author=bob, source="review", is_audit=True
        ).created_at
    ModelVersion.objects.filter(status="active").update(
        newest_label_at=newest,
        promoted_at=newest + timedelta(minutes=7),
        label_count=120,
        metrics={
            "n_audit": 30,
            "leaf_accuracy": 0.71,
            "accuracy_by_depth": {"1": 0.93, "2": 0.84, "3": 0.71},
            "audit": {"leaf_accuracy": 0.74, "macro_f1": 0.62, "accuracy_by_depth": {"1": 0.95}},
        },
    )
    ModelVersion.objects.create(
        taxonomy_version=version,
        status="retired",
        label_count=40,
        metrics={"n_audit": 10, "audit": {"leaf_accuracy": 0.55, "macro_f1": 0.41}},
    )
    return [e.item for e in entries]


def reviewer_cells(page, live_server, who: str) -> dict[str, str]:
    """The dashboard's per-reviewer table row of ``who``, by column heading."""
    page.goto(f"{live_server.url}/dashboard/")
    row = page.locator("#table-per-reviewer tbody tr", has_text=who)
    if row.count() == 0:
        return {}
    head = page.locator("#table-per-reviewer thead th").all_text_contents()
    return dict(zip(head, row.first.locator("td").all_text_contents(), strict=True))


def settled(page) -> None:
    """Wait until htmx has swapped, settled and wired up the new content (typing into a
    freshly swapped input before then would not reach its search trigger)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def row(page, item):
    return page.locator(f"#row-{item.pk}")


def open_picker_and_search(page, item, text: str, first_result: str) -> None:
    """Click the row's label cell, type ``text`` into its picker, wait for ``first_result``."""
    row(page, item).locator(".cat-cell.label a.cell-edit").click()
    page.wait_for_selector(f"#row-{item.pk} .picker-input:focus")
    settled(page)
    page.keyboard.type(text)
    page.wait_for_function(
        "([id, path]) => document.querySelector(`#row-${id} .picker-results .result .path`)"
        "?.textContent === path",
        arg=[item.pk, first_result],
    )


def test_two_inline_corrections_one_undone_show_on_the_dashboard(
    login, live_server, alice, tree, catalog, artifacts
):
    page = login("alice")
    assert reviewer_cells(page, live_server, "alice") == {}
    page.goto(f"{live_server.url}/reports/catalog/?sort=item")
    first, second = catalog[0], catalog[1]

    # 1: the mouse opens the picker in the label cell; typing searches; Enter saves.
    open_picker_and_search(page, first, "jeans", JEANS)
    page.screenshot(path=str(artifacts / "report-picker.png"), full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#row-{first.pk}.saved")
    assert JEANS in row(page, first).locator(".cat-cell.label").inner_text()

    # 2: keyboard only: j to the next row, e opens the picker, type, Enter.
    page.keyboard.press("j")
    page.keyboard.press("e")
    page.wait_for_selector(f"#row-{second.pk} .picker-input:focus")
    settled(page)
    page.keyboard.type("tshirts")
    page.keyboard.press("Enter")  # before the search answers: it waits for the new results
    page.wait_for_selector(f"#row-{second.pk}.saved")
    assert TSHIRTS in row(page, second).locator(".cat-cell.label").inner_text()

    labels = Label.objects.filter(kind="label", author__username="alice").order_by("id")
    assert [(lab.item_id, lab.category.path, lab.source, lab.context) for lab in labels] == [
        (first.pk, JEANS, "inline", "catalog"),
        (second.pk, TSHIRTS, "inline", "catalog"),
    ]
    page.screenshot(path=str(artifacts / "report-corrected.png"), full_page=True)

    # Undo the first one: a retraction, and its label cell is empty again.
    row(page, first).locator("button.undo-button").click()
    page.wait_for_selector(f"#row-{first.pk} >> text=undone")
    assert "unlabelled" in row(page, first).locator(".cat-cell.label").inner_text()
    assert Label.objects.get(kind="retraction").retracts == labels[0]

    cells = reviewer_cells(page, live_server, "alice")
    assert cells["Labels"] == "2" and cells["inline"] == "2" and cells["Undone"] == "1"
    daily = page.locator("#table-labels-per-day tbody tr").last.locator("td").all_text_contents()
    head = page.locator("#table-labels-per-day thead th").all_text_contents()
    assert dict(zip(head[1:], daily[1:], strict=True)) == {"review": "2", "inline": "2"}
    page.locator("#chart-per-reviewer details").evaluate("d => d.open = true")
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    assert re.search(r"audit accuracy", page.content())


def test_bulk_assignment_of_selected_rows_and_its_undo(login, live_server, alice, tree, catalog):
    page = login("alice")
    page.goto(f"{live_server.url}/reports/catalog/?sort=item&labelled=no")
    chosen = catalog[1:3]
    row(page, catalog[0]).focus()
    page.keyboard.press("j")
    page.keyboard.press("x")  # the keyboard selects one row, the mouse the other
    row(page, chosen[1]).locator("input.row-select").check()
    page.locator("#bulk-search").fill("jeans")
    page.wait_for_selector("#bulk-form .picker-results .result")
    page.locator("#bulk-form .picker-results .result").first.click()
    page.wait_for_selector("#bulk-undo")
    assert (
        "Assigned Apparel > Bottomwear > Jeans to 2 items."
        in page.locator("#report-table").inner_text()
    )
    bulk = Label.objects.filter(source="bulk").order_by("item_id")
    assert [(lab.item_id, lab.category.path, lab.author) for lab in bulk] == [
        (chosen[0].pk, JEANS, alice),
        (chosen[1].pk, JEANS, alice),
    ]
    page.locator("#bulk-undo").click()
    page.wait_for_selector("text=Undid 2 labels.")
    assert Label.objects.filter(kind="retraction", retracts__in=bulk).count() == 2


def test_a_failed_inline_correction_is_shown_and_sent_again_with_r(
    login, live_server, alice, tree, catalog
):
    """A 503 (the database busy) showed nothing before; the correction seemed saved."""
    page = login("alice")
    page.goto(f"{live_server.url}/reports/catalog/?sort=item")
    first = catalog[0]
    failures: list[int] = []

    def fail_twice(route):
        if len(failures) < 2:  # the try and the automatic retry
            failures.append(503)
            route.fulfill(status=503, headers={"Retry-After": "1"}, body="database is locked")
        else:
            route.continue_()

    page.route("**/reports/correct/", fail_twice)
    open_picker_and_search(page, first, "jeans", JEANS)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#request-error p')?.textContent.includes('Press r')"
    )
    banner = page.locator("#request-error").inner_text()
    assert "503" in banner and "Nothing was saved" in banner and "database is locked" in banner
    assert failures == [503, 503] and not Label.objects.filter(author=alice).exists()
    page.keyboard.press("r")  # the banner took the focus out of the picker
    page.wait_for_selector(f"#row-{first.pk}.saved")
    assert page.locator("#request-error").is_hidden()
    label = Label.objects.get(author=alice)
    assert (label.item_id, label.category.path, label.source) == (first.pk, JEANS, "inline")
