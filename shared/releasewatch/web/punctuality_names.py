"""The punctuality record's file names (web/punctuality_files.py builds them): kept apart so
the router knows the paths without importing the record's code on a cold start."""

from __future__ import annotations

SCHEMA_FILE = "punctuality.v1.json"  # in web/schema/; served at api/schema/v1/punctuality.json
# name → content type, for the data files
DATA_FILES = {
    "punctuality.csv": "text/csv; charset=utf-8",
    "producers.csv": "text/csv; charset=utf-8",
    "punctuality.json": "application/json; charset=utf-8",
    "late-and-early.atom": "application/atom+xml; charset=utf-8",
}
