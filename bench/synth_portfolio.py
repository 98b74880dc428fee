"""Write a synthetic ClinicalTrials.gov bulk download: a zip of API v2 study JSON, one per member.

    python bench/synth_portfolio.py OUT.zip [--studies 200000] [--sites 1000000] [--seed 1]
                                            [--real DIR | --no-real] [--stored] [--no-check]

The registry's bulk download is one zip holding `NCTxxxxxxxx.json` per study, each an API v2
study object (`{"protocolSection": {...}, "hasResults": ...}`). This script writes the same
shape, member by member (`ZipFile.writestr`); no study is kept once written. Held for the
whole run are only per-study numbers (site counts, ids) and caches of the places and
facilities used (about 370 MB peak at full size, a third of it the gazetteer); studies and
their sites are drawn and written in chunks of `CHUNK` studies. The real records in `--real
DIR` (default: the geocoding evaluation's `tests/places/eval/records/`) are copied in byte for
byte, in NCT order among the synthetic ones; no synthetic id takes a real record's id.

The model, and the public figures it leans on
---------------------------------------------
* Scale. ClinicalTrials.gov holds about 600,000 studies and about 3.3 million site rows
  ("locations"), about 5.6 sites per study. The default here is a third of that: 200,000
  studies and 1,000,000 sites (5 per study).
* Sites per study are heavy-tailed. About 3% of studies list no site at all (the registry has
  many such records); the rest follow a truncated discrete power law P(n) ~ n^-a on
  1..MAX_SITES, with `a` solved so the expected total is the requested one (a ~= 2 for 5 per
  study: about 60% of studies have 1 site, 30% 2-10, 1% 50-300, a few hundred studies more).
  The drawn total is then nudged by +-1 on random multi-site studies to hit `--sites` exactly.
* Dates follow the NCT number: ids are handed out in order of registration, so each id gets a
  first-submitted date from anchors of known ids (NCT01000000 ~ Oct 2009, NCT04000000 ~ Jul
  2019, NCT07000000 ~ Jun 2025). Start, completion and last-update dates follow from it.
* Overall status depends on how long ago the study was registered (recent: recruiting or not
  yet recruiting; old: completed, terminated, "unknown"), which gives the registry's overall
  mix: about half COMPLETED, 10-15% RECRUITING, 15% UNKNOWN, 5-6% TERMINATED, 3% WITHDRAWN.
  Trials with 11+ sites recruit for years, so half of them draw their status as if registered
  more recently: about a fifth of site rows then belong to recruiting studies (the registry's
  0.5-1 million of 3.3 million).
  Sites carry a status only in studies that are recruiting, not yet recruiting or enrolling
  by invitation (as in the registry, where closed studies' locations have none).
* Bigger studies are different studies: the share of phase 3 trials, of industry sponsors and
  of multinational site lists all grow with the number of sites (a 1-site study is mostly an
  academic, single-country, phase NA or observational study; a 200-site one is mostly an
  industry phase 3 run in many countries).
* Places come from the project's gazetteer (GeoNames cities500). A study has a home country
  (from COUNTRY_TABLE's weights, or its academic sponsor's country); a multinational study
  draws each site's country from the same weights. Within a country a site's place is drawn
  with probability proportional to population^1.3 among places of at least 20,000 people
  (trial sites gather in big hospital cities more than people do), growing only as
  population^0.8 above 2 million (a megacity has a handful of academic centres, not ten
  times a city's), three times more in the home cities of well-known academic sponsors
  (Boston, Houston, Rochester MN, Lyon, Kyoto...), or, for SMALL_TOWN_SHARE of sites,
  proportional to population among towns of 2,000-20,000. Sections of cities that GeoNames
  lists as places ("Paris 13 Gobelins", "Upper West Side") are left out (`city_sections`).
* Facilities are a property of the world, not of the seed: a city of population p has about
  sqrt(p / 20,000) facilities (New York City ~20, a town of 20,000 one), named from per-country
  templates ("CHU de Lyon", "Universitätsklinikum Köln", "Boston University Hospital") and
  picked with a skew to the first ones, so the same hospital hosts many trials. Each facility
  has a fixed point a few km from its city's centre; GEO_POINT_SHARE of sites carry it as
  `geoPoint` (the registry's own points come from geocoding the city). A few sponsors write
  their site names the way they do in the registry ("Research Site", "Local Institution -
  0123", "Investigational Site Number : 2500001", "Mayo Clinic ( Site 0042)").
* Country and state as the registry writes them: "United States", "Korea, Republic of" (or
  "South Korea": real records use both), "Turkey" or "Turkey (Türkiye)"; the state is the
  GeoNames admin1 name ("Massachusetts", "Île-de-France"), always given in the US and with a
  per-country probability elsewhere (the registry's non-US records give it about half the
  time).
* Conditions come from ~100 real condition terms in six areas, skewed towards oncology;
  titles are built from a condition and an intervention (an industry code like "PF-07512345"
  or a real generic name, a behavioural or device intervention for phase NA studies).

Output depends only on the arguments, the seed and the installed gazetteer (its place names,
populations and points); zip entries carry a fixed timestamp, so one seed gives identical bytes.
Synthetic records are plainly fake where it matters: contacts use `example.org` and 555
numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dashboard.geo import distances_km
from dashboard.ingest import parse_record
from dashboard.model import is_nct_id
from dashboard.places.index import Gazetteer, load_gazetteer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REAL = ROOT / "tests" / "places" / "eval" / "records"
DEFAULT_STUDIES = 200_000
DEFAULT_SITES = 1_000_000
CHUNK = 4096  # studies drawn and written per batch (fixed: part of what a seed means)
ZIP_TIME = (2025, 9, 1, 0, 0, 0)  # every member's timestamp, so output bytes are repeatable
DEFLATE_LEVEL = 1  # zlib level 1: most of level 6's gain on JSON at a fraction of the time

# --- Sites per study -------------------------------------------------------------------------
NO_SITE_SHARE = 0.03  # records with no location at all
MAX_SITES = 1000  # the registry's largest studies list a few thousand; 1000 keeps variance sane
# Size classes (0-1, 2-10, 11-49, 50+ sites): phase, sponsor, multinational mix depend on them.
SIZE_CLASS_EDGES = (2, 11, 50)

# --- Places ----------------------------------------------------------------------------------
CITY_MIN_POP = 20_000  # "hospital cities"
TOWN_MIN_POP = 2_000
SECTION_POP_RATIO = 5  # a place this much smaller inside a city's radius is part of it
SECTION_MIN_CITY_POP = 200_000  # smaller cities' sections hardly matter (radius < 3 km)
CITY_DENSITY_PER_KM2 = 8000.0  # sets a city's radius from its population (Paris: ~9 km)
CITY_POP_EXPONENT = 1.3  # > 1: sites concentrate in big cities more than population does
# ...up to a point: a megacity has a handful of academic centres, not ten times a city's. Above
# the knee the weight grows as population^0.8 (New York's share of US sites falls from 13% to
# 5%; its boroughs are listed as places of their own too), and the home cities of well-known
# academic sponsors below the knee (Boston, Houston, Rochester MN, Lyon, Kyoto...) weigh
# HUB_BONUS times more, as the registry's site counts are dominated by such hospital hubs.
CITY_POP_KNEE = 2_000_000
ABOVE_KNEE_EXPONENT = 0.8
HUB_BONUS = 3.0
SMALL_TOWN_SHARE = 0.08  # share of sites in towns of TOWN_MIN_POP..CITY_MIN_POP
FACILITY_POP_UNIT = 20_000  # a city has about sqrt(pop / unit) facilities
MAX_FACILITIES = 40
FACILITY_SKEW = 2.0  # k = floor(F * u^skew): the first facilities host most trials
GEO_POINT_SHARE = 0.90
JITTER_KM_MIN, JITTER_KM_MAX = 1.0, 9.0  # facility offset from the city centre
KM_PER_DEGREE = 111.2
# Registry records outside the US give a state about half the time; these are per country.
STATE_SHARE_DEFAULT = 0.5
# Multinational share of site lists, by size class.
MULTINATIONAL_SHARE = (0.0, 0.12, 0.45, 0.80)
SPONSOR_CITY_SHARE = 0.6  # academic study: first site at the sponsor's own hospital

# Country mix of site rows: (ISO code, weight in % of site rows, registry spellings, state
# share). The weights are rounded from public counts, not measured here: ClinicalTrials.gov's
# "studies by location" map puts about 35-40% of studies with a site in the United States,
# about a quarter in Europe (France, Germany, Spain, Italy, the UK first), about 15% in East
# Asia (China by far the largest, then Korea, Japan, Taiwan), Canada and Australia a few
# percent each, and Latin America (Brazil, Mexico, Argentina) and the Middle East (Egypt,
# Turkey, Israel, Iran) each a few percent. Site rows weigh the US a little more than studies
# do, because the largest multi-site trials (NCI networks, industry phase 3) are US-heavy; in
# this repository's 92 real records the US holds half the rows, which is the upper bound.
COUNTRY_TABLE: tuple[tuple[str, float, tuple[str, ...], float], ...] = (
    ("US", 38.0, ("United States",), 1.0),
    ("CN", 5.5, ("China",), 0.75),
    ("FR", 4.5, ("France",), 0.6),
    ("DE", 4.0, ("Germany",), 0.45),
    ("ES", 4.0, ("Spain",), 0.45),
    ("IT", 3.5, ("Italy",), 0.5),
    ("GB", 3.0, ("United Kingdom",), 0.35),
    ("CA", 3.0, ("Canada",), 0.95),
    ("JP", 2.5, ("Japan",), 0.65),
    ("KR", 2.0, ("Korea, Republic of", "South Korea"), 0.6),
    ("PL", 2.0, ("Poland",), 0.45),
    ("AU", 2.0, ("Australia",), 0.95),
    ("BE", 1.5, ("Belgium",), 0.55),
    ("NL", 1.3, ("Netherlands",), 0.6),
    ("BR", 1.5, ("Brazil",), 0.7),
    ("TR", 1.2, ("Turkey", "Turkey (Türkiye)"), 0.15),
    ("EG", 1.2, ("Egypt",), 0.3),
    ("RU", 1.0, ("Russian Federation",), 0.3),
    ("TW", 1.0, ("Taiwan",), 0.0),
    ("IL", 0.9, ("Israel",), 0.6),
    ("CZ", 0.9, ("Czechia",), 0.6),
    ("HU", 0.8, ("Hungary",), 0.4),
    ("MX", 1.0, ("Mexico",), 0.6),
    ("AR", 0.9, ("Argentina",), 0.6),
    ("IN", 1.0, ("India",), 0.9),
    ("DK", 0.7, ("Denmark",), 0.3),
    ("SE", 0.6, ("Sweden",), 0.3),
    ("CH", 0.6, ("Switzerland",), 0.15),
    ("AT", 0.6, ("Austria",), 0.5),
    ("GR", 0.4, ("Greece",), 0.8),
    ("PT", 0.4, ("Portugal",), 0.4),
    ("RO", 0.4, ("Romania",), 0.45),
    ("BG", 0.4, ("Bulgaria",), 0.3),
    ("UA", 0.4, ("Ukraine",), 0.5),
    ("FI", 0.3, ("Finland",), 0.4),
    ("NO", 0.3, ("Norway",), 0.3),
    ("IE", 0.3, ("Ireland",), 0.25),
    ("ZA", 0.6, ("South Africa",), 0.85),
    ("CL", 0.3, ("Chile",), 0.5),
    ("CO", 0.3, ("Colombia",), 0.7),
    ("PE", 0.2, ("Peru",), 0.4),
    ("TH", 0.3, ("Thailand",), 0.5),
    ("SG", 0.3, ("Singapore",), 0.0),
    ("HK", 0.3, ("Hong Kong",), 0.0),
    ("MY", 0.2, ("Malaysia",), 0.5),
    ("PH", 0.2, ("Philippines",), 0.5),
    ("VN", 0.15, ("Vietnam",), 0.3),
    ("IR", 0.5, ("Iran, Islamic Republic of",), 0.4),
    ("PK", 0.4, ("Pakistan",), 0.4),
    ("SA", 0.2, ("Saudi Arabia",), 0.3),
    ("NZ", 0.3, ("New Zealand",), 0.3),
    ("RS", 0.2, ("Serbia",), 0.2),
    ("SK", 0.2, ("Slovakia",), 0.3),
    ("HR", 0.15, ("Croatia",), 0.2),
    ("LT", 0.1, ("Lithuania",), 0.2),
    ("LV", 0.1, ("Latvia",), 0.2),
    ("EE", 0.1, ("Estonia",), 0.2),
    ("SI", 0.1, ("Slovenia",), 0.2),
    ("GE", 0.15, ("Georgia",), 0.2),
    ("NG", 0.1, ("Nigeria",), 0.5),
    ("KE", 0.1, ("Kenya",), 0.3),
    ("UG", 0.1, ("Uganda",), 0.0),
    ("TN", 0.1, ("Tunisia",), 0.3),
    ("JO", 0.05, ("Jordan",), 0.2),
    ("LB", 0.05, ("Lebanon",), 0.2),
    ("ID", 0.1, ("Indonesia",), 0.5),
    ("BD", 0.1, ("Bangladesh",), 0.3),
)

# Facility name templates by country ({c} = the city); DEFAULT_FACILITIES elsewhere.
DEFAULT_FACILITIES = (
    "{c} University Hospital",
    "{c} Cancer Center",
    "{c} General Hospital",
    "{c} Medical Center",
    "{c} Clinical Research Center",
    "{c} Regional Medical Center",
    "{c} Children's Hospital",
    "St. Luke's Hospital {c}",
    "{c} Oncology Associates",
    "{c} Heart Institute",
    "{c} Research Institute",
    "Mercy Hospital {c}",
)
FACILITIES_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "FR": (
        "CHU de {c}",
        "Centre Hospitalier de {c}",
        "Institut de Cancérologie de {c}",
        "Hôpital Privé de {c}",
        "Clinique de {c}",
    ),
    "DE": (
        "Universitätsklinikum {c}",
        "Klinikum {c}",
        "Krankenhaus {c}",
        "Studienzentrum {c}",
        "Onkologische Praxis {c}",
    ),
    "AT": ("Universitätsklinikum {c}", "Landeskrankenhaus {c}", "Klinikum {c}"),
    "ES": (
        "Hospital Universitario de {c}",
        "Hospital General de {c}",
        "Hospital Clínico de {c}",
        "Hospital Quirónsalud {c}",
    ),
    "IT": (
        "Azienda Ospedaliero-Universitaria di {c}",
        "Ospedale di {c}",
        "Istituto Oncologico di {c}",
        "Policlinico di {c}",
    ),
    "CN": (
        "{c} People's Hospital",
        "The First Affiliated Hospital of {c} Medical University",
        "{c} Cancer Hospital",
        "{c} Second People's Hospital",
        "{c} Hospital of Traditional Chinese Medicine",
    ),
    "JP": (
        "{c} University Hospital",
        "{c} City Hospital",
        "{c} Red Cross Hospital",
        "National Hospital Organization {c} Medical Center",
    ),
    "KR": ("{c} National University Hospital", "{c} St. Mary's Hospital", "{c} Medical Center"),
    "BR": (
        "Hospital de Clínicas de {c}",
        "Hospital Universitário de {c}",
        "Instituto de Oncologia de {c}",
    ),
    "PT": ("Hospital de {c}", "Centro Hospitalar Universitário de {c}"),
    "NL": ("Universitair Medisch Centrum {c}", "Ziekenhuis {c}"),
    "BE": ("Universitair Ziekenhuis {c}", "CHU de {c}", "AZ {c}"),
    "PL": ("Szpital Uniwersytecki {c}", "Centrum Medyczne {c}", "Szpital Wojewódzki {c}"),
    "EG": ("{c} University Hospital", "{c} University", "{c} Oncology Center"),
}

# Site names some sponsors give in the registry instead of the hospital's name.
# {n} = a site number fixed per facility, {name} = the hospital.
SPONSOR_SITE_STYLE = {
    "AstraZeneca": "Research Site",
    "Novartis Pharmaceuticals": "Novartis Investigative Site",
    "GlaxoSmithKline": "GSK Investigational Site",
    "Bristol-Myers Squibb": "Local Institution - {n:04d}",
    "Sanofi": "Investigational Site Number : {cc:03d}{n:04d}",
    "Merck Sharp & Dohme LLC": "{name} ( Site {n:04d})",
    "Boehringer Ingelheim": "Boehringer Ingelheim Investigational Site",
}
SPONSOR_SITE_STYLE_SHARE = 0.8
UNIVERSITY_CITY_POP = 150_000  # smaller cities' first facility is not a university hospital
TOWN_FACILITIES = ("{c} Community Hospital", "{c} Medical Clinic", "{c} Family Practice")

# --- Sponsors --------------------------------------------------------------------------------
# Industry: (name as the registry writes it, drug code prefix).
INDUSTRY = (
    ("Pfizer", "PF-0"),
    ("Hoffmann-La Roche", "RO"),
    ("Novartis Pharmaceuticals", "LNP"),
    ("AstraZeneca", "AZD"),
    ("Merck Sharp & Dohme LLC", "MK-"),
    ("GlaxoSmithKline", "GSK"),
    ("Sanofi", "SAR"),
    ("Bristol-Myers Squibb", "BMS-"),
    ("Eli Lilly and Company", "LY"),
    ("Janssen Research & Development, LLC", "JNJ-"),
    ("AbbVie", "ABBV-"),
    ("Amgen", "AMG "),
    ("Bayer", "BAY "),
    ("Boehringer Ingelheim", "BI "),
    ("Takeda", "TAK-"),
    ("Novo Nordisk A/S", "NNC"),
    ("Gilead Sciences", "GS-"),
    ("Genentech, Inc.", "RG"),
    ("Astellas Pharma Inc", "ASP"),
    ("Daiichi Sankyo", "DS-"),
    ("Eisai Inc.", "E"),
    ("Regeneron Pharmaceuticals", "REGN"),
    ("Biogen", "BIIB"),
    ("Vertex Pharmaceuticals Incorporated", "VX-"),
    ("BeiGene", "BGB-"),
    ("Jiangsu HengRui Medicine Co., Ltd.", "SHR-"),
    ("Moderna", "mRNA-"),
    ("Otsuka Pharmaceutical Co., Ltd.", "OPC-"),
    ("Celgene", "CC-"),
    ("Seagen Inc.", "SGN-"),
    ("Incyte Corporation", "INCB"),
    ("Ipsen", "IPN"),
    ("Servier", "S"),
    ("UCB Biopharma SRL", "UCB"),
    ("H. Lundbeck A/S", "Lu AF"),
    ("Teva Branded Pharmaceutical Products R&D, Inc.", "TV-"),
    ("Alexion Pharmaceuticals, Inc.", "ALXN"),
    ("Jazz Pharmaceuticals", "JZP"),
    ("Chugai Pharmaceutical", "CH"),
    ("Ono Pharmaceutical Co. Ltd", "ONO-"),
    ("Shionogi", "S-"),
    ("Kyowa Kirin Co., Ltd.", "KHK"),
    ("CSL Behring", "CSL"),
    ("Grifols Therapeutics LLC", "GRF"),
    ("Menarini Group", "MEN"),
    ("Chiesi Farmaceutici S.p.A.", "CHF"),
    ("Pierre Fabre Medicament", "F"),
    ("LEO Pharma", "LP"),
    ("Ferring Pharmaceuticals", "FE "),
    ("Sumitomo Pharma Co., Ltd.", "DSP-"),
    ("Zai Lab (Shanghai) Co., Ltd.", "ZL-"),
    ("Innovent Biologics (Suzhou) Co. Ltd.", "IBI"),
    ("Shanghai Junshi Bioscience Co., Ltd.", "JS"),
    ("Akeso", "AK"),
    ("Hutchison Medipharma Limited", "HMPL-"),
    ("Sino Biopharmaceutical", "TQB"),
    ("Hansoh BioMedical R&D Company", "HS-"),
    ("Celltrion", "CT-P"),
    ("Samsung Bioepis Co., Ltd.", "SB"),
    ("Hanmi Pharmaceutical Company Limited", "HM"),
    ("Allergan", "AGN-"),
    ("Mallinckrodt", "MNK"),
    ("Alnylam Pharmaceuticals", "ALN-"),
    ("Ionis Pharmaceuticals, Inc.", "ISIS "),
    ("BioNTech SE", "BNT"),
    ("Medtronic", "MDT-"),
    ("Abbott Medical Devices", "ABT-"),
    ("Boston Scientific Corporation", "BSC-"),
    ("Edwards Lifesciences", "EW-"),
    ("Dexcom, Inc.", "DX-"),
)
# Networks and government funders (registry classes NIH / NETWORK / FED).
NETWORKS = (
    ("National Cancer Institute (NCI)", "NIH"),
    ("Alliance for Clinical Trials in Oncology", "NETWORK"),
    ("ECOG-ACRIN Cancer Research Group", "NETWORK"),
    ("NRG Oncology", "NETWORK"),
    ("SWOG Cancer Research Network", "NETWORK"),
    ("Children's Oncology Group", "NETWORK"),
    ("European Organisation for Research and Treatment of Cancer - EORTC", "NETWORK"),
    ("National Institute of Allergy and Infectious Diseases (NIAID)", "NIH"),
    ("National Heart, Lung, and Blood Institute (NHLBI)", "NIH"),
    ("VA Office of Research and Development", "FED"),
    ("Canadian Cancer Trials Group", "NETWORK"),
    ("UNICANCER", "NETWORK"),
)
# Academic sponsors with a home city: (name, city as GeoNames names it, country code).
ACADEMIC = (
    ("Cairo University", "Cairo", "EG"),
    ("Assiut University", "Asyut", "EG"),
    ("M.D. Anderson Cancer Center", "Houston", "US"),
    ("Memorial Sloan Kettering Cancer Center", "New York City", "US"),
    ("Mayo Clinic", "Rochester", "US"),
    ("Massachusetts General Hospital", "Boston", "US"),
    ("Assistance Publique - Hôpitaux de Paris", "Paris", "FR"),
    ("Sun Yat-sen University", "Guangzhou", "CN"),
    ("Fudan University", "Shanghai", "CN"),
    ("Seoul National University Hospital", "Seoul", "KR"),
    ("Ain Shams University", "Cairo", "EG"),
    ("Duke University", "Durham", "US"),
    ("Stanford University", "Stanford", "US"),
    ("University of California, San Francisco", "San Francisco", "US"),
    ("Samsung Medical Center", "Seoul", "KR"),
    ("Asan Medical Center", "Seoul", "KR"),
    ("Hospices Civils de Lyon", "Lyon", "FR"),
    ("Peking Union Medical College Hospital", "Beijing", "CN"),
    ("West China Hospital", "Chengdu", "CN"),
    ("Zhejiang University", "Hangzhou", "CN"),
    ("Tel-Aviv Sourasky Medical Center", "Tel Aviv", "IL"),
    ("Rigshospitalet, Denmark", "Copenhagen", "DK"),
    ("Karolinska Institutet", "Stockholm", "SE"),
    ("Charite University, Berlin, Germany", "Berlin", "DE"),
    ("University of Oxford", "Oxford", "GB"),
    ("Imperial College London", "London", "GB"),
    ("University Health Network, Toronto", "Toronto", "CA"),
    ("McGill University Health Centre/Research Institute of the MUHC", "Montréal", "CA"),
    ("Hacettepe University", "Ankara", "TR"),
    ("Istanbul University", "Istanbul", "TR"),
    ("Medical University of Vienna", "Vienna", "AT"),
    ("University Hospital, Basel, Switzerland", "Basel", "CH"),
    ("Radboud University Medical Center", "Nijmegen", "NL"),
    ("Erasmus Medical Center", "Rotterdam", "NL"),
    ("University Hospital, Ghent", "Gent", "BE"),
    ("National Taiwan University Hospital", "Taipei", "TW"),
    ("The University of Hong Kong", "Hong Kong", "HK"),
    ("University of Sao Paulo", "São Paulo", "BR"),
    ("Monash University", "Melbourne", "AU"),
    ("The University of Queensland", "Brisbane", "AU"),
    ("Oslo University Hospital", "Oslo", "NO"),
    ("Helsinki University Central Hospital", "Helsinki", "FI"),
    ("Tehran University of Medical Sciences", "Tehran", "IR"),
    ("Postgraduate Institute of Medical Education and Research", "Chandigarh", "IN"),
    ("The University of Tokyo", "Tokyo", "JP"),
    ("Kyoto University", "Kyoto", "JP"),
    ("Instituto Nacional de Ciencias Medicas y Nutricion Salvador Zubiran", "Mexico City", "MX"),
    ("Fundacion Clinic per a la Recerca Biomédica", "Barcelona", "ES"),
    ("Fondazione IRCCS Istituto Nazionale dei Tumori, Milano", "Milan", "IT"),
    ("Medical University of Warsaw", "Warsaw", "PL"),
)
ACADEMIC_STATE = {"Mayo Clinic": "Minnesota"}  # not the biggest Rochester (New York)
# "<City> University"-style academic sponsors generated from the largest cities, per country.
GENERATED_ACADEMIC = 80
ACADEMIC_FORMS = (
    "University of {c}",
    "{c} University Hospital",
    "{c} Medical University",
    "{c} General Hospital",
)
SPONSOR_RANK_EXPONENT = 0.5  # within a class, sponsor i is drawn with weight (i + 3)^-0.5
# Sponsor class mix by size class: industry, network/government, academic.
SPONSOR_CLASS_MIX = ((0.15, 0.01), (0.40, 0.04), (0.70, 0.08), (0.82, 0.08))

# --- Dates and statuses ----------------------------------------------------------------------
TODAY = np.datetime64("2025-09-01")  # the reference date (fixed: output must not age)
# NCT number -> first-submitted date (ids are handed out in order of registration).
NCT_ANCHORS = (
    (100, "1999-10-01"),
    (100_000, "2004-12-01"),
    (400_000, "2006-11-01"),
    (800_000, "2008-12-01"),
    (1_000_000, "2009-10-01"),
    (1_500_000, "2011-12-01"),
    (2_000_000, "2013-12-01"),
    (2_500_000, "2015-07-01"),
    (3_000_000, "2016-12-01"),
    (3_500_000, "2018-04-01"),
    (4_000_000, "2019-07-01"),
    (4_500_000, "2020-07-01"),
    (5_000_000, "2021-08-01"),
    (5_500_000, "2022-08-01"),
    (6_000_000, "2023-08-01"),
    (6_500_000, "2024-07-01"),
    (7_000_000, "2025-06-01"),
    (7_150_000, "2025-08-31"),
)
NCT_LOW, NCT_HIGH = 102, 7_150_000
STATUSES = (
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ACTIVE_NOT_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "COMPLETED",
    "TERMINATED",
    "WITHDRAWN",
    "SUSPENDED",
    "UNKNOWN",
)
# Overall status by years since registration: [0, 1), [1, 3), [3, 6), [6, inf).
STATUS_AGE_EDGES = (1.0, 3.0, 6.0)
STATUS_BY_AGE = (
    (0.55, 0.30, 0.05, 0.04, 0.03, 0.005, 0.02, 0.005, 0.0),
    (0.45, 0.05, 0.13, 0.03, 0.24, 0.04, 0.04, 0.01, 0.01),
    (0.14, 0.01, 0.12, 0.02, 0.47, 0.07, 0.05, 0.01, 0.11),
    (0.012, 0.0, 0.025, 0.003, 0.655, 0.08, 0.03, 0.0, 0.195),
)
LONG_TRIAL_SHIFT = 0.5  # share of 11+-site studies whose status is drawn one age row younger
OPEN_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"})
ONGOING_STATUSES = OPEN_STATUSES | {"ACTIVE_NOT_RECRUITING", "SUSPENDED"}
# A recruiting study's sites: most recruit, some have not started or have closed.
SITE_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED")
SITE_STATUSES += ("WITHDRAWN",)
SITE_STATUS_SHARES = (0.78, 0.10, 0.04, 0.03, 0.05)
SITE_CONTACT_SHARE = 0.3  # recruiting sites that list a contact
STATUS_JSON = {s: f'"status":"{s}",' for s in STATUSES}
MONTH_PRECISION_SHARE = 0.3  # dates given as YYYY-MM

# --- Design ----------------------------------------------------------------------------------
PHASES = (
    (),
    ("EARLY_PHASE1",),
    ("PHASE1",),
    ("PHASE1", "PHASE2"),
    ("PHASE2",),
    ("PHASE2", "PHASE3"),
    ("PHASE3",),
    ("PHASE4",),
)
PHASE_BY_SIZE = (  # interventional studies; () is the registry's "NA"
    (0.50, 0.03, 0.13, 0.03, 0.12, 0.02, 0.04, 0.13),
    (0.36, 0.02, 0.12, 0.06, 0.22, 0.02, 0.10, 0.10),
    (0.14, 0.01, 0.08, 0.08, 0.32, 0.03, 0.26, 0.08),
    (0.05, 0.00, 0.03, 0.04, 0.18, 0.03, 0.62, 0.05),
)
OBSERVATIONAL_BY_SIZE = (0.30, 0.22, 0.12, 0.06)
# Registry-wide shares of the six condition areas (oncology is about a third of trials).
AREAS = ("onc", "cvm", "inf", "neu", "imm", "oth")
AREA_SHARES = (0.30, 0.15, 0.10, 0.18, 0.12, 0.15)
CONDITION_RANK_EXPONENT = 0.9
CONDITIONS: dict[str, tuple[str, ...]] = {
    "onc": (
        "Breast Cancer",
        "Non-small Cell Lung Cancer",
        "Prostate Cancer",
        "Colorectal Cancer",
        "Multiple Myeloma",
        "Lymphoma",
        "Acute Myeloid Leukemia",
        "Pancreatic Cancer",
        "Hepatocellular Carcinoma",
        "Gastric Cancer",
        "Ovarian Cancer",
        "Melanoma",
        "Diffuse Large B-Cell Lymphoma",
        "Chronic Lymphocytic Leukemia",
        "Glioblastoma",
        "Head and Neck Squamous Cell Carcinoma",
        "Renal Cell Carcinoma",
        "Bladder Cancer",
        "Cervical Cancer",
        "Endometrial Cancer",
        "Esophageal Cancer",
        "Solid Tumor",
        "Myelodysplastic Syndromes",
        "Acute Lymphoblastic Leukemia",
        "Small Cell Lung Cancer",
        "Thyroid Cancer",
        "Sarcoma",
        "Neuroblastoma",
    ),
    "cvm": (
        "Type 2 Diabetes",
        "Obesity",
        "Hypertension",
        "Heart Failure",
        "Type 1 Diabetes",
        "Atrial Fibrillation",
        "Coronary Artery Disease",
        "Stroke",
        "Chronic Kidney Disease",
        "Acute Myocardial Infarction",
        "Hypercholesterolemia",
        "Non-alcoholic Steatohepatitis",
        "Peripheral Arterial Disease",
        "Pulmonary Arterial Hypertension",
    ),
    "inf": (
        "COVID-19",
        "HIV Infections",
        "Influenza",
        "Hepatitis B",
        "Hepatitis C",
        "Tuberculosis",
        "Malaria",
        "Respiratory Syncytial Virus Infections",
        "Sepsis",
        "Pneumococcal Infections",
        "Urinary Tract Infections",
        "Herpes Zoster",
    ),
    "neu": (
        "Alzheimer Disease",
        "Major Depressive Disorder",
        "Parkinson Disease",
        "Schizophrenia",
        "Multiple Sclerosis",
        "Chronic Pain",
        "Postoperative Pain",
        "Epilepsy",
        "Migraine",
        "Anxiety",
        "Bipolar Disorder",
        "Autism Spectrum Disorder",
        "Attention Deficit Hyperactivity Disorder",
        "Insomnia",
        "Opioid Use Disorder",
        "Alcohol Use Disorder",
        "Amyotrophic Lateral Sclerosis",
        "Low Back Pain",
    ),
    "imm": (
        "Asthma",
        "Chronic Obstructive Pulmonary Disease",
        "Rheumatoid Arthritis",
        "Psoriasis",
        "Atopic Dermatitis",
        "Ulcerative Colitis",
        "Crohn Disease",
        "Systemic Lupus Erythematosus",
        "Knee Osteoarthritis",
        "Osteoporosis",
        "Psoriatic Arthritis",
        "Ankylosing Spondylitis",
        "Idiopathic Pulmonary Fibrosis",
        "Cystic Fibrosis",
    ),
    "oth": (
        "Healthy Volunteers",
        "Pregnancy",
        "Anesthesia",
        "Critical Illness",
        "Preterm Birth",
        "Infertility",
        "Polycystic Ovary Syndrome",
        "Anemia",
        "Sickle Cell Disease",
        "Hemophilia A",
        "Glaucoma",
        "Cataract",
        "Age-Related Macular Degeneration",
        "Diabetic Retinopathy",
        "Periodontitis",
        "Dental Caries",
        "Smoking Cessation",
        "Frailty",
        "Kidney Transplantation",
        "Surgical Wound Infection",
    ),
}
GENERIC_DRUGS: dict[str, tuple[str, ...]] = {
    "onc": (
        "Pembrolizumab",
        "Nivolumab",
        "Carboplatin",
        "Paclitaxel",
        "Capecitabine",
        "Lenalidomide",
        "Trastuzumab",
        "Bevacizumab",
        "Docetaxel",
        "Cisplatin",
    ),
    "cvm": (
        "Metformin",
        "Semaglutide",
        "Empagliflozin",
        "Dapagliflozin",
        "Atorvastatin",
        "Insulin Glargine",
        "Rivaroxaban",
        "Aspirin",
        "Sacubitril/Valsartan",
    ),
    "inf": (
        "Remdesivir",
        "Dolutegravir",
        "Tenofovir Alafenamide",
        "Oseltamivir",
        "Ivermectin",
        "Amoxicillin",
        "Azithromycin",
    ),
    "neu": (
        "Escitalopram",
        "Ketamine",
        "Levetiracetam",
        "Gabapentin",
        "Melatonin",
        "Buprenorphine",
        "Esketamine",
        "Lidocaine",
        "Dexmedetomidine",
    ),
    "imm": (
        "Adalimumab",
        "Methotrexate",
        "Dupilumab",
        "Tofacitinib",
        "Budesonide",
        "Prednisone",
        "Ustekinumab",
    ),
    "oth": (
        "Iron Sucrose",
        "Vitamin D3",
        "Tranexamic Acid",
        "Letrozole",
        "Folic Acid",
        "Chlorhexidine",
        "Bupivacaine",
    ),
}
NON_DRUG = (
    ("BEHAVIORAL", "Exercise Program"),
    ("BEHAVIORAL", "Cognitive Behavioral Therapy"),
    ("BEHAVIORAL", "Mobile Health Application"),
    ("BEHAVIORAL", "Mindfulness-Based Stress Reduction"),
    ("BEHAVIORAL", "Nurse-led Education"),
    ("DEVICE", "Continuous Glucose Monitor"),
    ("DEVICE", "Wearable Activity Monitor"),
    ("DEVICE", "Transcranial Magnetic Stimulation"),
    ("PROCEDURE", "Ultrasound-guided Nerve Block"),
    ("PROCEDURE", "Laparoscopic Surgery"),
    ("PROCEDURE", "Physiotherapy"),
    ("RADIATION", "Stereotactic Body Radiotherapy"),
    ("DIETARY_SUPPLEMENT", "Probiotic Supplement"),
    ("OTHER", "Virtual Reality Distraction"),
    ("OTHER", "Acupuncture"),
)
DRUG_TITLES = (
    "A Study of {d} in Participants With {a}{c}",
    "Safety and Efficacy of {d} in Adults With {a}{c}",
    "{d} Versus Placebo in {a}{c}",
    "{d} in Combination With {d2} for {a}{c}",
    "{d} for the Treatment of {a}{c}",
)
PHASE1_TITLE = "Dose-Escalation Study of {d} in {a}{c}"
NON_DRUG_TITLES = (
    "Effect of {d} on Outcomes in Patients With {c}",
    "{d} for {c}: a Randomized Controlled Trial",
    "Feasibility of {d} in {c}",
)
OBSERVATIONAL_TITLES = (
    "Registry of Patients With {c}",
    "Real-World Outcomes in {c}",
    "{c} Biomarker Cohort Study",
    "Long-term Follow-up of Patients With {c}",
)
ADJECTIVES = {
    "onc": ("", "", "Advanced ", "Relapsed or Refractory ", "Newly Diagnosed ", "Metastatic "),
    "imm": ("", "", "Moderate to Severe ", "Active "),
}
ENROLLMENT_PER_SITE = 12.0  # median participants per site in multi-site studies
ENROLLMENT_SINGLE = 60.0  # median enrollment of a single-site study
PEDIATRIC_SHARE = 0.06


@dataclass
class SynthStats:
    """What a run made and how long it took."""

    path: Path
    studies: int = 0
    sites: int = 0
    real_records: int = 0
    json_bytes: int = 0
    zip_bytes: int = 0
    seconds_setup: float = 0.0
    seconds_write: float = 0.0
    site_counts: dict[str, int] = field(default_factory=dict)  # synthetic nct -> sites
    countries: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    recruiting_sites: int = 0
    largest_study: tuple[str, int] = ("", 0)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of reading members back through the project's record loader."""

    members: int
    checked: int
    problems: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Small deterministic helpers


