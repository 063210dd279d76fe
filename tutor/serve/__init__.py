"""Serve: the HTTP API, who may call or embed it (allowed origins), and what it keeps (feedback) or prepares
(starter questions, lessons as they are opened)."""
