"""Every output format, imported so that each registers its renderers; commands take
`formats_for` and `render` from here."""

from __future__ import annotations

from tokenbench.render import csv, html, json, md, table
from tokenbench.render.registry import Output, formats_for, render

__all__ = ["FORMATS", "Output", "formats_for", "render"]

FORMATS = (table, json, csv, md, html)  # the modules, each one format