def _mix64(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of an integer (seed-independent)."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def _unit(x: int) -> float:
    """A hash of `x` as a float in [0, 1)."""
    return (_mix64(x) >> 11) / float(1 << 53)


def _rank_weights(n: int, exponent: float, offset: float = 3.0) -> np.ndarray:
    """Normalised weights (i + offset)^-exponent for i in 0..n-1: list order is popularity."""
    w = (np.arange(n) + offset) ** -exponent
    return w / w.sum()


def _pick(rng: np.random.Generator, shares: Sequence[float], size: int) -> np.ndarray:
    """`size` indices drawn from a share table (normalised here)."""
    cdf = np.cumsum(np.asarray(shares, dtype=float))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(size), side="right"), len(cdf) - 1)


def _pick_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One index per element of `rows`, drawn from that row of a share table."""
    cdf = np.cumsum(table, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] > cdf[rows]).sum(axis=1), table.shape[1] - 1)


# ---------------------------------------------------------------------------------------------
# Site counts


def _zeta_mean(a: float, cap: int) -> float:
    """Mean of P(n) ~ n^-a on 1..cap."""
    n = np.arange(1, cap + 1, dtype=float)
    w = n**-a
    return float((n * w).sum() / w.sum())


def solve_exponent(mean: float, cap: int = MAX_SITES) -> float:
    """The power-law exponent whose truncated mean is `mean` (bisection; clamped)."""
    lo, hi = 1.01, 6.0
    if mean >= _zeta_mean(lo, cap):
        return lo
    if mean <= _zeta_mean(hi, cap):
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if _zeta_mean(mid, cap) > mean:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def draw_site_counts(rng: np.random.Generator, studies: int, sites: int) -> np.ndarray:
    """Sites per study: NO_SITE_SHARE zeros, a truncated power law, summing to `sites`."""
    if sites > studies * MAX_SITES:
        raise ValueError(f"{sites} sites do not fit in {studies} studies of <= {MAX_SITES}")
    counts = np.zeros(studies, dtype=np.int64)
    if studies == 0 or sites <= 0:
        return counts
    with_sites = rng.random(studies) >= NO_SITE_SHARE
    if sites < with_sites.sum():  # too few sites for every study: fewer studies get one
        with_sites[:] = False
        with_sites[rng.choice(studies, size=sites, replace=False)] = True
    k = int(with_sites.sum())
    a = solve_exponent(sites / k)
    n = np.arange(1, MAX_SITES + 1, dtype=float)
    cdf = np.cumsum(n**-a)
    counts[with_sites] = np.searchsorted(cdf / cdf[-1], rng.random(k), side="right") + 1
    counts = np.minimum(counts, MAX_SITES)
    # Hit the total exactly: +-1 on random multi-site studies (then any study, if need be).
    diff = sites - int(counts.sum())
    while diff != 0:
        step = 1 if diff > 0 else -1
        pool = np.flatnonzero(counts >= 2) if step < 0 else np.flatnonzero(with_sites)
        if step < 0 and pool.size == 0:
            pool = np.flatnonzero(counts >= 1)
        if step > 0:
            pool = pool[counts[pool] < MAX_SITES]
        take = rng.choice(pool, size=min(abs(diff), pool.size), replace=False)
        counts[take] += step
        diff -= step * take.size
    return counts


# ---------------------------------------------------------------------------------------------
# The world: countries, places, facilities, sponsors


@dataclass
class _Country:
    """One country's drawable places and how the registry writes it."""

    code: str
    spellings: tuple[str, ...]
    state_share: float
    cc_number: int  # for site numbers some sponsors use
    cities: np.ndarray  # gazetteer indices, pop >= CITY_MIN_POP
    city_cdf: np.ndarray
    towns: np.ndarray
    town_cdf: np.ndarray
    spellings_json: tuple[str, ...] = ()  # '"country":"..."', the JSON piece of each spelling

    def __post_init__(self) -> None:
        self.spellings_json = tuple(f'"country":{_json_text(s)}' for s in self.spellings)


