"""The page as a patient or referring doctor uses it: "which site is closest to me, how far,
and whom do I call?" Run headless with AppTest (no browser, no network).

The pure builders behind it (links, cards, banners, plain statuses) are tested in
test_panels.py; here the page is opened with a link, as a person would.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from apptest_support import open_page as run_app
from paths import CTGOV_FIXTURES, SECOND, SECOND_TABLE, SEED, SEED_TABLE
from streamlit.testing.v1 import AppTest

from dashboard.ingest import load_trial
from dashboard.model import Contact
from dashboard.sites.table import read_table
from dashboard.ui import exports
from dashboard.ui.panels import CARD_SEPARATOR
from dashboard.ui.state import Filters, derive_view

TIMEOUT_S = 90
# "Nearest site: <facility>, <city> — <distance> <units> (<what it is measured to>)[ · status]"
ANSWER = re.compile(
    r"Nearest site: (?P<facility>.+), (?P<city>[^,]+) — (?P<distance>less than 1|[\d,]+) "
    r"(?P<units>km|mi) \((?P<basis>city centre|approximate: \w+ centre)\)(?: · (?P<status>.+))?"
)
RAW_CODES = re.compile(
    r"\b(?:RECRUITING|NOT_YET_RECRUITING|ACTIVE_NOT_RECRUITING|ENROLLING_BY_INVITATION|"
    r"COMPLETED|SUSPENDED|TERMINATED|WITHDRAWN)\b"
)
JARGON = ("gazetteer", "precision", "geocoder", "matched name", "matched_name", "registry point")
LYON = (45.74906, 4.84789)  # where the place index puts "Lyon, France"
VIENNA_SITE = "University Vienna"


def unescape(markdown: str) -> str:
    """Markdown-escaped text (as the page writes untrusted text) back to plain text."""
    return re.sub(r"\\(.)", r"\1", markdown)


def answer(at: AppTest) -> str:
    """The answer line (a subheader starting "Nearest site:"), as plain text."""
    shown = [unescape(s.value) for s in at.main.subheader]
    lines = [s for s in shown if s.startswith("Nearest site: ")]
    assert len(lines) == 1, shown
    return lines[0]


def cards(at: AppTest) -> list[str]:
    """The nearest-site cards, as the Markdown the page sends (links intact)."""
    return [
        card
        for m in at.main.markdown
        for card in m.value.split(CARD_SEPARATOR)
        if re.match(r"\*\*\d+\\\. ", card)
    ]


def patient_text(at: AppTest) -> str:
    """Everything a patient reads: the main area's text, messages, metrics and site list, and
    the sidebar's status choices (not the map's internals, not the staff's expander)."""
    main = at.main
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error"):
        parts.extend(unescape(str(e.value)) for e in getattr(main, kind))
    parts.extend(f"{m.label} {m.value}" for m in main.metric)
    placement = {id(d) for e in at.expander for d in e.dataframe}
    for frame in main.dataframe:
        if id(frame) not in placement:
            parts.append(" ".join(frame.value.columns.astype(str)))
            parts.append(frame.value.astype(str).to_csv(index=False))
    parts.extend(str(o) for ms in at.sidebar.multiselect for o in ms.options)
    return "\n".join(parts)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data/ with the seed, the second trial and COPLANT (site contacts, postcodes, statuses)."""
    for src in (SEED, SEED_TABLE, SECOND, SECOND_TABLE):
        shutil.copy(src, tmp_path / src.name)
    shutil.copy(CTGOV_FIXTURES / "NCT06323538.json", tmp_path / "NCT06323538.json")
    monkeypatch.setenv("TRIAL_SITES_DATA", str(tmp_path))
    return tmp_path


# ----------------------------------------------------------------------------- the answer


@pytest.mark.parametrize("units", ["km", "mi"])
def test_the_answer_line_names_the_nearest_site_its_distance_and_city_centre(units) -> None:
    at = run_app(near="Lyon, France", units=units)
    line = answer(at)
    match = ANSWER.fullmatch(line)
    assert match, line
    assert match["units"] == units
    assert match["basis"] == "city centre"
    # the seed has no site in Lyon: the nearest is Grenoble, about 93 km (58 mi) away
    assert match["city"] == "Grenoble"
    assert int(match["distance"].replace(",", "")) == (93 if units == "km" else 58)
    # it comes before everything else the search shows: the cards, the map, the table
    order = [e.type for e in at.main]
    assert order.index("subheader") < order.index("deck_gl_json_chart")
    # and the list under it says what the distances mean
    assert any(":small[Distances are in a straight line" in m.value for m in at.main.markdown)


def test_the_nearest_few_sites_are_cards_nearest_first(data_dir: Path) -> None:
    at = run_app(trial="NCT07062965", near="Lyon, France", units="km")
    shown = [unescape(c) for c in cards(at)]
    assert len(shown) == 5
    # Sites recruiting now come first, nearest first (Bologna, Barcelona: 500+ km away); the
    # nearest site, in Lyon itself but not yet recruiting, keeps a card, last.
    statuses = [re.search(r"\*\*(Recruiting|Not yet recruiting)\*\*", c)[1] for c in shown]
    assert statuses == ["Recruiting"] * 4 + ["Not yet recruiting"]
    assert "Bologna" in shown[0]
    lyon = shown[-1]
    assert lyon.startswith("**5. Hôpital de la Croix-Rousse**")
    # a site in the searched city itself: no "0 km", and said to be the city centre
    assert "less than 1 km away, to the centre of Lyon" in lyon
    assert "Lyon, Rhône, France" in lyon  # the address as the record gives it
    # the answer line names the nearest site, whatever its status
    assert answer(at).startswith("Nearest site: Hôpital de la Croix-Rousse, Lyon — ")
    assert ANSWER.fullmatch(answer(at))["distance"] == "less than 1"


def test_a_search_that_finds_nothing_shows_no_answer_line() -> None:
    at = run_app(near="Qwxyzzy Nowhereville")
    assert not [s for s in at.main.subheader if s.value.startswith("Nearest site")]
    assert not cards(at)


# ----------------------------------------------------------------------------- recruitment


def test_the_seed_trial_says_it_is_not_recruiting() -> None:
    # data/NCT04270409.txt: "Recruitment Status ACTIVE_NOT_RECRUITING"
    for at in (run_app(), run_app(near="Lyon, France")):
        warnings = [unescape(w.value) for w in at.main.warning]
        assert (
            "This trial is not recruiting (status: Active, not recruiting). "
            "Sites are shown for reference." in warnings
        )
    metric = {m.label: m.value for m in at.main.metric}["Trial status"]
    assert metric == "Active, not recruiting"


def test_statuses_are_plain_words_everywhere_a_patient_looks(data_dir: Path) -> None:
    at = run_app(trial="NCT07062965", near="Barcelona, Spain", units="km")
    text = patient_text(at)
    assert not RAW_CODES.search(text), RAW_CODES.search(text)
    assert "Recruiting" in text and "Not yet recruiting" in text
    # no geocoding terms, and regions without the registry's "[barcelona]" key
    for word in JARGON:
        assert word not in text.lower(), word
    assert "[barcelona]" not in text and "[cataluña]" not in text
    assert "Barcelona, Barcelona, Spain" in text
    # the patient's table has no precision column (a plain note only for approximate points
    # and for points flagged for review: this table flags its Milan and Haifa rows)
    (table,) = [d.value for d in at.main.dataframe if "facility" in d.value.columns]
    assert "precision" not in table.columns
    notes = {"", "approximate: district centre", "location to be checked"}
    assert set(table.get("location", [""])) <= notes
    assert "location to be checked" in set(table["location"])


def test_the_nearest_site_not_recruiting_is_said_and_open_sites_come_first(
    data_dir: Path,
) -> None:
    record = data_dir / "NCT06323538.json"
    study = json.loads(record.read_text(encoding="utf-8"))
    vienna = study["protocolSection"]["contactsLocationsModule"]["locations"][0]
    assert vienna["facility"] == VIENNA_SITE
    vienna["status"] = "COMPLETED"
    record.write_text(json.dumps(study), encoding="utf-8")

    at = run_app(trial="NCT06323538", near="Vienna, Austria", units="km")
    line = answer(at)
    assert line.startswith(f"Nearest site: {VIENNA_SITE}, Vienna — ")
    assert line.endswith(" · Completed")
    warnings = [unescape(w.value) for w in at.main.warning]
    assert (
        "The nearest site is not recruiting (status: Completed). Sites recruiting now are "
        "listed first below." in warnings
    )
    shown = [unescape(c) for c in cards(at)]
    # the closed site goes after every open one, though it is the nearest
    assert VIENNA_SITE not in shown[0]
    assert all("**Completed**" not in c for c in shown[:-1])
    assert "Recruiting" in shown[0] or "Not yet recruiting" in shown[0]


# ----------------------------------------------------------------------------- next steps


def test_the_study_contact_is_shown_with_call_and_mail_links(data_dir: Path) -> None:
    # NCT07062965 lists no contact per site, only the study's call centre
    trial = load_trial(data_dir / "NCT07062965.json")
    assert trial.central_contacts == (
        Contact(
            "Pfizer CT.gov Call Center",
            "",
            "1-800-718-1021",
            "ClinicalTrials.gov_Inquiries@pfizer.com",
        ),
    )
    at = run_app(trial="NCT07062965", near="Lyon, France", units="km")
    first = cards(at)[0]
    assert "Study contact: Pfizer CT\\.gov Call Center" in first
    assert "[1\\-800\\-718\\-1021](tel:18007181021)" in first
    assert "](mailto:ClinicalTrials.gov_Inquiries@pfizer.com)" in first
    assert any("the study's contact is shown.]" in m.value for m in at.main.markdown)


def test_a_sites_own_contacts_and_postcode_are_shown(data_dir: Path) -> None:
    at = run_app(trial="NCT06323538", near="Vienna, Austria", units="km")
    first = cards(at)[0]
    plain = unescape(first)
    assert plain.startswith(f"**1. {VIENNA_SITE}**")
    assert "Vienna, 1090, Austria" in plain  # the postcode from the record
    assert "Contact: Maria Wakolbinger, Prof · email" in plain
    assert "](mailto:maria.wakolbinger@meduniwien.ac.at)" in first
    assert "Study contact" not in plain  # the site's own contacts, not the study's


def test_every_card_has_directions_from_the_searched_place_and_the_study_page() -> None:
    at = run_app(near="Lyon, France", radius="200", units="km")
    shown = cards(at)
    assert shown
    route = (
        "](https://www.openstreetmap.org/directions?engine=fossgis_osrm_car"
        f"&route={LYON[0]:.5f}%2C{LYON[1]:.5f}%3B"
    )
    for card in shown:
        assert route in card
        assert "](https://clinicaltrials.gov/study/NCT04270409)" in card
        assert "](https://www.google.com/maps/search/?api=1&query=" in card


def test_site_details_keep_the_placement_for_staff_under_an_expander(data_dir: Path) -> None:
    at = run_app(trial="NCT07062965", near="Milan, Italy", units="km")
    picker = at.selectbox(key="site")
    milan = next(o for o in picker.options if o.startswith("Ospedale San Raffaele"))
    picker.select(milan).run()
    assert not at.exception
    (placed,) = [e for e in at.expander if e.label == "How this site was placed"]
    staff = [str(v) for d in placed.dataframe for v in d.value.iloc[:, 0]]
    assert "Located as" in staff and "Review" in staff
    # the patient's part of the details: address, plain status, distance to the city centre,
    # and whom to call, with no geocoding term
    details = [d.value for d in at.main.dataframe if id(d) not in {id(x) for x in placed.dataframe}]
    rows = {str(k): str(v) for d in details if "" in d.columns for k, v in d.to_numpy()}
    assert rows["Status"] in {"Recruiting", "Not yet recruiting"}
    assert rows["Distance"].endswith("(to the city centre)")
    assert "Located as" not in rows
    assert any(
        m.value.startswith("Study contact: ") and "](tel:18007181021)" in m.value
        for m in at.main.markdown
    )


# ----------------------------------------------------------------------------- uploads, export


def test_an_upload_says_it_is_shown_and_not_saved(data_dir: Path) -> None:
    at = run_app()
    data = (CTGOV_FIXTURES / "NCT06323538.json").read_bytes()
    at.file_uploader(key="upload").set_value(("coplant.json", data, "application/json")).run()
    assert not at.exception
    notes = [unescape(c.value) for c in at.main.caption]
    assert (
        "Showing your uploaded file coplant.json — not saved; the link does not include it."
        in notes
    )
    assert any("uploaded file is shown instead" in c.value for c in at.sidebar.caption)
    assert "NCT06323538" in " ".join(m.value for m in at.main.markdown)


def test_the_csv_download_says_which_rows_need_review() -> None:
    # what the page's "Download CSV" button serves: the view's rows through to_csv_bytes
    table = read_table(SECOND_TABLE)
    view = derive_view(table, Filters(trial="NCT07062965"), lambda _: None)
    rows = list(csv.DictReader(io.StringIO(exports.to_csv_bytes(view.rows).decode("utf-8"))))
    assert "needs_review" in rows[0]
    flagged = {r["facility"] for r in rows if r["needs_review"] == "true"}
    assert any("San Raffaele" in f for f in flagged)
    assert any("Rambam" in f for f in flagged)
    assert {r["needs_review"] for r in rows} == {"true", "false"}
