"""Embedding backends behind one small protocol; `load_embedder` picks one from the settings."""

from tutor.embeddings.base import Embedder, load_embedder

__all__ = ["Embedder", "load_embedder"]
