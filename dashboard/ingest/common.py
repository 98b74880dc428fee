"""What both record layouts share: numbered lines, markdown unescaping, dates, criteria, facilities.

The text layout is rendered from the registry's own markdown, so both layouts undo the same
escapes and split eligibility criteria the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

# CommonMark lets any ASCII punctuation be backslash-escaped; the registry escapes `[`, `<`, `^`,
# `&`, `>=`...: all of them are undone, in both layouts.
MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# "YYYY-MM-DD", or for month precision "YYYY-MM" (read as the 1st).
ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})(?:-(?P<d>\d{2}))?$")
BULLET = re.compile(r"^(?P<indent>\s*)(?:[*\-•]|\d{1,2}[.)])\s+(?P<text>.*)$")
SITE_NUMBER = re.compile(r"\s*\bSite Number\s*:\s*(?P<number>\S+)\s*$")
GENERIC_FACILITY = "Investigational Site"


@dataclass(frozen=True)
class Line:
    """One non-blank line of a record with its 1-based line number."""

    no: int
    text: str


def unescape(text: str) -> str:
    """Undo registry markdown escapes: `\\[` -> `[`, `\\&` -> `&`, `\\>=` -> `>=`."""
    return MD_ESCAPE.sub(r"\1", text)


def parse_iso_date(text: str) -> date | None:
    """ "YYYY-MM-DD" or "YYYY-MM" (the 1st) -> date; None when it is not such a date."""
    match = ISO_DATE.match(text)
    if not match:
        return None
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"] or 1))
    except ValueError:
        return None


def criteria_items(body: Sequence[Line]) -> list[str]:
    """Bullet lines -> items.

    Sub-bullets that keep their indentation fold into their parent item ("parent\n- child");
    a line right under an item, with no blank line between, continues it (wrapped text); a
    free paragraph after a blank line, such as "Of note:", leads the bullet that follows it.
    The layout flattens most nesting, so unindented bullets are always items of their own.
    """
    items: list[str] = []
    lead: list[str] = []
    previous = -1  # line number of the last line added to an item
    for line in body:
        match = BULLET.match(line.text)
        if match:
            text = unescape(match["text"].strip())
            if match["indent"] and items and not lead:
                items[-1] = f"{items[-1]}\n- {text}"
            else:
                items.append(" ".join([*lead, text]))
                lead = []
            previous = line.no
        elif items and not lead and line.no == previous + 1:
            items[-1] = f"{items[-1]} {unescape(line.text.strip())}"
            previous = line.no
        else:
            lead.append(unescape(line.text.strip()))
    if lead:
        items.append(" ".join(lead))
    return items


def split_facility(text: str) -> tuple[str, str | None]:
    """Strip a stray '~' and split off a trailing 'Site Number :NNN'."""
    text = text.lstrip("~").strip()
    match = SITE_NUMBER.search(text)
    if not match:
        return text, None
    facility = text[: match.start()].strip()
    if facility in {"", "Investigational"}:
        facility = GENERIC_FACILITY
    return facility, match["number"]


def unknown_country(where: str, country: str) -> str:
    """The diagnostic for a site whose country no list knows (the record still loads)."""
    return (
        f"{where}: unknown country {country!r}: kept as written; the site is placed only if "
        "its city is found in a successor state"
    )
