"""Hostile text in a record is shown as text: nothing in it runs, links or renders as markup.

`tests/fixtures/hostile/NCT99999999.txt` is a record in the text layout whose title, facility
names, a city, eligibility, arms, interventions and sponsor carry HTML (`<img onerror>`,
`<script>`), Markdown links and images, `javascript:` URLs and a spreadsheet formula. The
parser keeps them verbatim (it is not its job to clean); every place that shows them must:
pydeck tooltips are `{"text": ...}` (deck.gl inserts text, not HTML), Markdown is escaped,
table cells hold the literal characters, and CSV exports defuse formulas.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from paths import APP, HOSTILE, ROOT

from dashboard.ingest import load_trial

APP_TIMEOUT_S = 90

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"
MD_LINK = "[click here](javascript:window.__pwned=1)"
MD_IMAGE = "![pixel](javascript:window.__pwned=1)"
JS_URL = "javascript:window.__pwned=1"
FORMULA = '=HYPERLINK("javascript:window.__pwned=1";"Click")'
PAYLOADS = [IMG, SCRIPT, MD_LINK, MD_IMAGE, JS_URL, FORMULA]

# Markdown that would do something if it reached st.markdown unescaped.
LIVE_MARKUP = re.compile(
    r"(?<!\\)<(?:img|script)\b"  # raw HTML
    r"|(?<!\\)\]\((?:javascript|http)"  # a link or image target
    r"|(?<!\\)!\[",  # an image
    re.I,
)


@pytest.fixture(scope="module")
def trial():
    return load_trial(HOSTILE)


@pytest.fixture(scope="module")
def table(trial):
    from dashboard.geocoding.sources import offline_geocoder
    from dashboard.sites.build import build_table

    return build_table(trial, existing=None, geocoder=offline_geocoder()).table


def unescape(markdown: str) -> str:
    """What a Markdown renderer shows for backslash-escaped text (CommonMark: `\\x` -> `x`)."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("  \n", "\n"))


# ----------------------------------------------------------------------------- the parser


def test_parser_keeps_hostile_text_verbatim(trial) -> None:
    assert IMG in trial.title and SCRIPT in trial.title and MD_LINK in trial.title
    facilities = [s.facility for s in trial.sites]
    assert facilities[0] == f"Clinic {IMG}"
    assert facilities[1] == f"Hospital {SCRIPT}"
    assert facilities[2] == FORMULA
    assert facilities[3] == f"Centre {MD_LINK} {MD_IMAGE}"
    assert trial.sites[4].city == f"Springfield {SCRIPT}"
    assert any(IMG in c for c in trial.eligibility.inclusion)
    assert any(MD_IMAGE in c for c in trial.eligibility.exclusion)
    assert SCRIPT in trial.arms[0].description and MD_LINK in trial.arms[0].description


# ----------------------------------------------------------------------------- pure builders


def test_map_tooltips_are_text_never_html(table) -> None:
    from dashboard.ui import map as views

    points = views.site_points(table, {}, "country")
    deck = views.build_deck(points, None)
    # what st.pydeck_chart sends (outside Jupyter it reads `_tooltip`): deck.gl's `text`
    # tooltip is set with innerText; an `html` one would be parsed as HTML
    assert deck._tooltip == {"text": "{tip}"}
    assert "html" not in deck.to_json().lower().replace("hyperlink", "")
    tips = "\n".join(p["tip"] for p in points)
    # the placed hostile sites carry their names literally in the tooltip
    assert IMG in tips and SCRIPT in tips and MD_LINK in tips


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_markdown_has_no_live_markup(payload) -> None:
    from dashboard.ui.panels import escape_markdown

    escaped = escape_markdown(f"Title {payload} end")
    assert not LIVE_MARKUP.search(escaped), escaped
    # ":" escaped too, so no "javascript:" autolink and no Streamlit :colour[...] directive
    assert "javascript:" not in escaped
    # escaping only adds backslashes: the reader still sees every character
    assert unescape(escaped) == f"Title {payload} end"


def test_site_table_cells_keep_the_literal_characters(trial, table) -> None:
    from dashboard.ui import exports

    shown = exports.site_table(table)
    assert shown["facility"].tolist() == [s.facility for s in trial.sites]
    assert f"Springfield {SCRIPT}" in shown["city"].tolist()


