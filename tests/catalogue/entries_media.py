"""Catalogue entries: see tests/catalogue/__init__.py for what an Entry is and the rule it is held to."""
from __future__ import annotations

from catalogue import Entry

ENTRIES: dict[str, Entry] = {}