@dataclass(frozen=True)
class _Facility:
    """A facility of a place, with the JSON pieces of its location rows."""

    name: str
    lat: float
    lon: float
    number: int  # the site number sponsors that number their sites give it
    name_json: str
    geo_json: str  # ',"geoPoint":{...}'
    contact_json: str  # ',"contacts":[...]'


def city_weights(pop: np.ndarray) -> np.ndarray:
    """Sampling weight of cities: population^1.3 up to the knee, slower growth above it."""
    knee = float(CITY_POP_KNEE)
    below = np.minimum(pop, knee) ** CITY_POP_EXPONENT
    return below * (np.maximum(pop, knee) / knee) ** ABOVE_KNEE_EXPONENT


def city_sections(g: Gazetteer, idx: np.ndarray) -> np.ndarray:
    """Mask of the places in `idx` (one country, biggest first) that are parts of a bigger
    city rather than places of their own: "Paris 13 Gobelins", "Upper West Side",
    "Carabanchel". GeoNames lists such sections among its populated places, but the registry
    writes the city ("Paris"). Without feature codes in the index, a section is a place within
    the radius of a place SECTION_POP_RATIO times bigger, in the same region and (when both
    have one) the same county; so Villejuif (another county) stays beside Paris, Jersey City
    (another state) beside New York, and Brooklyn (a third of New York's size) stays, while
    Manhattan and the Bronx go (the registry mostly writes "New York")."""
    pop = g.pop[idx].astype(float)
    lat, lon = g.lat[idx], g.lon[idx]
    region, county = g.region[idx], g.county[idx]
    section = np.zeros(len(idx), dtype=bool)
    for j in np.flatnonzero(pop >= SECTION_MIN_CITY_POP):
        if section[j]:
            continue
        radius = math.sqrt(pop[j] / (math.pi * CITY_DENSITY_PER_KM2))
        smaller = pop * SECTION_POP_RATIO <= pop[j]
        near = distances_km(float(lat[j]), float(lon[j]), lat, lon) <= radius
        same_county = (county == county[j]) | (county < 0) | (county[j] < 0)
        section |= smaller & near & (region == region[j]) & same_county
    return section


