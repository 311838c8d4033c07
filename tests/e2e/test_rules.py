"""Rules and auto-accept settings in a real browser (issue 17).

A taxonomy admin types rules on /taxonomy/rules/ with the keyboard, reads the live preview
(hits, labelled items right and wrong, the disagreements) before saving, switches them on, and
a rescore follows them: the assign rule's items are auto-accepted by it, the review rule's wait
for a person, who reads its reason on the card. A refused rule comes back with the reason and
what was typed; a reviewer cannot reach the page. On the review and auto-accept settings page
the admin changes the target precision, and the dashboard's Auto-accept section shows it and
the catalog by status; a target out of range is refused and the old one kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.core.cache import cache

from labeling.models import Prediction, QueueEntry, Rule, TaxonomyVersion
from labeling.selectors.category_index import category_index_clear
from labeling.services.learning.auto_accept_settings import BAD_TARGET
from labeling.services.learning.scoring import rescore
from labeling.services.review.labels import label_create
from labeling.services.review.queue_build import rebuild_queue
from labeling.services.rules.crud import NO_CONDITIONS, PREVIEW_FIRST
from labeling.services.rules.validation import NO_KIND
from labeling.views.overlap_settings import TARGET_SAVED
from labeling.views.rules import SAVED
from tests.labeling.auto_accept_data import certification, certified_model, predict
from tests.labeling.rules_data import (
    SANDALS,
    SHIRTS,
    SNEAKERS,
    TSHIRTS,
    make_catalog,
    make_rule,
)
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
    one_torch_thread,  # noqa: F401
)
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = pytest.mark.django_db(transaction=True)

Condition = tuple[str, str, str]  # kind (as the select shows it), field, value


def expect(locator):
    """Playwright's auto-waiting assertions (imported late: without playwright the browser
    fixture skips the test, as the conftest says, instead of failing the collection)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(autouse=True)
def _fresh_caches():
    category_index_clear()
    cache.clear()


def type_into(page, selector: str, text: str) -> None:
    """Click a field, select what is in it and type ``text`` over it, key by key."""
    page.click(selector)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def choose(page, selector: str, first_letters: str, value: str) -> None:
    """Pick an option of a focused select by typing its first letters, as a person does."""
    page.focus(selector)
    page.keyboard.type(first_letters)
    expect(page.locator(selector)).to_have_value(value)


def write_rule(
    page,
    live_server,
    *,
    name: str,
    action: tuple[str, str],
    category: str = "",
    reason: str = "",
    priority: str = "",
    conditions: Sequence[Condition] = (),
) -> None:
    """Open a new rule's form and type it in, field after field (Tab between them)."""
    page.goto(f"{live_server.url}/taxonomy/rules/")
    page.click("#new-rule")
    page.wait_for_selector("#rule-form")
    page.wait_for_load_state("networkidle")  # htmx bound
    type_into(page, "#rule-name", name)
    page.keyboard.press("Tab")
    choose(page, "#rule-action", *action)
    if category:
        type_into(page, "#rule-category", category)
    if reason:
        type_into(page, "#rule-reason", reason)
    if priority:
        type_into(page, "#rule-priority", priority)
    for n, (kind, field, value) in enumerate(conditions):
        choose(page, f"select[name=cond-{n}-kind]", kind, KINDS[kind])
        page.keyboard.press("Tab")
        page.keyboard.type(field)
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    page.keyboard.press("Tab")  # leave the last field: its change event reaches htmx


# What typing the first letters of a condition's kind picks ("contains any of the words", …).
KINDS = {"contains any": "words", "contains the": "phrase", "matches": "regex"}
ASSIGN, REVIEW = ("a", "assign"), ("s", "review")


def figures(page, scope: str) -> dict[str, str]:
    """A preview's figures (``dt`` → ``dd``) inside ``scope``."""
    figures = page.locator(f"{scope} dl.rule-figures")
    terms = figures.locator("dt").all_inner_texts()
    return dict(zip(terms, figures.locator("dd").all_inner_texts(), strict=True))


