"""Sites as a record gives them, with only the fields geocoding reads, for tests."""

from __future__ import annotations

from typing import Any

from dashboard.ingest.countries import country_code
from dashboard.model import Site


def bare_site(
    city: str,
    state: str,
    country: str,
    zip_code: str = "",
    point: tuple[float, float] | None = None,
    **kw: Any,
) -> Site:
    """A site with no facility: its city, state, country (and its ISO code), postcode and
    registry point; `kw` sets any other Site field."""
    fields: dict[str, Any] = {"geo_point": point, **kw}
    return Site(
        facility="",
        city=city,
        state=state,
        country=country,
        country_code=country_code(country),
        zip=zip_code,
        **fields,
    )
