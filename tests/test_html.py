"""HTML → Markdown on small synthetic pages: each kind of chrome, metadata and block, one at a time."""

from __future__ import annotations

from tutor.ingest.html import html_to_markdown
from tutor.text import markdown_headings

PAGE = """<!doctype html><html><head>
<title>Gradient descent | Acme Academy</title>
<meta property="og:site_name" content="Acme Academy">
<meta name="course" content="Optimisation 101">
<meta name="description" content="How a model walks downhill.">
<link rel="canonical" href="https://acme.example/opt/gradient-descent">
</head><body>
<header><a href="/">Acme Academy</a> <a href="/login">Log in</a></header>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/opt">Optimisation</a></li></ol>
<main>
<h1>Gradient descent<a class="headerlink" href="#top">¶</a></h1>
<p>A model improves by taking <em>small</em> steps <strong>downhill</strong> on its loss.</p>
<pre><code># the update rule
w = w - lr * grad
print(w)</code></pre>
<h2 id="rate">Learning rate<a href="#rate">#</a></h2>
<ul><li>Too small: slow.<ul><li>Very slow.</li></ul></li><li>Too large: it <code>diverges</code>.</li></ul>
<table><tr><th>rate</th><th>result</th></tr><tr><td>0.001</td><td>slow | steady</td></tr></table>
<dl><dt>Epoch</dt><dd>One pass over the data.</dd></dl>
<p class="edit-this-page"><a href="https://github.com/x/edit">Edit this page</a></p>
</main>
<div class="related"><a href="/a">Previous</a> <a href="/b">Next</a> <a href="/c">Index</a></div>
<footer>© Acme 2026</footer>
<script>track()</script>
</body></html>"""


def test_main_content_only_with_structure_kept():
    page = html_to_markdown(PAGE)
    text = page.text
    for chrome in ("Log in", "cookies", "Accept", "Home", "Edit this page", "Previous", "© Acme", "track", "¶"):
        assert chrome not in text
    assert text.startswith("# Gradient descent\n\nA model improves by taking small steps **downhill** on its loss.")
    assert "```\n# the update rule\nw = w - lr * grad\nprint(w)\n```" in text
    assert [title for _, title, _ in markdown_headings(text)] == ["Gradient descent", "Learning rate"]
    assert "- Too small: slow.\n  - Very slow.\n- Too large: it `diverges`." in text
    assert "| rate | result |\n| --- | --- |\n| 0.001 | slow \\| steady |" in text
    assert "**Epoch**\n\nOne pass over the data." in text


def test_title_and_metadata_come_from_the_head():
    page = html_to_markdown(PAGE)
    assert page.title == "Gradient descent"
    assert page.meta["course"] == "Optimisation 101"
    assert page.meta["source"] == "https://acme.example/opt/gradient-descent"
    assert page.meta["description"] == "How a model walks downhill."


def test_title_suffix_dropped_without_a_heading():
    page = html_to_markdown("<html><head><title>Loops — Python 3.11 documentation</title></head><body><p>Text.</p>")
    assert page.title == "Loops"
    assert page.text == "Text."


def test_link_lists_are_navigation_but_prose_links_stay():
    html = """<body><div><a href="1">One</a> <a href="2">Two</a> <a href="3">Three</a></div>
    <p>Read <a href="x">the guide</a>, then <a href="y">the FAQ</a> and <a href="z">notes</a> before you start
    the exercises in this chapter, which build on the previous lesson.</p></body>"""
    text = html_to_markdown(html).text
    assert "One" not in text
    assert text.startswith("Read the guide, then the FAQ and notes before you start")


def test_hidden_elements_and_file_sources_are_dropped():
    html = """<html><head><link rel="canonical" href="file:///usr/share/doc/x.html"></head><body>
    <p style="display: none">secret</p><p hidden>also</p><p>Shown.</p></body></html>"""
    page = html_to_markdown(html)
    assert page.text == "Shown."
    assert "source" not in page.meta


def test_xml_declaration_and_broken_markup_are_read():
    page = html_to_markdown('<?xml version="1.0" encoding="utf-8"?><html><body><p>Unclosed <b>bold<p>Next')
    assert "Unclosed **bold**" in page.text and "Next" in page.text
