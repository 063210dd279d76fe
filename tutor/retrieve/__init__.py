"""Retrieve: the passages of a lesson (or course) nearest to a question, dense + BM25 fused by score."""
