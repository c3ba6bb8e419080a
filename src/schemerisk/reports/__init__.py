"""Reports: Sheet C tables (and, later, charts and HTML)."""