def table(page, selector: str) -> list[list[str]]:
    return [
        row.locator("td").all_inner_texts() for row in page.locator(f"{selector} tbody tr").all()
    ]


# -- rules -----------------------------------------------------------------------------------


def test_an_admin_types_a_rule_reads_its_preview_saves_it_and_switches_it_on(
    login, live_server, bob, version, tree, artifacts
):
    make_catalog(version, tree)  # rules_data: 7 items, 5 labelled, 6 predicted
    page = login("bob")
    write_rule(
        page,
        live_server,
        name="Shirts by title",
        action=ASSIGN,
        category=SHIRTS,
        priority="10",
        conditions=[("contains any", "title", "shirt, shirts")],
    )
    # The live preview follows the form (htmx, on change): nothing is saved yet.
    preview = page.locator("#rule-preview")
    expect(preview).to_contain_text("Preview of the rule as typed")
    # "shirt" hits Oxford shirt, Linen shirt, Graphic T-shirt; of their labels only Oxford's is
    # Shirts; the model's top is right on Oxford and Graphic.
    assert figures(page, "#rule-preview") == {
        "Hits in the catalog": "3 of 7 items read",
        "Labelled items it hits": "3 of 5",
        "Against their labels": "1 right, 2 wrong: precision 0.333",
        "The model on the same items": "right on 2 of 3 (0.667)",
    }
    assert table(page, "#rule-preview .rule-examples") == [
        ["SKU-linen Linen shirt", TSHIRTS, SHIRTS, SHIRTS],
        ["SKU-graphic Graphic T-shirt", TSHIRTS, SHIRTS, TSHIRTS],
    ]
    assert not Rule.objects.exists()
    page.screenshot(path=str(artifacts / "rule-preview.png"), full_page=True)

    page.click("#rule-save")
    page.wait_for_selector("#rule-state")
    rule = Rule.objects.get()
    assert page.url == f"{live_server.url}/taxonomy/rules/{rule.pk}/"
    expect(page.locator(".notice.success").first).to_have_text(SAVED.format(name=rule.name))
    assert (rule.name, rule.action, rule.category, rule.priority) == (
        "Shirts by title",
        "assign",
        tree[SHIRTS],
        10,
    )
    assert (rule.taxonomy_version, rule.created_by, rule.enabled) == (version, bob, False)
    assert [(c.kind, c.field, c.value) for c in rule.conditions.all()] == [
        ("words", "title", ["shirt", "shirts"])
    ]
    assert (rule.preview["hits"], rule.preview["agrees"], rule.preview["disagrees"]) == (3, 1, 2)
    assert figures(page, "#rule-state")["Against their labels"] == (
        "1 right, 2 wrong: precision 0.333"
    )
    assert page.input_value("#rule-name") == "Shirts by title"  # the form to edit it
    assert page.input_value("input[name=cond-0-value]") == "shirt, shirts"

    expect(page.locator("#rule-switch")).to_have_text("Switch on")
    page.focus("#rule-switch")
    page.keyboard.press("Enter")
    expect(page.locator("#rule-switch")).to_have_text("Switch off")
    expect(page.locator("h1")).to_contain_text("· on")
    rule.refresh_from_db()
    assert rule.enabled and rule.updated_by == bob

    page.click("text=← Rules")
    row = page.locator(f"#rule-{rule.pk}")
    expect(row).to_have_class("rule-on")
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "10"
    assert "assign a category: Apparel > Topwear > Shirts" in cells[1]
    assert cells[2] == "title contains any of the words shirt, shirts"
    assert cells[3] == "hits ≈ 3; labelled: 1 right, 2 wrong (0.333)"
    assert cells[4] == "not run"
    # Switching on changes no prediction: the next rescore applies the rule (last test).
    assert not Prediction.objects.filter(rule__isnull=False).exists()


