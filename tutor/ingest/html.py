"""HTML lesson pages → Markdown that keeps what a learner reads and drops the site around it.

A documentation or course page is mostly chrome: navigation bars, breadcrumbs, sidebars, tables of
contents, footers, "edit this page" links, cookie banners and permalink marks. Those are removed
generically — by element (`nav`, `footer`, …), ARIA role, class/id vocabulary and link density — and the
main content (`<main>`, `role=main`, a single `<article>`, else the body) is written as Markdown: headings
as `#` lines, `<pre>` verbatim as fenced code (so a `# comment` is never a heading), tables as rows, lists
as lists, definition terms in bold. The title drops the site suffix ("Page — Site documentation"), and
`<meta>` data (course, canonical URL, description) is returned for the lesson loader.

lxml does the parsing; one pass over the tree does the rest. Extraction libraries were measured on the
Debian documentation pages first (trafilatura dropped the headings of SQLite and PostgreSQL pages,
readability dropped lists, markdownify took 40–600 ms per page); this keeps structure and runs in a few ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

# Elements that never hold lesson text.
_DROP_TAGS = {
    "script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object", "embed",
    "form", "button", "input", "select", "textarea", "nav", "aside", "footer", "head", "map", "audio", "video",
}  # fmt: skip
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar"}
# Words in a class or id that mark site chrome (matched as whole words of the attribute).
_CHROME_WORDS = {
    "nav", "navbar", "navigation", "navheader", "navfooter", "breadcrumb", "breadcrumbs", "sidebar",
    "sphinxsidebar", "sidebarwrapper", "related", "footer", "menu", "mainmenu", "submenu", "searchmenu",
    "searchbox", "cookie", "cookies", "consent", "banner", "skip", "pagination", "pager", "prevnext",
    "editthispage", "edit-this-page", "edit-page", "headerlink", "permalink", "anchorjs", "toc", "share",
    "social", "advert", "ads", "tagline", "feedback-widget", "skip-link", "visually-hidden", "sr-only",
}  # fmt: skip
_PERMALINK_TEXT = {"", "¶", "#", "§", "🔗", "⚓", "∞", "link", "permalink"}
_HEADING = {f"h{n}": n for n in range(1, 7)}
_CODE_INLINE = {"code", "tt", "kbd", "samp", "var"}
_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "blockquote", "figure", "figcaption", "center",
    "address", "details", "summary", "hgroup", "body", "html",
}  # fmt: skip
_TITLE_SEPARATORS = re.compile(r"\s+(?:—|–|\||-|·|::|»|:)\s+")
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")


@dataclass(frozen=True)
class HtmlPage:
    """What the loader needs from a page: Markdown text, a clean title and the page's own metadata."""

    text: str
    title: str
    meta: dict[str, str] = field(default_factory=dict)


def html_to_markdown(html: str) -> HtmlPage:
    html = re.sub(r"\A\s*<\?xml[^>]*\?>", "", html)  # lxml refuses an encoding declaration in a str
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return HtmlPage("", "")
    meta = _metadata(doc)
    page_title = _SPACE.sub(" ", doc.findtext(".//title") or "").strip()
    _drop_chrome(doc)
    root = _main_content(doc)
    _drop_link_lists(root)
    text = _tidy(_drop_lead_in(_Writer().block(root)))
    h1 = next((_inline_text(h) for h in root.iter("h1")), "")
    title = meta.pop("title", "") or _clean_title(page_title, h1, meta.get("site_name", "")) or h1
    return HtmlPage(text, title, meta)


def _metadata(doc) -> dict[str, str]:
    """Title, course, source URL and description from `<meta>` and `<link rel=canonical>`, when present."""
    found: dict[str, str] = {}
    names = {
        "og:title": "title", "lesson:title": "title", "course": "course", "lesson:course": "course",
        "og:site_name": "site_name", "description": "description", "og:description": "description",
        "og:url": "source", "lesson:id": "id", "lesson-id": "id",
    }  # fmt: skip
    for tag in doc.iter("meta"):
        key = (tag.get("property") or tag.get("name") or "").strip().lower()
        value = _SPACE.sub(" ", tag.get("content") or "").strip()
        if key in names and value and names[key] not in found:
            found[names[key]] = value
    for link in doc.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            found["source"] = link.get("href").strip()
    if not re.match(r"https?://", found.get("source", "")):
        found.pop("source", None)  # a file:// or relative address means nothing to a learner
    return found


