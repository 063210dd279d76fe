"""Serve: the HTTP API and what it keeps (feedback) or prepares (starter questions)."""
