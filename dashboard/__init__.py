"""Trial sites dashboard: parse a clinical-trial record, geocode its sites, show them on a map."""

__version__ = "0.1.0"