def test_panel_tables_keep_the_literal_characters(trial) -> None:
    from dashboard.ui import panels

    arms = panels.arms_table(trial).astype(str).to_numpy().ravel().tolist()
    assert any(SCRIPT in cell and MD_LINK in cell for cell in arms)
    interventions = panels.interventions_table(trial).astype(str).to_numpy().ravel().tolist()
    assert any(IMG in cell for cell in interventions)
    sponsors = panels.sponsors_table(trial).astype(str).to_numpy().ravel().tolist()
    assert any(SCRIPT in cell for cell in sponsors)


def test_csv_export_defuses_spreadsheet_formulas(table) -> None:
    from dashboard.ui import exports

    rows = list(csv.DictReader(io.StringIO(exports.to_csv_bytes(table).decode("utf-8"))))
    facilities = [r["facility"] for r in rows]
    assert "'" + FORMULA in facilities
    assert not any(f.startswith(("=", "+", "-", "@")) for f in facilities)
    # everything else is exported as it is
    assert f"Clinic {IMG}" in facilities


def test_geojson_export_keeps_text_as_json_strings(table) -> None:
    from dashboard.ui import exports

    data = json.loads(exports.to_geojson_bytes(table))
    names = [f["properties"]["facility"] for f in data["features"]]
    assert f"Hospital {SCRIPT}" in names


def test_app_never_asks_streamlit_to_render_raw_html() -> None:
    """No code path can hand record text to an HTML renderer."""
    modules = sorted((ROOT / "dashboard").rglob("*.py"))  # every subpackage, the page included
    assert APP in modules and ROOT / "dashboard" / "ui" / "page.py" in modules
    for module in modules:
        source = module.read_text(encoding="utf-8")
        for forbidden in ("unsafe_allow_html", "st.html", "components.html", '"html":'):
            assert forbidden not in source, f"{module.relative_to(ROOT)}: {forbidden}"


# ----------------------------------------------------------------------------- the page


def _all_markdown(at) -> list[str]:
    """Every Markdown string the page sends (title, text, captions, alerts, metrics)."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error"):
        out.extend(str(e.value) for e in getattr(at, kind))
    return out


@pytest.fixture(scope="module")
def hostile_page():
    """The app with the hostile record uploaded (the way untrusted text arrives)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    at.run()
    at.file_uploader(key="upload").set_value(
        (HOSTILE.name, HOSTILE.read_bytes(), "text/plain")
    ).run()
    assert not at.exception, at.exception
    return at


def test_page_shows_the_hostile_record(hostile_page) -> None:
    assert not hostile_page.sidebar.error, [e.value for e in hostile_page.sidebar.error]
    assert "NCT99999999" in "\n".join(_all_markdown(hostile_page))


def test_page_markdown_is_all_escaped(hostile_page) -> None:
    texts = _all_markdown(hostile_page)
    hostile = [t for t in texts if "pwned" in t]
    assert hostile, "the hostile text should be on the page"
    for text in hostile:
        assert not LIVE_MARKUP.search(text), text
    # the title reads, once unescaped by the Markdown renderer, exactly as in the record: the
    # page shows it cut short (a phone's first screen) and in full a tap away ("Full title")
    full = load_trial(HOSTILE).title
    title = unescape(hostile_page.title[0].value)
    assert full.startswith(title.removesuffix("…"))
    assert full in [unescape(m.value) for m in hostile_page.markdown]


def test_page_tables_show_the_literal_characters(hostile_page) -> None:
    cells = set()
    for frame in hostile_page.dataframe:
        cells.update(frame.value.astype(str).to_numpy().ravel().tolist())
    for expected in (f"Clinic {IMG}", f"Hospital {SCRIPT}", f"Springfield {SCRIPT}"):
        assert expected in cells, expected


def test_page_map_tooltip_is_text(hostile_page) -> None:
    charts = hostile_page.get("deck_gl_json_chart")
    assert charts, "the page should draw the map"
    assert json.loads(charts[0].proto.tooltip) == {"text": "{tip}"}
    spec = json.loads(charts[0].proto.json)
    tips = [
        point["tip"]
        for layer in spec["layers"]
        for point in layer.get("data", [])
        if "tip" in point
    ]
    assert any(IMG in tip for tip in tips)  # shipped as data, drawn as text
