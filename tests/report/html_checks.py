"""Reading a report or a results page as a browser would: images, links, text (stdlib only)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

from tests.blinding_leaks import revealing_strings, strings_in

SVG_URI = "data:image/svg+xml;base64,"


class Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.images: list[dict] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self._in_style = tag == "style"
        if tag == "img":
            self.images.append(attrs)
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if attrs.get(name):
                self.urls.append(attrs[name])

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if not self._in_style:  # the style sheet is not text a reader sees
            self.text.append(data)

    @property
    def svgs(self) -> list[str]:
        return [base64.b64decode(i["src"][len(SVG_URI):]).decode() for i in self.images
                if i.get("src", "").startswith(SVG_URI)]


def external_urls(page: Page) -> list[str]:
    """URLs that would leave the file: anything but an in-page anchor or a data: image."""
    return [u for u in page.urls if not (u.startswith("#") or u.startswith(SVG_URI))]


def blinded_leaks(html: str, definition: dict) -> list[str]:
    """Arm keys, labels and arm-specific feature values in the page's text, its images' texts
    and alternatives, as whole words (markup such as ``fill: none`` is not text). Shared definition texts (title, description: the same
    for every arm, and shown to blinded readers by the API too) are cut out first."""
    from xml.etree import ElementTree

    page = Page(html)
    svg_text = [" ".join(ElementTree.fromstring(svg).itertext()) for svg in page.svgs]
    attributes = [v for i in page.images for k, v in i.items() if k in ("alt", "title")]
    text = "\n".join([*page.text, *attributes, *svg_text])
    rest = {k: v for k, v in definition.items() if k not in ("arms", "factors", "homework")}
    for shared in sorted((s for s in strings_in(rest) if len(s) >= 12), key=len, reverse=True):
        text = text.replace(shared, " ")
    found = []
    for value in revealing_strings(definition):
        if not re.search(r"[A-Za-z]", value) or re.fullmatch(r"\d\d:\d\d", value):
            continue  # numbers and clock times occur in any timestamp
        if re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            found.append(value)
    return found
