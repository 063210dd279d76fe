"""Store: the embedding model and the Chroma collections that hold lessons and their chunks."""
