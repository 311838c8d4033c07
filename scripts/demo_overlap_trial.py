"""Trial of a running ``make demo`` with overlap on (issue 16): an admin turns overlap on in the
browser, two reviewers work the queue at once at a person's speed while the worker trains,
they disagree on some items, an adjudicator decides those, and the ledger must hold exactly
what they did.

Usage (with ``make demo`` running in this checkout, the demo's database under var/):

    .venv/bin/python scripts/demo_overlap_trial.py --url http://127.0.0.1:8000 --decisions 30

The admin sets the overlap share to ``--share`` (default 1: every item goes to two reviewers)
on /taxonomy/overlap/ and asks for a training; reviewer and reviewer2 (var/demo-credentials.json)
then take turns deciding with the keyboard, 0.3–0.9 s apart: reviewer always takes the top
candidate, reviewer2 the second one ``--disagree`` of the time (0.3). The adjudicator then
decides every disputed item (key 1, Enter). Checks: every key press is one answer or label in
the ledger, no reviewer answered an item twice, no overlap answer became an item's label, every
disputed item was adjudicated, and the quality page shows the team's agreement. Exit 0 when all
hold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxoloop.settings.dev")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

from scripts.demo_keyboard_trial import CHROMIUM_ARGS, login  # noqa: E402


def train(admin_page, url: str) -> str:
    """Ask for a training on the Models page; the button is not there while one runs."""
    admin_page.goto(f"{url}/models/")
    button = admin_page.locator("form[action$='/models/train/'] button").first
    try:
        button.click(timeout=5_000)
    except Exception:  # noqa: BLE001 -- Playwright's timeout: a training is already running
        return "a training was already running"
    admin_page.wait_for_load_state()
    return "requested"


def title(page) -> str:
    return page.locator("h1.item-title").inner_text(timeout=30_000)


def decide(page, key: str) -> None:
    """Press ``key`` on the card and wait until another card (or the empty queue) shows."""
    before = title(page)
    page.keyboard.press(key)
    page.wait_for_function(
        "t => { const h = document.querySelector('h1.item-title');"
        " return !h || h.textContent !== t; }",
        arg=before,
        timeout=30_000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--decisions", type=int, default=30, help="per reviewer")
    parser.add_argument("--share", default="1")
    parser.add_argument("--disagree", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    creds = json.loads((REPO / "var" / "demo-credentials.json").read_text())

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from labeling.models import Item, Label, Overlap, OverlapAnswer

    users = {u.username: u for u in get_user_model().objects.filter(username__in=list(creds))}
    names = ("reviewer", "reviewer2")
    before = {n: Label.objects.filter(author=users[n], kind="label").count() for n in names}
    overlaps_before = set(Overlap.objects.values_list("pk", flat=True))
    rng = random.Random(args.seed)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        admin = login(browser.new_context(), args.url, "taxadmin", creds["taxadmin"])
        admin.goto(f"{args.url}/taxonomy/overlap/")
        admin.fill("#overlap-share", "")
        admin.locator("#overlap-share").type(args.share, delay=80)
        admin.locator("#overlap-save").click()
        admin.wait_for_load_state()
        saved = admin.locator("body").inner_text()
        training = train(admin, args.url)
        pages = {n: login(browser.new_context(), args.url, n, creds[n]) for n in names}
        for page in pages.values():
            page.goto(f"{args.url}/review/")
        pressed = dict.fromkeys(names, 0)
        started = time.monotonic()
        for _ in range(args.decisions):
            for n in names:
                key = "2" if n == "reviewer2" and rng.random() < args.disagree else "1"
                decide(pages[n], key)
                pressed[n] += 1
                time.sleep(rng.uniform(0.3, 0.9))
        judge = login(browser.new_context(), args.url, "adjudicator", creds["adjudicator"])
        adjudicated = 0
        for _ in range(2 * args.decisions):
            judge.goto(f"{args.url}/review/adjudicate/")
            if judge.locator("#adjudicate-empty").count():
                break
            judge.keyboard.press("1")
            judge.keyboard.press("Enter")
            judge.wait_for_load_state()
            adjudicated += 1
            time.sleep(rng.uniform(0.3, 0.9))
        admin.goto(f"{args.url}/reports/quality/")
        overall = (
            admin.locator("#quality-overall").inner_text()
            if admin.locator("#quality-overall").count()
            else "(no team table)"
        )
        elapsed = time.monotonic() - started
        browser.close()

    written = {
        n: Label.objects.filter(author=users[n], kind="label").count() - before[n] for n in names
    }
    new = Overlap.objects.exclude(pk__in=overlaps_before)
    by_status: dict[str, int] = {}
    for status in new.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    answers = OverlapAnswer.objects.filter(overlap__in=new)
    twice = answers.count() - answers.values("overlap", "reviewer").distinct().count()
    answer_as_label = Item.objects.filter(current_label__context="overlap").count()
    report = {
        "training": training,
        "overlap setting saved": "saved" in saved.lower(),
        "keys pressed": pressed,
        "ledger rows written": written,
        "overlaps by status": by_status,
        "adjudicated in the browser": adjudicated,
        "an answer twice by one reviewer": twice,
        "items whose label is an answer": answer_as_label,
        "quality page, team table": overall[:400],
        "seconds": round(elapsed, 1),
    }
    print(json.dumps(report, indent=2))
    ok = (
        report["overlap setting saved"]
        and written == pressed
        and twice == 0
        and answer_as_label == 0
        and by_status.get("disputed", 0) == 0
        and adjudicated == by_status.get("adjudicated", 0)
    )
    print("OK" if ok else "PROBLEMS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
