"""A checker for the rules of RFC 4287 (The Atom Syndication Format) that a feed must meet.

No schema validator is among the test dependencies, so this walks the document and
checks each "MUST" the RFC places on feeds, entries and their constructs; its own
tests feed it broken documents to show it refuses them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import urlsplit

ATOM = "{http://www.w3.org/2005/Atom}"
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
_TEXT_TYPES = {None, "text", "html", "xhtml"}
_REGISTERED_RELS = {"alternate", "related", "self", "enclosure", "via"}
_FEED_CHILDREN = {
    "author", "category", "contributor", "generator", "icon", "id", "link", "logo",
    "rights", "subtitle", "title", "updated", "entry",
}  # fmt: skip
_ENTRY_CHILDREN = {
    "author", "category", "content", "contributor", "id", "link", "published", "rights",
    "source", "summary", "title", "updated",
}  # fmt: skip
_ONCE_IN_FEED = {"generator", "icon", "logo", "rights", "subtitle"}
_ONCE_IN_ENTRY = {"content", "published", "rights", "source", "summary"}


class AtomError(AssertionError):
    """The document breaks a rule of RFC 4287."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AtomError(message)


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return element.findall(ATOM + name)


def _exactly_one(element: ET.Element, name: str, where: str) -> ET.Element:
    found = _children(element, name)
    _check(len(found) == 1, f"{where} needs exactly one atom:{name}, has {len(found)}")
    return found[0]


def _iri(text: str | None, what: str) -> None:
    _check(bool(text and text.strip() == text), f"{what} is empty or padded: {text!r}")
    assert text is not None
    _check(bool(urlsplit(text).scheme), f"{what} is not an absolute IRI: {text!r}")


def _date(element: ET.Element, what: str) -> None:
    _check(_DATE_TIME.fullmatch(element.text or "") is not None, f"{what}: not RFC 3339")


def _text_construct(element: ET.Element, what: str) -> None:
    _check(element.get("type") in _TEXT_TYPES, f"{what}: type {element.get('type')!r}")
    if element.get("type") != "xhtml":
        _check(len(element) == 0, f"{what}: a text construct holds no child elements")


def _person(element: ET.Element, what: str) -> None:
    _exactly_one(element, "name", what)


def _links(element: ET.Element, what: str) -> None:
    alternates: Counter[tuple[str | None, str | None]] = Counter()
    for link in _children(element, "link"):
        _check(bool(link.get("href")), f"{what}: atom:link without href")
        rel = link.get("rel", "alternate")
        _check(rel in _REGISTERED_RELS or bool(urlsplit(rel).scheme), f"{what}: rel {rel!r}")
        if rel == "alternate":
            alternates[(link.get("type"), link.get("hreflang"))] += 1
    _check(
        all(n == 1 for n in alternates.values()),
        f"{what}: two alternate links with the same type and hreflang",
    )


def _common(element: ET.Element, allowed: set[str], once: set[str], what: str) -> None:
    for child in element:
        if child.tag.startswith(ATOM):
            name = child.tag[len(ATOM) :]
            _check(name in allowed, f"{what}: atom:{name} does not belong here")
    for name in once:
        _check(len(_children(element, name)) <= 1, f"{what}: more than one atom:{name}")
    _iri(_exactly_one(element, "id", what).text, f"{what} id")
    _text_construct(_exactly_one(element, "title", what), f"{what} title")
    _date(_exactly_one(element, "updated", what), f"{what} updated")
    for name in ("subtitle", "summary", "rights"):
        for found in _children(element, name):
            _text_construct(found, f"{what} {name}")
    for found in _children(element, "published"):
        _date(found, f"{what} published")
    for found in _children(element, "author") + _children(element, "contributor"):
        _person(found, what)
    for found in _children(element, "category"):
        _check(bool(found.get("term")), f"{what}: atom:category without term")
    _links(element, what)


def check_feed(document: bytes) -> ET.Element:
    """Parse an Atom feed document and raise `AtomError` unless it follows RFC 4287."""
    root = ET.fromstring(document)  # noqa: S314 - our own service's output
    _check(root.tag == ATOM + "feed", f"the root is {root.tag}, not atom:feed")
    _common(root, _FEED_CHILDREN, _ONCE_IN_FEED, "feed")
    feed_has_author = bool(_children(root, "author"))
    ids = []
    for index, entry in enumerate(_children(root, "entry")):
        what = f"entry {index}"
        _common(entry, _ENTRY_CHILDREN, _ONCE_IN_ENTRY, what)
        _check(
            feed_has_author or bool(_children(entry, "author")),
            f"{what}: no atom:author in the entry or the feed",
        )
        has_alternate = any(
            link.get("rel", "alternate") == "alternate" for link in _children(entry, "link")
        )
        _check(
            bool(_children(entry, "content")) or has_alternate,
            f"{what}: needs atom:content or an alternate link",
        )
        ids.append(_exactly_one(entry, "id", what).text)
    _check(len(ids) == len(set(ids)), "two entries share an id")
    return root
