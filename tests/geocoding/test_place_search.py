"""The "near" box: what can be typed or linked, read safely, and looked up without guessing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.geocoding.place_search import (
    PlaceQueryError,
    parse_place_query,
    resolve_place,
)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (",", "type a place name"),  # a lone comma used to raise IndexError (issue: ?near=,)
        (", ,", "type a place name"),  # only separators
        ("\t,\t", "type a place name"),  # tabs around a comma, as a link can carry them
        ("91, 200", "latitude must be between -90 and 90"),  # says which number is wrong
        ("45, 200", "longitude must be between -180 and 180"),
        ("-90.5 10", "latitude must be between -90 and 90"),  # a space also separates
        ("<img src=x onerror=alert(1)>", "no characters such as"),  # used to find "Uno"
        ("{{7*7}}", "no characters such as"),  # template syntax is not a town
        ("a", "type a place name"),  # one letter used to find Åfjord
        ("12", "type a place name"),  # a number alone is neither a place nor a point
    ],
)
def test_entries_that_cannot_name_a_place_say_why(query, message):
    with pytest.raises(PlaceQueryError, match=message):
        parse_place_query(query)


@pytest.mark.parametrize(
    ("query", "point", "parts"),
    [
        ("45.76, 4.84", (45.76, 4.84), ()),
        ("+45.76 ; -4.84", (45.76, -4.84), ()),  # explicit signs and a semicolon
        ("  Lyon ,  France ", None, ("Lyon", "France")),  # spaces around parts are dropped
        ("Saint   Louis", None, ("Saint Louis",)),  # runs of blanks fold to one
        ("", None, None),  # blank: no query at all (not an error)
    ],
)
def test_entries_that_parse(query, point, parts):
    parsed = parse_place_query(query)
    if parts is None:
        assert parsed is None
        return
    assert parsed.point == point
    assert parsed.parts == parts


@pytest.mark.parametrize(
    "query",
    [
        "the",  # an IATA code (THE = Teresina) among alternate names: not a place to search
        "xyz",  # likewise a short code, not a town
    ],
)
def test_short_codes_are_not_places(g, query):
    assert resolve_place(query, g) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_any_text_parses_or_says_why(text):
    """Property: any string either reads as a query (or nothing) or raises PlaceQueryError."""
    try:
        parsed = parse_place_query(text)
    except PlaceQueryError as exc:
        assert str(exc)
        return
    if parsed is not None:
        assert parsed.point is not None or parsed.parts
        if parsed.point is not None:
            lat, lon = parsed.point
            assert -90 <= lat <= 90 and -180 <= lon <= 180


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet=" ,;\t-+.0123456789abcLyon", max_size=30),
    )
)
def test_any_text_resolves_or_says_why(g, text):
    """Property: looking anything up gives a match, None, or PlaceQueryError, never a crash."""
    try:
        match = resolve_place(text, g)
    except PlaceQueryError:
        return
    if match is not None:
        assert -90 <= match.latitude <= 90 and -180 <= match.longitude <= 180