def _json_text(text: str) -> str:
    """A JSON string literal."""
    return json.dumps(text, ensure_ascii=False)


class World:
    """Countries, places, facilities and sponsors drawn from the gazetteer (seed-independent)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.g = gazetteer
        self._academic_places = {
            name: place
            for name, city, cc in ACADEMIC
            if (place := self._biggest(city, cc, ACADEMIC_STATE.get(name, ""))) is not None
        }
        hubs = np.fromiter(self._academic_places.values(), dtype=np.int64)
        self.countries: list[_Country] = []
        weights = []
        for number, (cc, weight, spellings, state_share) in enumerate(COUNTRY_TABLE):
            s = gazetteer.country_slice(cc)
            idx = np.arange(s.start, s.stop)
            idx = idx[gazetteer.pop[idx] >= TOWN_MIN_POP]
            idx = idx[~city_sections(gazetteer, idx)]
            pop = gazetteer.pop[idx].astype(float)
            cities = idx[pop >= CITY_MIN_POP]
            towns = idx[(pop >= TOWN_MIN_POP) & (pop < CITY_MIN_POP)]
            if cities.size == 0:  # a gazetteer without the country: leave it out
                continue
            city_w = city_weights(gazetteer.pop[cities].astype(float))
            city_w[np.isin(cities, hubs) & (gazetteer.pop[cities] < CITY_POP_KNEE)] *= HUB_BONUS
            town_w = gazetteer.pop[towns].astype(float)
            self.countries.append(
                _Country(
                    cc,
                    spellings,
                    state_share,
                    number + 1,
                    cities,
                    np.cumsum(city_w) / city_w.sum(),
                    towns,
                    np.cumsum(town_w) / town_w.sum() if towns.size else np.zeros(0),
                )
            )
            weights.append(weight)
        w = np.asarray(weights)
        self.country_cdf = np.cumsum(w) / w.sum()
        self._by_code = {c.code: i for i, c in enumerate(self.countries)}
        self._names: dict[int, str] = {}
        self._states: dict[int, str] = {}
        self._facilities: dict[tuple[int, int], _Facility] = {}
        self._place_json: dict[int, tuple[str, str, str]] = {}
        self._styled: dict[tuple[str, str, int, int], str] = {}
        self._overrides: dict[tuple[int, int], str] = {}
        self.sponsors = self._sponsors()

    # -- places

    def draw_countries(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Country indices drawn from COUNTRY_TABLE's weights."""
        return np.searchsorted(self.country_cdf, rng.random(size), side="right").clip(
            0, len(self.countries) - 1
        )

    def draw_places(self, rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
        """One gazetteer index per site, given each site's country index."""
        out = np.empty(len(countries), dtype=np.int64)
        small = rng.random(len(countries)) < SMALL_TOWN_SHARE
        u = rng.random(len(countries))
        for ci in np.unique(countries):
            c = self.countries[int(ci)]
            here = countries == ci
            town = here & small & (c.towns.size > 0)
            city = here & ~town
            out[city] = c.cities[
                np.searchsorted(c.city_cdf, u[city], side="right").clip(0, len(c.cities) - 1)
            ]
            if town.any():
                out[town] = c.towns[
                    np.searchsorted(c.town_cdf, u[town], side="right").clip(0, len(c.towns) - 1)
                ]
        return out

    def facility_pool(self, places: np.ndarray) -> np.ndarray:
        """How many facilities each place has: about sqrt(population / FACILITY_POP_UNIT)."""
        pop = self.g.pop[places].astype(float)
        return np.clip(np.round(np.sqrt(pop / FACILITY_POP_UNIT)), 1, MAX_FACILITIES).astype(int)

    def city(self, place: int) -> str:
        """The place's name (cached)."""
        name = self._names.get(place)
        if name is None:
            name = self._names[place] = self.g.name(place)
        return name

    def state(self, place: int) -> str:
        """The place's admin1 name as GeoNames writes it ("" when unknown or only a code)."""
        state = self._states.get(place)
        if state is None:
            r = int(self.g.region[place])
            state = self.g.region_name(r) if r >= 0 else ""
            if state.isdigit():  # GeoNames gives some regions only as a code ("00")
                state = ""
            self._states[place] = state
        return state

    def place_json(self, place: int) -> tuple[str, str, str]:
        """(sort key, '"city":"...",', '"state":"...",' or '') of a place (cached)."""
        found = self._place_json.get(place)
        if found is None:
            city, state = self.city(place), self.state(place)
            cc = self.g.countries[int(self.g.cc[place])]
            found = (
                f"{cc != 'US':d}{cc}\x00{state}\x00{city}",
                f'"city":{_json_text(city)},',
                f'"state":{_json_text(state)},' if state else "",
            )
            self._place_json[place] = found
        return found

    def facility(self, place: int, k: int, cc: str) -> _Facility:
        """The k-th facility of a place: name, point and site number fixed for all seeds."""
        key = (place, k)
        found = self._facilities.get(key)
        if found is not None:
            return found
        city = self.city(place)
        pop = float(self.g.pop[place])
        name = self._overrides.get(key)
        if name is None:
            if pop < CITY_MIN_POP:
                forms = TOWN_FACILITIES
            else:
                # A country's own forms first, then the English ones past its first two (the
                # local list already names a university hospital and a cancer centre).
                local = FACILITIES_BY_COUNTRY.get(cc)
                forms = DEFAULT_FACILITIES if local is None else local + DEFAULT_FACILITIES[2:]
                if pop < UNIVERSITY_CITY_POP:  # no university hospital: start further down
                    forms = forms[1:] if len(forms) > 3 else forms
            if k < len(forms):
                name = forms[k].format(c=city)
            else:
                name = f"{city} Clinical Research Site {k - len(forms) + 1}"
        h = place * 64 + k
        radius = min(JITTER_KM_MAX, JITTER_KM_MIN + math.sqrt(pop) / 400.0)
        r = radius * math.sqrt(_unit(h)) / KM_PER_DEGREE
        theta = 2 * math.pi * _unit(h + 0x5151)
        lat = float(self.g.lat[place]) + r * math.sin(theta)
        cos_lat = max(0.2, math.cos(math.radians(lat)))
        lon = float(self.g.lon[place]) + r * math.cos(theta) / cos_lat
        lat = round(max(-90.0, min(90.0, lat)), 5)
        lon = round((lon + 180.0) % 360.0 - 180.0, 5)
        number = _mix64(h) % 9000 + 1000
        contact = {
            "name": "Study Coordinator",
            "role": "CONTACT",
            "phone": f"555-01{number % 100:02d}",
            "email": f"site{number}@example.org",
        }
        found = _Facility(
            name,
            lat,
            lon,
            number,
            _json_text(name),
            f',"geoPoint":{{"lat":{lat!r},"lon":{lon!r}}}',
            f',"contacts":[{json.dumps(contact, separators=(",", ":"))}]',
        )
        self._facilities[key] = found
        return found

    def styled(self, style: str, fac: _Facility, cc_number: int) -> str:
        """The JSON name a sponsor's own site-naming style gives a facility (cached)."""
        key = (style, fac.name, fac.number, cc_number)
        found = self._styled.get(key)
        if found is None:
            found = _json_text(style.format(name=fac.name, n=fac.number, cc=cc_number))
            self._styled[key] = found
        return found

    # -- sponsors

    def _biggest(self, name: str, cc: str, state: str = "") -> int | None:
        """The most populous place of that name in the country (and state, when given)."""
        found = self.g.candidates(name, cc, state)
        if not found:
            return None
        return max(found, key=lambda c: (not c.alternate, c.place.population)).place.id

    def _sponsors(self) -> dict[str, list[tuple[str, str, int, int]]]:
        """Sponsors by class group: (name, registry class, country index, place or -1)."""
        industry = [(name, "INDUSTRY", -1, -1) for name, _ in INDUSTRY]
        networks = [(name, cls, self._by_code["US"], -1) for name, cls in NETWORKS]
        academic: list[tuple[str, str, int, int]] = []
        for name, _city, cc in ACADEMIC:
            ci = self._by_code.get(cc)
            place = self._academic_places.get(name)
            if ci is None or place is None:
                continue
            academic.append((name, "OTHER", ci, place))
            self._overrides.setdefault((place, 0), name)
        # "<City> University" sponsors: the largest cities, countries in proportion to weight.
        w = np.diff(np.concatenate([[0.0], self.country_cdf]))
        quota = np.maximum(1, np.round(w * GENERATED_ACADEMIC)).astype(int)
        used = {p for *_, p in academic}
        form = 0
        for ci, q in enumerate(quota):
            for place in self.countries[ci].cities[: q + 3]:
                if q == 0:
                    break
                if int(place) in used:
                    continue
                name = ACADEMIC_FORMS[form % len(ACADEMIC_FORMS)].format(c=self.city(int(place)))
                form += 1
                academic.append((name, "OTHER", ci, int(place)))
                used.add(int(place))
                q -= 1
        return {"industry": industry, "network": networks, "academic": academic}


# ---------------------------------------------------------------------------------------------
# Studies


def nct_registration_dates(numbers: np.ndarray) -> np.ndarray:
    """First-submitted dates (datetime64[D]) from NCT numbers, by the anchors."""
    xs = np.array([n for n, _ in NCT_ANCHORS], dtype=float)
    ys = np.array([np.datetime64(d, "D").astype(np.int64) for _, d in NCT_ANCHORS], dtype=float)
    return np.interp(numbers.astype(float), xs, ys).astype(np.int64).astype("datetime64[D]")


def draw_nct_numbers(rng: np.random.Generator, n: int, taken: set[int]) -> np.ndarray:
    """`n` distinct NCT numbers in [NCT_LOW, NCT_HIGH), none in `taken`, ascending."""
    span = NCT_HIGH - NCT_LOW
    if n + len(taken) > span:
        raise ValueError(f"cannot draw {n} distinct NCT numbers")
    got = np.zeros(0, dtype=np.int64)
    blocked = np.array(sorted(taken), dtype=np.int64)
    while got.size < n:
        extra = rng.integers(NCT_LOW, NCT_HIGH, size=int((n - got.size) * 1.1) + 16)
        got = np.unique(np.concatenate([got, extra]))
        got = got[~np.isin(got, blocked)]
    # Keep a random subset of exactly n (not the n smallest), in order.
    return np.sort(rng.choice(got, size=n, replace=False))


def _day_texts(days: np.ndarray) -> list[str]:
    """datetime64[D] array -> 'YYYY-MM-DD' strings."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()


@dataclass
class _Chunk:
    """Per-study draws for one chunk, as Python lists for a fast build loop."""

    size_class: list[int]
    status: list[str]
    observational: list[bool]
    phase: list[int]
    sponsor_group: list[str]
    sponsor: list[int]
    area: list[str]
    conditions: list[list[str]]
    registered_text: list[str]
    posted_text: list[str]
    start_text: list[str]
    completion_text: list[str]
    updated_text: list[str]
    month_only: list[bool]
    enrollment: list[int]
    u: np.ndarray  # spare uniforms per study, for cheap choices in the loop


class StudySource:
    """Draws studies for one seed against a World; `chunks()` yields (nct_id, json bytes)."""

    def __init__(self, world: World, counts: np.ndarray, numbers: np.ndarray, seed: int) -> None:
        self.world = world
        self.counts = counts
        self.numbers = numbers
        self.seed = seed
        self.status_table = np.asarray(STATUS_BY_AGE, dtype=float)
        self.phase_table = np.asarray(PHASE_BY_SIZE, dtype=float)
        self.sponsor_weights = {
            group: _rank_weights(len(items), SPONSOR_RANK_EXPONENT)
            for group, items in world.sponsors.items()
        }
        self.condition_weights = {
            area: _rank_weights(len(terms), CONDITION_RANK_EXPONENT, offset=2.0)
            for area, terms in CONDITIONS.items()
        }
        self.stats_countries: Counter[str] = Counter()
        self.stats_statuses: Counter[str] = Counter()
        self.recruiting_sites = 0

    def _draw_chunk(
        self, rng: np.random.Generator, counts: np.ndarray, numbers: np.ndarray
    ) -> _Chunk:
        """Every per-study choice of a chunk, vectorised."""
        n = len(counts)
        size_class = np.searchsorted(SIZE_CLASS_EDGES, counts, side="right")
        registered = nct_registration_dates(numbers)
        age = (TODAY - registered).astype(float) / 365.25
        # Multi-site trials recruit for years: half of them draw from the next-younger row.
        age_bin = np.searchsorted(STATUS_AGE_EDGES, age)
        longer = (size_class >= 2) & (rng.random(n) < LONG_TRIAL_SHIFT)
        status = _pick_rows(rng, self.status_table, np.maximum(age_bin - longer, 0))
        observational = rng.random(n) < np.asarray(OBSERVATIONAL_BY_SIZE)[size_class]
        phase = _pick_rows(rng, self.phase_table, size_class)
        mix = np.asarray(SPONSOR_CLASS_MIX)[size_class]
        u = rng.random(n)
        group = np.where(
            u < mix[:, 0], "industry", np.where(u < mix[:, 0] + mix[:, 1], "network", "academic")
        )
        sponsor = np.zeros(n, dtype=np.int64)
        for g in ("industry", "network", "academic"):
            here = group == g
            sponsor[here] = _pick(rng, self.sponsor_weights[g], int(here.sum()))
        area_index = _pick(rng, AREA_SHARES, n)
        area = np.asarray(AREAS)[area_index]
        n_cond = 1 + _pick(rng, (0.6, 0.25, 0.15), n)
        picks = np.zeros((n, 3), dtype=np.int64)
        for j, a in enumerate(AREAS):
            here = np.flatnonzero(area_index == j)
            picks[here] = _pick(rng, self.condition_weights[a], 3 * here.size).reshape(-1, 3)
        conditions = [
            list(dict.fromkeys(CONDITIONS[a][t] for t in row[:k]))
            for a, row, k in zip(area.tolist(), picks.tolist(), n_cond.tolist(), strict=True)
        ]
        # Dates: start around registration, completion after a phase-dependent duration.
        start = registered + rng.normal(-30, 90, n).astype(np.int64).astype("timedelta64[D]")
        years = np.exp(rng.normal(math.log(2.0), 0.6, n)) * np.where(size_class >= 2, 1.6, 1.0)
        completion = start + (years * 365.25).astype(np.int64).astype("timedelta64[D]")
        status_names = np.asarray(STATUSES)[status]
        closed = ~np.isin(status_names, list(ONGOING_STATUSES))
        late = closed & (completion > TODAY)
        # A closed study ended before today; an ongoing one ends after it.
        span = np.maximum((TODAY - start).astype(np.int64), 1)
        completion[late] = start[late] + (rng.random(int(late.sum())) * span[late]).astype(
            np.int64
        ).astype("timedelta64[D]")
        early = ~closed & (completion <= TODAY)
        completion[early] = TODAY + rng.integers(60, 1200, int(early.sum())).astype(
            "timedelta64[D]"
        )
        not_yet = status_names == "NOT_YET_RECRUITING"
        start[not_yet] = TODAY + rng.integers(10, 200, int(not_yet.sum())).astype("timedelta64[D]")
        completion = np.maximum(completion, start + np.timedelta64(30, "D"))
        lag = rng.integers(0, 400, n).astype("timedelta64[D]")
        updated = np.minimum(np.where(closed, completion + lag, TODAY - lag // 8), TODAY)
        updated = np.maximum(updated, registered)
        # Enrollment: per-site participants in multi-site studies; none when withdrawn.
        per_site = np.exp(rng.normal(math.log(ENROLLMENT_PER_SITE), 0.8, n))
        single = np.exp(rng.normal(math.log(ENROLLMENT_SINGLE), 1.0, n))
        enrollment = np.where(counts >= 2, counts * per_site + single / 4, single)
        enrollment = np.where(status_names == "WITHDRAWN", 0, np.maximum(1, enrollment))
        return _Chunk(
            size_class=size_class.tolist(),
            status=status_names.tolist(),
            observational=observational.tolist(),
            phase=phase.tolist(),
            sponsor_group=group.tolist(),
            sponsor=sponsor.tolist(),
            area=area.tolist(),
            conditions=conditions,
            registered_text=_day_texts(registered),
            posted_text=_day_texts(registered + rng.integers(1, 20, n).astype("timedelta64[D]")),
            start_text=_day_texts(start),
            completion_text=_day_texts(completion),
            updated_text=_day_texts(updated),
            month_only=(rng.random(n) < MONTH_PRECISION_SHARE).tolist(),
            enrollment=np.round(enrollment).astype(np.int64).tolist(),
            u=rng.random((n, 8)),
        )

    def _draw_sites(
        self, rng: np.random.Generator, chunk: _Chunk, counts: np.ndarray
    ) -> tuple[list[int], list[int], list[int], list[bool], list[float], list[int], list[int]]:
        """Per-site draws for a chunk: country, place, facility index, geo, state, status."""
        world = self.world
        n = len(counts)
        total = int(counts.sum())
        owner = np.repeat(np.arange(n), counts)
        home = world.draw_countries(rng, n)
        # Academic sponsors run their studies at home (the first site often at their hospital).
        sponsor_place = np.full(n, -1, dtype=np.int64)
        academic = world.sponsors["academic"]
        for i in range(n):
            if chunk.sponsor_group[i] == "academic":
                _, _, ci, place = academic[chunk.sponsor[i]]
                home[i] = ci
                if chunk.u[i, 0] < SPONSOR_CITY_SHARE:
                    sponsor_place[i] = place
        multinational = rng.random(n) < np.asarray(MULTINATIONAL_SHARE)[chunk.size_class]
        site_country = np.where(multinational[owner], world.draw_countries(rng, total), home[owner])
        places = world.draw_places(rng, site_country)
        pool = world.facility_pool(places)
        k = np.floor(pool * rng.random(total) ** FACILITY_SKEW).astype(np.int64)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        has_first = counts > 0
        own = has_first & (sponsor_place >= 0)
        places[first[own]] = sponsor_place[own]
        site_country[first[own]] = home[own]
        k[first[own]] = 0
        geo = rng.random(total) < GEO_POINT_SHARE
        state_u = rng.random(total)
        site_status = _pick(rng, SITE_STATUS_SHARES, total)
        return (
            site_country.tolist(),
            places.tolist(),
            k.tolist(),
            geo.tolist(),
            state_u.tolist(),
            site_status.tolist(),
            pool.tolist(),
        )

    def chunks(self) -> Iterator[tuple[str, bytes, int]]:
        """(nct_id, member bytes, site count) for every synthetic study, in NCT order."""
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for c0 in range(0, len(self.counts), CHUNK):
            rng = np.random.default_rng([self.seed, 2, c0 // CHUNK])
            counts = self.counts[c0 : c0 + CHUNK]
            numbers = self.numbers[c0 : c0 + CHUNK]
            chunk = self._draw_chunk(rng, counts, numbers)
            country, place, fac, geo, state_u, site_status, pool = self._draw_sites(
                rng, chunk, counts
            )
            pos = 0
            for i, (count, number) in enumerate(
                zip(counts.tolist(), numbers.tolist(), strict=True)
            ):
                nct = f"NCT{number:08d}"
                sl = slice(pos, pos + count)
                pos += count
                sponsor = self.world.sponsors[chunk.sponsor_group[i]][chunk.sponsor[i]]
                locations = self._locations(
                    i,
                    chunk,
                    sponsor[0],
                    country[sl],
                    place[sl],
                    fac[sl],
                    geo[sl],
                    state_u[sl],
                    site_status[sl],
                    pool[sl],
                )
                protocol, central = self._study(i, nct, chunk, sponsor)
                self.stats_statuses[chunk.status[i]] += 1
                text = dumps(protocol)
                if central or locations:
                    parts = []
                    if central:
                        parts.append(f'"centralContacts":{dumps(central)}')
                    if locations:
                        parts.append(f'"locations":[{",".join(locations)}]')
                    text = f'{text[:-1]},"contactsLocationsModule":{{{",".join(parts)}}}}}'
                yield nct, f'{{"protocolSection":{text},"hasResults":false}}'.encode(), count

    # -- one study

    def _locations(
        self,
        i: int,
        chunk: _Chunk,
        sponsor_name: str,
        countries: list[int],
        places: list[int],
        facs: list[int],
        geos: list[bool],
        state_us: list[float],
        site_statuses: list[int],
        pools: list[int],
    ) -> list[str]:
        """The study's `locations` as JSON texts, in the order records list them (US first,
        then by country, state and city). Built from cached JSON pieces: with a million sites,
        building dicts for `json` to encode would take most of the run."""
        world = self.world
        status = chunk.status[i]
        style = SPONSOR_SITE_STYLE.get(sponsor_name)
        if style is not None and chunk.u[i, 1] >= SPONSOR_SITE_STYLE_SHARE:
            style = None
        spelling = int(chunk.u[i, 2] * 1000)
        fixed_status = STATUS_JSON[status] if status in OPEN_STATUSES else ""
        seen: set[tuple[int, int]] = set()
        rows = []
        for ci, place, k, geo, su, ss, pool in zip(
            countries, places, facs, geos, state_us, site_statuses, pools, strict=True
        ):
            # The same facility twice in one study is rare: step to the city's next one.
            for _ in range(pool):
                if (place, k) not in seen:
                    break
                k = (k + 1) % pool
            seen.add((place, k))
            c = world.countries[ci]
            fac = world.facility(place, k, c.code)
            name = fac.name_json if style is None else world.styled(style, fac, c.cc_number)
            sort_key, city, state = world.place_json(place)
            if su >= c.state_share:
                state = ""
            country = c.spellings_json[spelling % len(c.spellings_json)]
            extra = fac.geo_json if geo else ""
            if status == "RECRUITING":
                site_status = SITE_STATUSES[ss]
                part = STATUS_JSON[site_status]
                if site_status == "RECRUITING":
                    self.recruiting_sites += 1
                    if su * 7.0 % 1.0 < SITE_CONTACT_SHARE:
                        extra = fac.contact_json + extra
            else:
                part = fixed_status
            self.stats_countries[c.code] += 1
            rows.append((sort_key, f'{{"facility":{name},{part}{city}{state}{country}{extra}}}'))
        rows.sort()
        return [text for _, text in rows]

    def _study(
        self,
        i: int,
        nct: str,
        chunk: _Chunk,
        sponsor: tuple[str, str, int, int],
    ) -> tuple[dict, list[dict] | None]:
        """One study's protocolSection up to its contactsLocationsModule (modules in the
        registry's order), and its central contacts if any: the caller adds the locations."""
        name, cls, _, _ = sponsor
        u = chunk.u[i]
        area = chunk.area[i]
        conditions = chunk.conditions[i]
        condition = conditions[0]
        status = chunk.status[i]
        observational = chunk.observational[i]
        phases = () if observational else PHASES[chunk.phase[i]]
        adjectives = ADJECTIVES.get(area, ("",))
        adjective = adjectives[int(u[5] * len(adjectives))]
        month_only = chunk.month_only[i]

        arms: list[dict] = []
        interventions: list[dict] = []
        placebo = False
        if observational:
            template = OBSERVATIONAL_TITLES[int(u[3] * len(OBSERVATIONAL_TITLES))]
            title = template.format(c=condition)
            arms.append({"label": f"Participants with {condition}"})
            summary = f"This observational study follows people with {condition} in routine care."
            purpose = ""
        elif phases:
            if cls == "INDUSTRY":
                prefix = INDUSTRY_PREFIX[name]
                digits = CODE_DIGITS.get(prefix, 4)
                drug = f"{prefix}{int(u[7] * 10**digits):0{digits}d}"
            else:
                drugs = GENERIC_DRUGS[area]
                drug = drugs[int(u[4] * len(drugs))]
            others = GENERIC_DRUGS[area]
            partner = others[int(u[6] * 97) % len(others)]
            if partner == drug:
                partner = others[(others.index(partner) + 1) % len(others)]
            if phases in (("PHASE1",), ("EARLY_PHASE1",)):
                title = PHASE1_TITLE.format(d=drug, a=adjective, c=condition)
            else:
                template = DRUG_TITLES[int(u[3] * len(DRUG_TITLES))]
                title = template.format(d=drug, d2=partner, a=adjective, c=condition)
            placebo = "Placebo" in title or (u[6] < 0.3 and "PHASE3" in phases)
            combination = "Combination" in title and not placebo
            label = f"{drug} + {partner}" if combination else drug
            interventions.append(_intervention("DRUG", drug, label))
            arms.append(_arm(label, "EXPERIMENTAL", ["Drug: " + drug]))
            if combination:
                interventions.append(_intervention("DRUG", partner, label))
                arms[0]["interventionNames"].append("Drug: " + partner)
            elif placebo:
                interventions.append(_intervention("DRUG", "Placebo", "Placebo"))
                arms.append(_arm("Placebo", "PLACEBO_COMPARATOR", ["Drug: Placebo"]))
            summary = f"This study evaluates {drug} in people with {adjective.lower()}{condition}."
            purpose = "TREATMENT"
        else:
            kind, what = NON_DRUG[int(u[4] * len(NON_DRUG))]
            template = NON_DRUG_TITLES[int(u[3] * len(NON_DRUG_TITLES))]
            title = template.format(d=what, c=condition)
            label = kind.replace("_", " ").title()
            interventions.append(_intervention(kind, what, "Intervention"))
            arms.append(_arm("Intervention", "EXPERIMENTAL", [f"{label}: {what}"]))
            arms.append({"label": "Usual care", "type": "ACTIVE_COMPARATOR"})
            summary = f"This trial tests whether {what.lower()} helps people with {condition}."
            purpose = "SUPPORTIVE_CARE" if u[6] < 0.5 else "TREATMENT"

        status_module: dict = {
            "statusVerifiedDate": chunk.updated_text[i][:7],
            "overallStatus": status,
        }
        if status == "UNKNOWN":
            status_module["lastKnownStatus"] = (
                "RECRUITING" if u[6] < 0.7 else "ACTIVE_NOT_RECRUITING"
            )
        if status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"):
            status_module["whyStopped"] = WHY_STOPPED[int(u[5] * len(WHY_STOPPED))]
        status_module.update(
            {
                "startDateStruct": _struct(chunk.start_text[i], month_only),
                "primaryCompletionDateStruct": _struct(chunk.completion_text[i], month_only),
                "completionDateStruct": _struct(chunk.completion_text[i], month_only),
                "studyFirstSubmitDate": chunk.registered_text[i],
                "studyFirstPostDateStruct": {"date": chunk.posted_text[i], "type": "ACTUAL"},
                "lastUpdatePostDateStruct": {"date": chunk.updated_text[i], "type": "ACTUAL"},
            }
        )
        lead = {"name": name, "class": cls}
        sponsors: dict = {"responsibleParty": {"type": "SPONSOR"}, "leadSponsor": lead}
        if u[7] * 13.0 % 1.0 < COLLABORATOR_SHARE:
            group = ("network", "academic")[int(u[5] * 2)]
            items = self.world.sponsors[group]
            other = items[int(u[4] * len(items))]
            if other[0] != name:
                sponsors["collaborators"] = [{"name": other[0], "class": other[1]}]

        if observational:
            design: dict = {
                "studyType": "OBSERVATIONAL",
                "patientRegistry": title.startswith("Registry"),
                "designInfo": {"observationalModel": "COHORT", "timePerspective": "PROSPECTIVE"},
            }
        else:
            randomized = len(arms) > 1
            design = {
                "studyType": "INTERVENTIONAL",
                "phases": list(phases) or ["NA"],
                "designInfo": {
                    "allocation": "RANDOMIZED" if randomized else "NA",
                    "interventionModel": "PARALLEL" if randomized else "SINGLE_GROUP",
                    "primaryPurpose": purpose,
                    "maskingInfo": {"masking": "QUADRUPLE" if placebo else "NONE"},
                },
            }
        closed = status not in ONGOING_STATUSES
        design["enrollmentInfo"] = {
            "count": chunk.enrollment[i],
            "type": "ACTUAL" if closed else "ESTIMATED",
        }

        pediatric = u[5] * 11.0 % 1.0 < PEDIATRIC_SHARE
        eligibility = {
            "eligibilityCriteria": ELIGIBILITY.format(
                age=2 if pediatric else 18, condition=condition
            ),
            "healthyVolunteers": condition == "Healthy Volunteers",
            "sex": SEX_OF_CONDITION.get(condition, "ALL"),
            "minimumAge": "2 Years" if pediatric else "18 Years",
        }
        if pediatric:
            eligibility["maximumAge"] = "17 Years"
        eligibility["stdAges"] = ["CHILD"] if pediatric else ["ADULT", "OLDER_ADULT"]

        central = None
        if status in OPEN_STATUSES:
            central = [
                {
                    "name": f"{name} Clinical Trials" if cls == "INDUSTRY" else "Study Coordinator",
                    "role": "CONTACT",
                    "phone": "555-0100",
                    "email": "clinicaltrials@example.org",
                }
            ]

        protocol: dict = {
            "identificationModule": {
                "nctId": nct,
                "orgStudyIdInfo": {"id": f"{chunk.registered_text[i][:4]}-{nct[-5:]}"},
                "organization": {"fullName": name, "class": cls},
                "briefTitle": title,
            },
            "statusModule": status_module,
            "sponsorCollaboratorsModule": sponsors,
            "descriptionModule": {"briefSummary": summary},
            "conditionsModule": {"conditions": conditions},
            "designModule": design,
        }
        if arms:
            arms_module: dict = {"armGroups": arms}
            if interventions:
                arms_module["interventions"] = interventions
            protocol["armsInterventionsModule"] = arms_module
        protocol["eligibilityModule"] = eligibility
        return protocol, central