def test_a_bad_pattern_or_an_empty_condition_is_refused_and_what_was_typed_stays(
    login, live_server, bob, version, tree
):
    make_catalog(version, tree)
    page = login("bob")
    write_rule(
        page,
        live_server,
        name="Sizes",
        action=REVIEW,
        reason="Check the size chart",
        priority="5",
        conditions=[("matches", "title", "(slim|wide fit")],
    )
    # While typing, the live preview says what is wrong in place …
    expect(page.locator("#rule-preview [role=alert]")).to_contain_text(
        "Condition 1: '(slim|wide fit' is not a valid regular expression"
    )
    # … and saving is refused with the reason, everything typed still in the form.
    page.click("#rule-save")
    error = page.locator("#rule-error")
    expect(error).to_contain_text("is not a valid regular expression")
    assert not Rule.objects.exists()
    kept = {
        "#rule-name": "Sizes",
        "#rule-action": "review",
        "#rule-reason": "Check the size chart",
        "#rule-priority": "5",
        "select[name=cond-0-kind]": "regex",
        "input[name=cond-0-field]": "title",
        "input[name=cond-0-value]": "(slim|wide fit",
    }
    assert {selector: page.input_value(selector) for selector in kept} == kept

    # A value without a kind: "choose what it tests".
    page.focus("select[name=cond-0-kind]")
    page.keyboard.press("Home")  # back to the first option, "—"
    expect(page.locator("select[name=cond-0-kind]")).to_have_value("")
    page.click("#rule-save")
    expect(error).to_have_text(NO_KIND.format(n=1))
    assert page.input_value("input[name=cond-0-value]") == "(slim|wide fit"
    assert page.input_value("#rule-reason") == "Check the size chart"

    # No condition at all: it would hit every item.
    for selector in ("input[name=cond-0-field]", "input[name=cond-0-value]"):
        type_into(page, selector, "")
        page.keyboard.press("Backspace")
    page.click("#rule-save")
    expect(error).to_have_text(NO_CONDITIONS)
    assert (page.input_value("#rule-name"), page.input_value("#rule-priority")) == ("Sizes", "5")
    assert not Rule.objects.exists()

    # Fixed, it saves.
    choose(page, "select[name=cond-0-kind]", "matches", "regex")
    page.keyboard.press("Tab")
    page.keyboard.type("title")
    page.keyboard.press("Tab")
    page.keyboard.type(r"\b(slim|wide) fit\b")
    page.click("#rule-save")
    page.wait_for_selector("#rule-state")
    rule = Rule.objects.get()
    assert (rule.name, rule.action, rule.reason, rule.priority) == (
        "Sizes",
        "review",
        "Check the size chart",
        5,
    )
    assert [(c.kind, c.field, c.value) for c in rule.conditions.all()] == [
        ("regex", "title", r"\b(slim|wide) fit\b")
    ]
    assert figures(page, "#rule-state")["Hits in the catalog"] == "1 of 7 items read"  # jeans


def test_a_rule_without_a_preview_is_switched_on_only_after_one(
    login, live_server, bob, version, tree
):
    """A rule written elsewhere (the API, a script) has no preview: the page refuses to switch
    it on and says why, until the admin previews it."""
    make_catalog(version, tree)
    rule = make_rule(
        version,
        name="No shirts for jeans",
        action="forbid",
        category=SHIRTS,
        conditions=[{"kind": "words", "field": "title", "value": "jeans"}],
    )
    page = login("bob")
    page.goto(f"{live_server.url}/taxonomy/rules/")
    row = page.locator(f"#rule-{rule.pk}")
    expect(row.locator("td").nth(3)).to_have_text("not previewed since its last edit")
    row.locator("button", has_text="Switch on").click()
    expect(page.locator(".notice.error")).to_have_text(PREVIEW_FIRST)
    expect(row).to_have_class("rule-off")
    rule.refresh_from_db()
    assert not rule.enabled

    row.locator("a", has_text="No shirts for jeans").click()
    page.click("#rule-repreview")
    # "jeans" hits Denim jeans (labelled Jeans): forbidding Shirts there is right.
    expect(page.locator("#rule-state dl.rule-figures")).to_contain_text("1 of 7 items read")
    assert figures(page, "#rule-state")["Against their labels"] == (
        "1 right, 0 wrong: precision 1.000"
    )
    page.click("#rule-switch")
    expect(page.locator("#rule-switch")).to_have_text("Switch off")
    rule.refresh_from_db()
    assert rule.enabled and rule.previewed_at is not None and rule.preview["hits"] == 1


