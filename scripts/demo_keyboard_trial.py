"""Trial of a running ``make demo``: a reviewer makes N keyboard decisions at a person's speed
in a real browser while the worker trains, and every decision must land (issue 14).

Usage (with ``make demo`` running in this checkout, the demo's database under var/):

    .venv/bin/python scripts/demo_keyboard_trial.py --url http://127.0.0.1:8000 --decisions 100

It logs in as the demo reviewer (var/demo-credentials.json), asks for a training run as the
demo admin before it starts and again halfway (so that the worker trains, promotes and
rescores while the keys are typed), presses candidate keys with 20–150 ms between them, and
then compares what the browser did with the ledger: labels written by the reviewer, page
reloads, failed-request banners, 503 answers. Exit status 0 only when nothing was lost.
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
# Playwright's sync API runs an event loop in this thread; the ORM reads here are plain reads.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def login(context, url: str, username: str, password: str):
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login/" not in u)
    return page


def train(admin_page, url: str) -> None:
    admin_page.goto(f"{url}/models/")
    admin_page.locator("form[action$='/models/train/'] button").first.click()
    admin_page.wait_for_load_state()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    creds = json.loads((REPO / "var" / "demo-credentials.json").read_text())

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Q
    from django.utils import timezone

    from labeling.models import Label, TrainingRun

    reviewer = next(u for u in creds if u.startswith("review") or u == "alice")
    admin = next(u for u in creds if u in ("admin", "bob", "taxadmin") or "admin" in u)
    user = get_user_model().objects.get(username=reviewer)
    labels_before = Label.objects.filter(author=user, kind="label").count()
    last_run = TrainingRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(args.seed)
    trial_start = timezone.now()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        admin_page = login(browser.new_context(), args.url, admin, creds[admin])
        train(admin_page, args.url)
        page = login(browser.new_context(), args.url, reviewer, creds[reviewer])
        page.goto(f"{args.url}/review/")
        loads, statuses, banners = [], [], []
        page.on("framenavigated", lambda f: f == page.main_frame and loads.append(f.url))
        page.on("response", lambda r: r.status >= 500 and statuses.append((r.status, r.url)))
        page.evaluate("window.__same = true")
        started = time.monotonic()
        for n in range(args.decisions):
            if n == args.decisions // 2:
                train(admin_page, args.url)
            page.keyboard.press(rng.choice("112123"))
            if page.locator("#request-error").is_visible():
                banners.append(page.locator("#request-error").inner_text())
            time.sleep(rng.uniform(0.02, 0.15))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = Label.objects.filter(author=user, kind="label").count() - labels_before
            if done >= args.decisions:
                break
            if page.locator("#request-error").is_visible():
                page.keyboard.press("r")  # what a reviewer would do: send it again
                banners.append(page.locator("#request-error").inner_text())
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        same_document = page.evaluate("window.__same === true")
        browser.close()

    written = Label.objects.filter(author=user, kind="label").count() - labels_before
    # runs that started before the trial and were still going count too: the worker trained
    runs = TrainingRun.objects.filter(
        Q(pk__gt=last_run) | Q(finished_at__isnull=True) | Q(finished_at__gte=trial_start)
    ).order_by("pk")
    report = {
        "decisions_typed": args.decisions,
        "labels_written": written,
        "seconds": round(elapsed, 1),
        "page_reloads": len(loads),
        "same_document": same_document,
        "answers_5xx": statuses,
        "failure_banners": banners,
        "training_runs": [
            (r.pk, r.trigger, r.status, str(r.started_at), str(r.finished_at), r.outcome[:60])
            for r in runs
        ],
    }
    print(json.dumps(report, indent=2))
    ok = written == args.decisions and not loads and same_document
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
