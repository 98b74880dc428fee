"""The place search both pages share (Streamlit): the "near" box, the radius and units, and the
"Did you mean" choices. Each page passes its own widget keys, so the two views keep their own
searches in one session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from dashboard.ui import panels
from dashboard.ui import state as flt

# The radius box: room for "Any distance" and its arrow.
SELECT_WIDTH_PX = 170
# The place box: the examples fit, and a phone (390 px, 358 px of page) gives it a line of its
# own (a width over the page's is cut to the page's).
PLACE_WIDTH_PX = 420
PLACEHOLDER = "02115  ·  Lyon, France  ·  45.76, 4.84"
HELP = (
    "A US ZIP code (02115), a postcode (75013, SW1A), a city with its state or country "
    "(Boston MA, Lyon France), or latitude, longitude."
)


@dataclass(frozen=True)
class SearchKeys:
    """The session-state keys of one page's search widgets."""

    near: str
    radius: str
    units: str
    choice_prefix: str


def _default_radius(keys: SearchKeys) -> None:
    """A place typed with no radius chosen starts at NCI's default (100 mi, or 200 km)."""
    near = (st.session_state.get(keys.near) or "").strip()
    if near and flt.radius_from_widget_or_none(st.session_state.get(keys.radius)) is None:
        units = st.session_state.get(keys.units) or flt.DEFAULT_UNITS
        st.session_state[keys.radius] = str(flt.DEFAULT_RADIUS[units])


def _units_shown_key(keys: SearchKeys) -> str:
    return f"_{keys.units}_shown"


def _convert_radius(keys: SearchKeys) -> None:
    """New units: the radius keeps its distance (50 mi becomes 80 km; the default becomes the
    new units' default), instead of its number changing meaning."""
    old = st.session_state.get(_units_shown_key(keys)) or flt.DEFAULT_UNITS
    new = st.session_state.get(keys.units) or flt.DEFAULT_UNITS
    st.session_state[keys.radius] = flt.radius_in_units(st.session_state.get(keys.radius), old, new)


def _choose_place(keys: SearchKeys, entry: str) -> None:
    """A "Did you mean" choice goes into the place box."""
    st.session_state[keys.near] = entry


def place_search_box(keys: SearchKeys, label: str) -> None:
    """The search, on the page itself (a phone never has to open the sidebar): a ZIP code,
    postcode, city or "lat, lon", a radius (presets or typed), and units."""
    units = st.session_state.get(keys.units) or flt.DEFAULT_UNITS
    st.session_state[_units_shown_key(keys)] = units  # what a change of units converts from
    current = flt.radius_to_widget_value(st.session_state.get(keys.radius))
    options = flt.radius_options()
    if current not in options:
        options.append(current)  # a typed or linked radius stays selectable
    st.session_state[keys.radius] = current
    # One wrapping row (one block, where columns take one per column plus theirs): the box
    # is wider than a phone's page, so there it takes a line and the radius and units share
    # the next; on a laptop all three stand in one line.
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.text_input(
        label,
        key=keys.near,
        max_chars=flt.MAX_NEAR_CHARS,
        placeholder=PLACEHOLDER,
        on_change=_default_radius,
        args=(keys,),
        help=HELP,
        width=PLACE_WIDTH_PX,
    )
    row.selectbox(
        "Within",
        options,
        key=keys.radius,
        accept_new_options=True,
        format_func=lambda v: v if v == flt.ANY_DISTANCE else f"{v} {units}",
        help="Pick a distance, or type your own number.",
        width=SELECT_WIDTH_PX,
    )
    row.radio(
        "Units",
        flt.UNITS,
        key=keys.units,
        horizontal=True,
        width="content",
        on_change=_convert_radius,
        args=(keys,),
    )


def place_choices(keys: SearchKeys, shown: str, choices: Sequence[tuple[str, str]]) -> None:
    """ "Did you mean…": the other readings of an ambiguous place, one tap each."""
    if not choices:
        return
    st.caption(f"Showing {panels.escape_markdown(shown)}. Did you mean:")
    for i, (label, entry) in enumerate(choices):
        st.button(
            panels.escape_markdown(label),
            key=f"{keys.choice_prefix}{i}",
            on_click=_choose_place,
            args=(keys, entry),
        )