@pytest.mark.parametrize("path", ["/taxonomy/rules/", "/taxonomy/rules/new/"])
def test_a_reviewer_cannot_reach_the_rules(login, live_server, alice, version, tree, path):
    page = login("alice")
    assert page.locator("nav >> text=Taxonomy").count() == 0
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("TaxonomyAdmin")
    assert page.locator("#rule-form, #rules").count() == 0


@pytest.mark.usefixtures("fake_encoders", "fresh_caches", "one_torch_thread")
def test_a_rescore_follows_the_rules_switched_on_in_the_browser(
    login, live_server, alice, bob, version, tree
):
    truth = clustered_items(leaves_of(version), 10, seed=1, image_every=0)  # "Sandals 0", …
    model_version = fit_and_store(version, list(truth.items()))
    by_title = {item.title: item for item in truth}
    label_create(item=by_title["Sandals 0"], category=tree[SANDALS], author=None, source="import")
    label_create(item=by_title["Sandals 1"], category=tree[SNEAKERS], author=None, source="import")
    page = login("bob")

    write_rule(
        page,
        live_server,
        name="Sandals",
        action=ASSIGN,
        category=SANDALS,
        conditions=[("contains any", "title", "sandals")],
    )
    page.click("#rule-save")
    page.wait_for_selector("#rule-switch")
    assert figures(page, "#rule-state")["Against their labels"] == (
        "1 right, 1 wrong: precision 0.500"
    )
    assert table(page, "#rule-state .rule-examples")[0][1:3] == [SNEAKERS, SANDALS]
    page.click("#rule-switch")
    expect(page.locator("#rule-switch")).to_have_text("Switch off")

    write_rule(
        page,
        live_server,
        name="Jeans lengths",
        action=REVIEW,
        reason="Check the leg length",
        priority="50",
        conditions=[("contains the", "title", "Jeans")],
    )
    expect(page.locator("#rule-preview")).to_contain_text("10 of 60 items read")
    page.click("#rule-save")
    page.wait_for_selector("#rule-switch")
    page.click("#rule-switch")
    expect(page.locator("#rule-switch")).to_have_text("Switch off")
    assign, review = Rule.objects.get(name="Sandals"), Rule.objects.get(name="Jeans lengths")
    assert assign.enabled and review.enabled

    rescore(model_version)

    predictions = {p.item.title: p for p in Prediction.objects.select_related("item")}
    assert len(predictions) == 60
    for i in range(2, 10):  # unlabelled sandals: decided by the rule, no confidence
        p = predictions[f"Sandals {i}"]
        assert (p.status, p.accepted_category, p.rule_id) == (
            "auto_accepted",
            tree[SANDALS],
            assign.pk,
        )
        assert p.accepted_confidence is None
    assert predictions["Sandals 1"].status == "labelled"  # a person's label stays final
    for i in range(10):
        p = predictions[f"Jeans {i}"]
        assert (p.status, p.accepted_category, p.rule_id) == ("needs_review", None, review.pk)
    others = [p for t, p in predictions.items() if not t.startswith(("Sandals", "Jeans"))]
    assert not [p for p in others if p.rule_id is not None or p.status == "auto_accepted"]

    page.goto(f"{live_server.url}/taxonomy/rules/")
    assert page.locator(f"#rule-{assign.pk} td").nth(4).inner_text() == (
        "10 hits in 60 scored; 1 of 2 labelled disagree"
    )
    assert page.locator(f"#rule-{review.pk} td").nth(4).inner_text() == (
        "10 hits in 60 scored; 0 of 0 labelled disagree"
    )

    rebuild_queue(version, size=30)
    first = QueueEntry.objects.order_by("-priority", "id").first()
    assert first.reason == "rule" and first.item.title.startswith("Jeans")
    card = login("alice")
    expect(card.locator("#reason-text")).to_have_text("rule “Jeans lengths”: Check the leg length")
    assert card.locator("h1.item-title").inner_text().startswith("Jeans")