def _clean_title(title: str, h1: str, site_name: str) -> str:
    """'4. Control Flow — Python 3.11 documentation' → '4. Control Flow': the page's part of its title."""
    if not title:
        return ""
    if h1 and h1 in title:
        return h1
    if site_name and site_name in title and site_name != title:
        stripped = _TITLE_SEPARATORS.sub(" ", title.replace(site_name, "")).strip(" -—–|·:»")
        if stripped:
            return stripped
    parts = _TITLE_SEPARATORS.split(title)
    return parts[0].strip() if len(parts) > 1 and len(parts[0].strip()) >= 3 else title


def _words(el) -> set[str]:
    words = set()
    for value in (el.get("class"), el.get("id")):
        if value:
            lowered = value.lower()
            words.update(lowered.split())
            words.update(w for w in re.split(r"[^a-z0-9]+", lowered) if w)
    return words


def _is_hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is not None or "display:none" in style or el.get("aria-hidden") == "true"


def _drop_chrome(doc) -> None:
    for el in list(doc.iter(etree.Comment, etree.ProcessingInstruction)):
        _remove(el)
    doomed = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in ("html", "body", "main", "article"):
            continue
        if tag in _DROP_TAGS or _is_hidden(el):
            doomed.append(el)
        elif (el.get("role") or "").lower() in _CHROME_ROLES or _words(el) & _CHROME_WORDS:
            doomed.append(el)
        elif tag == "a" and _is_permalink(el):
            doomed.append(el)
        elif tag == "header" and el.getparent() is not None and el.getparent().tag == "body":
            doomed.append(el)  # the site header; an article's own <header> (its title) stays
    for el in doomed:
        _remove(el)


def _is_permalink(a) -> bool:
    href = a.get("href") or ""
    text = _SPACE.sub("", a.text_content()).lower()
    return (href.startswith("#") or not href) and text in _PERMALINK_TEXT


