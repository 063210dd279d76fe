"""Ingest: lesson files are loaded, chunked along their headings and indexed (incrementally)."""
