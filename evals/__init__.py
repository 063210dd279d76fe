"""Grounding evals: does the tutor answer from the lesson, cite it faithfully, and refuse when it should?

Every eval drives the same public API a user has (`Tutor.from_settings`, `tutor.ask`,
`tutor.retriever.retrieve`), so a number here is a number a learner would see. Entry point:
`tutor eval` (see `evals/README.md`).
"""