# -- auto-accept -----------------------------------------------------------------------------


@pytest.fixture
def scored(version, tree):
    """An active model certified at 0.99 and ten predictions: 2 labelled, 3 auto-accepted at
    Shirts (depth 3), 1 at Apparel (depth 1), 4 waiting for review."""
    mv = certified_model(version, "active", 200, certification(tree))
    for status, at, n in [
        ("labelled", None, 2),
        ("auto_accepted", SHIRTS, 3),
        ("auto_accepted", "Apparel", 1),
        ("needs_review", None, 4),
    ]:
        for _ in range(n):
            predict(mv, tree, status, at)
    return mv


def status_table(page, live_server) -> list[list[str]]:
    page.goto(f"{live_server.url}/dashboard/")
    section = page.locator("#chart-catalog-status")
    section.locator("summary").click()  # the figures behind the chart
    return table(page, "#table-catalog-status")


def target_of(version: TaxonomyVersion) -> float | None:
    version.refresh_from_db()
    return version.target_precision


def test_an_admin_lowers_the_target_and_the_dashboard_shows_it(
    login, live_server, bob, version, tree, scored, artifacts
):
    assert target_of(version) == 0.99
    page = login("bob")
    assert status_table(page, live_server) == [
        ["labelled", "2", "20.0%"],
        ["auto-accepted", "4", "40.0%"],
        ["… at depth 1", "1", "10.0%"],
        ["… at depth 3", "3", "30.0%"],
        ["needs review", "4", "40.0%"],
    ]
    target = page.locator("#auto-accept-target")
    expect(target).to_contain_text("Target precision 0.99: auto-accept is on.")
    assert page.locator("#auto-accept-note").count() == 0  # certified at the target

    target.locator("text=Change the target").click()
    page.wait_for_selector("#overlap-form")
    assert page.input_value("#overlap-target") == "0.99"
    type_into(page, "#overlap-target", "0.95")
    page.keyboard.press("Enter")
    page.wait_for_selector(".notice.success >> nth=1")
    messages = page.locator(".notice.success").all_inner_texts()
    assert messages[1] == TARGET_SAVED.format(version=version, target=0.95)
    assert target_of(version) == 0.95
    assert page.input_value("#overlap-target") == "0.95"
    version.refresh_from_db()
    assert (version.overlap_share, version.overlap_reviewers) == (0.1, 2)  # untouched

    assert status_table(page, live_server)[0] == ["labelled", "2", "20.0%"]
    expect(target).to_contain_text("Target precision 0.95: auto-accept is on.")
    expect(page.locator("#auto-accept-note")).to_have_text(
        f"Model #{scored.pk} was certified at 0.99; the target is now 0.95: it takes effect at "
        "the next rescore (after the next promotion, or manage.py rescore)."
    )
    page.screenshot(path=str(artifacts / "dashboard-auto-accept.png"), full_page=True)


def test_a_target_out_of_range_is_refused_and_the_old_one_kept(
    login, live_server, bob, version, tree, scored
):
    page = login("bob")
    page.goto(f"{live_server.url}/taxonomy/overlap/")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
    field = page.locator("#overlap-target")
    error = page.locator("#overlap-error")
    # The field keeps what is typed as typed (a number field would drop the letters and send
    # an empty field, which means "off"): the server refuses what is no target, shows it back
    # with the reason, and keeps the old target.
    for typed in ("1.5", "0.95 please", "abc"):
        type_into(page, "#overlap-target", typed)
        page.keyboard.press("Enter")
        expect(error).to_have_text(BAD_TARGET.format(value=typed))
        assert field.input_value() == typed
        assert target_of(version) == 0.99
    assert len(posts) == 3 and "target=abc" in posts[-1]
    assert page.locator(".notice.success").count() == 0

    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#auto-accept-target")).to_contain_text("Target precision 0.99:")