def _remove(el) -> None:
    """Detach an element but keep the text that follows it (lxml stores it on the element as `tail`)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _main_content(doc):
    for path in ("//main", "//*[@role='main']"):
        found = doc.xpath(path)
        if found:
            return found[0]
    articles = doc.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    body = doc.find("body")
    return body if body is not None else doc


def _drop_link_lists(root) -> None:
    """Blocks that are mostly links (tables of contents, 'next/previous', related pages) are navigation."""
    doomed = []
    for el in root.iter("ul", "ol", "dl", "div", "table", "p", "section"):
        if el is root or any(d in doomed for d in el.iterancestors()):
            continue
        links = el.findall(".//a")
        if len(links) < 3 or el.find(".//pre") is not None:
            continue
        total = len(_SPACE.sub("", el.text_content()))
        linked = sum(len(_SPACE.sub("", a.text_content())) for a in links)
        if total and linked / total >= 0.75:
            doomed.append(el)
    for el in doomed:
        _remove(el)


def _inline_text(el) -> str:
    return _SPACE.sub(" ", el.text_content()).strip().rstrip("¶").strip()


class _Writer:
    """Writes an element tree as Markdown blocks; inline runs are collapsed, `<pre>` is kept verbatim."""

    def __init__(self) -> None:
        self.list_depth = 0

    def block(self, el) -> str:
        out: list[str] = []
        inline: list[str] = []

        def flush() -> None:
            text = _SPACE.sub(" ", "".join(inline)).strip()
            if text:
                out.append(text)
            inline.clear()

        if el.text:
            inline.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                tag = child.tag.lower()
                rendered = self.element(child, tag)
                if rendered is None:  # inline element
                    inline.append(self.inline(child, tag))
                else:
                    flush()
                    if rendered:
                        out.append(rendered)
            if child.tail:
                inline.append(child.tail)
        flush()
        return "\n\n".join(out)

    def element(self, el, tag: str) -> str | None:
        """Markdown for a block element, or None when `el` is inline."""
        if tag in _HEADING:
            text = _inline_text(el)
            return f"{'#' * _HEADING[tag]} {text}" if text else ""
        if tag == "pre":
            return _fence(el.text_content())
        if tag in ("ul", "ol"):
            return self.listing(el, ordered=tag == "ol")
        if tag == "table":
            return self.table(el)
        if tag == "dl":
            return self.definitions(el)
        if tag == "hr":
            return ""
        if tag == "br":
            return ""
        if tag in _BLOCKS or tag in ("li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "caption"):
            return self.block(el)
        if any(isinstance(d.tag, str) and d.tag.lower() in _BLOCK_DESCENDANTS for d in el.iterdescendants()):
            return self.block(el)  # an inline wrapper around blocks (a <span> holding a <div>)
        return None

    def inline(self, el, tag: str) -> str:
        text = el.text_content()
        if tag in _CODE_INLINE:
            code = _SPACE.sub(" ", text).strip()
            if not code:
                return ""
            ticks = "``" if "`" in code else "`"
            return f"{ticks}{code}{ticks}" + (" " if text.endswith(" ") else "")
        if tag == "img":
            return el.get("alt") or ""
        parts = [el.text or ""]
        for child in el:
            if isinstance(child.tag, str):
                child_tag = child.tag.lower()
                parts.append("\n" if child_tag == "br" else self.inline(child, child_tag))
            parts.append(child.tail or "")
        inner = "".join(parts)
        if tag in ("strong", "b") and inner.strip():
            return _wrap(inner, "**")
        return inner

    def listing(self, el, ordered: bool) -> str:
        lines = []
        indent = "   " if ordered else "  "
        self.list_depth += 1
        number = int(el.get("start") or 1) if ordered and (el.get("start") or "1").isdigit() else 1
        for li in el:
            if not isinstance(li.tag, str) or li.tag.lower() != "li":
                continue
            body = re.sub(r"\n\n(?=- |\d+\. )", "\n", self.block(li))  # a nested list stays tight
            if not body:
                continue
            marker = f"{number}. " if ordered else "- "
            number += 1
            first, *rest = body.splitlines()
            lines.append(marker + first)
            lines.extend(indent + line if line else "" for line in rest)
        self.list_depth -= 1
        return "\n".join(lines)

    def definitions(self, el) -> str:
        out = []
        for child in el:
            if not isinstance(child.tag, str):
                continue
            body = self.block(child)
            if not body:
                continue
            if child.tag.lower() == "dt" and "\n" not in body and not body.startswith("**"):
                out.append(_wrap(body, "**"))
            else:
                out.append(body)
        return "\n\n".join(out)

    def table(self, el) -> str:
        rows = [tr for tr in el.iter("tr") if next(tr.iterancestors("table")) is el]
        grid = [[c for c in tr if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")] for tr in rows]
        grid = [cells for cells in grid if cells]
        layout = max((len(cells) for cells in grid), default=0) < 2 or el.find(".//table") is not None
        if layout or any(c.find(".//pre") is not None for cells in grid for c in cells):
            return "\n\n".join(b for cells in grid for c in cells if (b := self.block(c)))  # a layout table
        width = max(len(cells) for cells in grid)
        lines = []
        caption = el.find("caption")
        if caption is not None and _inline_text(caption):
            lines.append(_wrap(_inline_text(caption), "**") + "\n")
        for i, cells in enumerate(grid):
            texts = [_SPACE.sub(" ", self.block(c)).replace("|", "\\|").strip() for c in cells]
            texts += [""] * (width - len(texts))
            lines.append("| " + " | ".join(texts) + " |")
            if i == 0:
                lines.append("|" + " --- |" * width)
        return "\n".join(lines)


_BLOCK_DESCENDANTS = {"p", "div", "pre", "ul", "ol", "table", "dl", "blockquote", *_HEADING}


def _wrap(text: str, mark: str) -> str:
    stripped = text.strip()
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return f"{lead}{mark}{stripped}{mark}{trail}"


def _fence(code: str) -> str:
    code = code.replace("\r\n", "\n").replace("\u00a0", " ").strip("\n")
    if not code.strip():
        return ""
    fence = "~~~~" if "```" in code else "```"
    return f"{fence}\n{code.rstrip()}\n{fence}"


def _drop_lead_in(markdown: str) -> str:
    """Logo text and a repeated page name before the first heading ('SQLite', 'SELECT') are not content."""
    blocks = markdown.split("\n\n")
    first_heading = next((i for i, b in enumerate(blocks) if b.startswith("#")), None)
    if not first_heading:
        return markdown
    lead = blocks[:first_heading]
    if all(len(b.split()) <= 4 and not b.startswith(("```", "~~~", "|", "- ")) for b in lead):
        return "\n\n".join(blocks[first_heading:])
    return markdown


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