INDUSTRY_PREFIX = dict(INDUSTRY)
CODE_DIGITS = {"PF-0": 7, "LY": 7, "JNJ-": 8, "BMS-": 6, "mRNA-": 4}
COLLABORATOR_SHARE = 0.15
WHY_STOPPED = (
    "Sponsor decision",
    "Slow accrual",
    "Business reasons",
    "Funding ended",
    "Study never started",
    "Futility at interim analysis",
)
ELIGIBILITY = (
    "Inclusion Criteria:\n\n* Age {age} years or older\n* Diagnosis of {condition}\n"
    "* Able to give written informed consent\n\nExclusion Criteria:\n\n"
    "* Pregnant or breastfeeding\n* In another interventional study within 30 days"
)
SEX_OF_CONDITION = {
    "Breast Cancer": "FEMALE",
    "Ovarian Cancer": "FEMALE",
    "Cervical Cancer": "FEMALE",
    "Endometrial Cancer": "FEMALE",
    "Pregnancy": "FEMALE",
    "Preterm Birth": "FEMALE",
    "Polycystic Ovary Syndrome": "FEMALE",
    "Prostate Cancer": "MALE",
}


def _intervention(kind: str, name: str, arm: str) -> dict:
    """An interventions[] entry."""
    return {"type": kind, "name": name, "armGroupLabels": [arm]}


