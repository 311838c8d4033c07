"""Guidelines' Markdown as safe HTML (labeling/markdown.py): what Markdown makes is kept,
anything that could run in a reviewer's page is not."""

from __future__ import annotations

import pytest

from labeling.markdown import markdown_html


def test_markdown_becomes_html():
    html = markdown_html("**Shirts** have collars.\n\n- not *T-shirts*\n- `polo` is a shirt")
    assert "<strong>Shirts</strong>" in html and "<em>T-shirts</em>" in html
    assert "<li><code>polo</code> is a shirt</li>" in html


def test_a_link_opens_in_a_new_tab_without_the_opener():
    html = markdown_html("[examples](/reports/catalog/?labelled_as=3)")
    assert 'href="/reports/catalog/?labelled_as=3"' in html
    assert 'target="_blank"' in html and "noopener" in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_raw_html_is_shown_as_text(text):
    html = markdown_html(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<iframe" not in html and "&lt;" in html


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:x", "data:text/html,hi"]
)
def test_an_unsafe_link_is_not_a_link(url):
    html = markdown_html(f"[click]({url})")
    assert "href" not in html and "<a" not in html


def test_images_are_not_loaded():
    assert "<img" not in markdown_html("![tracker](https://evil.example/pixel.png)")


def test_a_table_keeps_its_alignment_and_nothing_else():
    html = markdown_html("| a | b |\n|:-|-:|\n| 1 | 2 |")
    assert '<th style="text-align:left">a</th>' in html and "<td" in html


def test_empty_text_is_empty_html():
    assert markdown_html("") == "" and markdown_html("  \n") == ""