def _arm(label: str, kind: str, names: list[str]) -> dict:
    """An armGroups[] entry."""
    return {"label": label, "type": kind, "interventionNames": names}


def _struct(text: str, month_only: bool) -> dict[str, str]:
    """A registry date struct: ACTUAL when in the past, else ESTIMATED."""
    kind = "ACTUAL" if text <= TODAY_TEXT else "ESTIMATED"
    return {"date": text[:7] if month_only else text, "type": kind}


TODAY_TEXT = str(TODAY)


# ---------------------------------------------------------------------------------------------
# Writing and checking


def _real_records(directory: Path | None) -> list[tuple[int, Path]]:
    """(NCT number, path) of each `NCT########.json` in the directory, in NCT order."""
    if directory is None or not directory.is_dir():
        return []
    found = []
    for path in directory.glob("NCT*.json"):
        if is_nct_id(path.stem):
            found.append((int(path.stem[3:]), path))
    return sorted(found)


def _member(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp and ordinary file permissions."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.external_attr = 0o644 << 16
    return info


def generate(
    out: Path,
    studies: int = DEFAULT_STUDIES,
    sites: int = DEFAULT_SITES,
    seed: int = 1,
    real_dir: Path | None = DEFAULT_REAL,
    stored: bool = False,
    gazetteer: Gazetteer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SynthStats:
    """Write the portfolio zip to `out` (atomically) and return what was written."""
    t0 = time.perf_counter()
    world = World(gazetteer or load_gazetteer())
    reals = _real_records(real_dir)
    counts = draw_site_counts(np.random.default_rng([seed, 0]), studies, sites)
    numbers = draw_nct_numbers(np.random.default_rng([seed, 1]), studies, {n for n, _ in reals})
    gen = StudySource(world, counts, numbers, seed)
    stats = SynthStats(path=out, seconds_setup=time.perf_counter() - t0)

    t1 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    level = None if stored else DEFLATE_LEVEL
    largest = ("", 0)
    with zipfile.ZipFile(tmp, "w", compression=compression, compresslevel=level) as zf:

        def put(name: str, data: bytes) -> None:
            zf.writestr(_member(name), data, compress_type=compression, compresslevel=level)
            stats.json_bytes += len(data)

        pending = list(reversed(reals))
        for done, (nct, data, count) in enumerate(gen.chunks(), start=1):
            number = int(nct[3:])
            while pending and pending[-1][0] < number:
                _, path = pending.pop()
                put(path.name, path.read_bytes())
                stats.real_records += 1
            put(f"{nct}.json", data)
            stats.site_counts[nct] = count
            if count > largest[1] or not largest[0]:
                largest = (nct, count)
            if progress is not None and done % 10_000 == 0:
                progress(done, studies)
        for _, path in reversed(pending):
            put(path.name, path.read_bytes())
            stats.real_records += 1
    tmp.replace(out)
    stats.seconds_write = time.perf_counter() - t1
    stats.studies = studies
    stats.sites = int(counts.sum())
    stats.zip_bytes = out.stat().st_size
    stats.countries = gen.stats_countries
    stats.statuses = gen.stats_statuses
    stats.recruiting_sites = gen.recruiting_sites
    stats.largest_study = largest
    return stats


def check(
    path: Path, expected: dict[str, int], real_dir: Path | None = None, sample: int = 300
) -> CheckResult:
    """Read members back through the project's record loader: ids, site counts, countries.

    Checks `sample` random synthetic members plus the largest and a site-less one, and every
    real record byte for byte against its source file.
    """
    problems: list[str] = []
    reals = {p.name: p for _, p in _real_records(real_dir)}
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        want = len(expected) + len(reals)
        if len(names) != want or len(set(names)) != len(names):
            problems.append(f"{len(names)} members ({len(set(names))} distinct), expected {want}")
        synthetic = sorted(expected)
        rng = np.random.default_rng(12345)
        picks = set(rng.choice(len(synthetic), size=min(sample, len(synthetic)), replace=False))
        chosen = [synthetic[i] for i in sorted(picks)]
        if synthetic:
            chosen.append(max(synthetic, key=expected.__getitem__))
            chosen.extend([n for n in synthetic if expected[n] == 0][:1])
        for nct in chosen:
            name = f"{nct}.json"
            loaded = parse_record(zf.read(name), name)
            trial = loaded.trial
            if trial.nct_id != nct:
                problems.append(f"{name}: nctId {trial.nct_id}")
            if len(trial.sites) != expected[nct]:
                problems.append(f"{name}: {len(trial.sites)} sites, expected {expected[nct]}")
            if loaded.diagnostics:
                problems.append(f"{name}: {loaded.diagnostics[0].message}")
            if any(not s.country_code for s in trial.sites):
                problems.append(f"{name}: a site without a country code")
        for name, source in reals.items():
            if zf.read(name) != source.read_bytes():
                problems.append(f"{name}: differs from {source}")
            parse_record(zf.read(name), name)
    return CheckResult(len(names), len(chosen) + len(reals), tuple(problems))


# ---------------------------------------------------------------------------------------------
# Command line


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, write the portfolio, print figures and the read-back check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path, help="the zip file to write")
    parser.add_argument("--studies", type=int, default=DEFAULT_STUDIES)
    parser.add_argument("--sites", type=int, default=DEFAULT_SITES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--real",
        type=Path,
        default=DEFAULT_REAL,
        help="folder of real API v2 study JSON files to copy in (default: %(default)s)",
    )
    parser.add_argument("--no-real", action="store_true", help="write synthetic studies only")
    parser.add_argument(
        "--stored", action="store_true", help="store members uncompressed (ZIP_STORED)"
    )
    parser.add_argument("--no-check", action="store_true", help="skip the read-back check")
    args = parser.parse_args(argv)
    if args.studies < 0 or args.sites < 0:
        parser.error("--studies and --sites must not be negative")
    if args.sites > args.studies * MAX_SITES:
        parser.error(f"--sites must be at most {MAX_SITES} x --studies")
    real_dir = None if args.no_real else args.real

    def progress(done: int, total: int) -> None:
        if done % 50_000 == 0:
            print(f"  {done:,} / {total:,} studies", file=sys.stderr, flush=True)

    stats = generate(
        args.out, args.studies, args.sites, args.seed, real_dir, args.stored, progress=progress
    )
    total = stats.seconds_setup + stats.seconds_write
    n_sites = sum(stats.countries.values())
    print(f"wrote {stats.path}")
    print(
        f"  {stats.studies:,} synthetic studies, {stats.sites:,} sites "
        f"({stats.sites / max(stats.studies, 1):.2f} per study), "
        f"{stats.real_records} real records"
    )
    print(
        f"  {_mb(stats.json_bytes)} of JSON -> {_mb(stats.zip_bytes)} zip "
        f"({'stored' if args.stored else f'deflate level {DEFLATE_LEVEL}'})"
    )
    print(
        f"  setup {stats.seconds_setup:.1f} s, write {stats.seconds_write:.1f} s, "
        f"total {total:.1f} s ({stats.studies / max(stats.seconds_write, 1e-9):,.0f} studies/s)"
    )
    top = ", ".join(f"{cc} {n / max(n_sites, 1):.1%}" for cc, n in stats.countries.most_common(8))
    print(f"  site countries: {top}")
    shares = ", ".join(
        f"{s} {n / max(stats.studies, 1):.1%}" for s, n in stats.statuses.most_common()
    )
    print(f"  study statuses: {shares}")
    print(
        f"  recruiting sites: {stats.recruiting_sites:,}; largest study "
        f"{stats.largest_study[0]} with {stats.largest_study[1]} sites"
    )
    if args.no_check:
        return 0
    t = time.perf_counter()
    result = check(stats.path, stats.site_counts, real_dir)
    verdict = "ok" if not result.problems else f"{len(result.problems)} problems"
    print(
        f"  check: {result.members:,} members, {result.checked} read back through "
        f"dashboard.ingest.parse_record in {time.perf_counter() - t:.1f} s: {verdict}"
    )
    for problem in result.problems[:20]:
        print(f"    {problem}")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
