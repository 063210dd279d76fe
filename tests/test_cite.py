"""`cite`, the verification core: every kept sentence stands on a verbatim quote at its exact lesson span,
markers are renumbered in order, unsupported claims are dropped, a claim citing the wrong passage is
re-attached to the one that supports it."""

import re

from tutor.answer import Passage
from tutor.generate.draft import draft_sentences
from tutor.ground.cite import cite, quote_section, strip_framing
from tutor.ground.evidence import split_sentences

LESSON = (
    "# Tuning\n\n"
    "## Costs\n\n"
    "Fine-tuning needs labelled examples and GPU time. It changes the model's weights.\n\n"
    "## Retrieval\n\n"
    "RAG keeps facts in a store you can update. The model reads retrieved passages at answer time.\n"
)


def passage(section: str, heading: str) -> Passage:
    start = LESSON.index(heading)
    end = LESSON.find("\n## ", start + 1)
    end = len(LESSON) if end < 0 else end
    return Passage(
        f"tuning#{section}", "tuning", "Tuning", "Course", f"Tuning > {section}", LESSON[start:end], start, end
    )


COSTS, RETRIEVAL = passage("Costs", "## Costs"), passage("Retrieval", "## Retrieval")


class WordOverlap:
    """A stand-in support scorer: a claim is supported when all its content words appear in the evidence."""

    def score(self, claim: str, text: str) -> float:
        words = set(re.findall(r"[a-z]{4,}", claim.lower()))
        return len(words & set(re.findall(r"[a-z]{4,}", text.lower()))) / max(1, len(words))

    def supported(self, claim: str, evidence: str) -> bool:
        return self.score(claim, evidence) == 1.0


def test_extractive_quotes_are_verbatim_at_their_lesson_span():
    draft = "The lesson says: It changes the model's weights. [1] RAG keeps facts in a store you can update. [2]"
    result = cite(draft, [COSTS, RETRIEVAL], None, verify=False, lead="The lesson says: ")
    assert [c.n for c in result.citations] == [1, 2]
    for c in result.citations:
        assert LESSON[c.start : c.end] == c.quote and c.lesson_id == "tuning"
    assert result.citations[0].quote == "It changes the model's weights."
    assert result.text.startswith("The lesson says: ") and result.text.endswith("[2]")


def test_markers_are_renumbered_in_order_of_appearance():
    draft = "RAG keeps facts in a store you can update. [2] Fine-tuning needs labelled examples and GPU time. [1]"
    result = cite(draft, [COSTS, RETRIEVAL], WordOverlap(), verify=True)
    assert [(c.n, c.chunk_id) for c in result.citations] == [(1, "tuning#Retrieval"), (2, "tuning#Costs")]
    assert result.text == (
        "RAG keeps facts in a store you can update. [1] Fine-tuning needs labelled examples and GPU time. [2]"
    )


def test_an_unsupported_claim_is_dropped_and_reported():
    draft = "RAG keeps facts in a store you can update. [2] Fine-tuning costs exactly 42 dollars on Mars. [1]"
    result = cite(draft, [COSTS, RETRIEVAL], WordOverlap(), verify=True)
    assert "Mars" not in result.text and result.dropped == ["Fine-tuning costs exactly 42 dollars on Mars."]
    assert len(result.citations) == 1


def test_a_claim_citing_the_wrong_passage_is_reattached_to_its_support():
    result = cite(
        "The model reads retrieved passages at answer time. [1]", [COSTS, RETRIEVAL], WordOverlap(), verify=True
    )
    assert [c.chunk_id for c in result.citations] == ["tuning#Retrieval"]


def test_nothing_supported_gives_no_text():
    result = cite("Bananas are the best GPUs. [1]", [COSTS, RETRIEVAL], WordOverlap(), verify=True)
    assert result.text == "" and not result.citations and result.dropped


def test_marker_only_and_fragment_sentences_are_skipped():
    assert cite("[1]. [2]. ..", [COSTS], WordOverlap(), verify=True).citations == []
    assert draft_sentences("One claim [1]. Two claims [1, 2]. Tail") == ["One claim [1].", "Two claims [1, 2].", "Tail"]


def test_framing_is_not_part_of_the_claim():
    assert strip_framing("Under “Costs”: It changes the model's weights.") == "It changes the model's weights."
    result = cite("Under “Costs”: It changes the model's weights. [1]", [COSTS], None, verify=False)
    assert result.citations[0].quote == "It changes the model's weights."


def test_the_section_names_the_heading_inside_the_chunk():
    whole = Passage("tuning#0", "tuning", "Tuning", "Course", "Tuning", LESSON, 0, len(LESSON))
    quote = next(s for s in split_sentences(whole) if s.text.startswith("RAG keeps"))
    assert quote_section(quote) == "Tuning > Retrieval"


def test_a_quoted_claim_is_cited_at_the_very_sentence_the_backend_chose():
    from tutor.generate.draft import Claim, Draft

    text = "Intro.\n\nKeep it simple. More words here.\n\nKeep it simple. Later words here.\n"
    whole = Passage("t#0", "t", "T", "C", "T", text, 0, len(text))
    second = [s for s in split_sentences(whole) if s.text == "Keep it simple."][1]
    result = cite(Draft([Claim("Keep it simple.", (1,), second)], "Lead: "), [whole], None, verify=False)
    assert (result.citations[0].start, result.citations[0].end) == (second.start, second.end)
    assert result.text == "Lead: Keep it simple. [1]"


def test_parse_draft_keeps_markers_as_passage_numbers():
    from tutor.generate.draft import parse_draft

    draft = parse_draft("Lead: One [1]. Two [2, 3]. Three", "Lead: ")
    assert [(c.text, c.passages) for c in draft.claims] == [("One.", (1,)), ("Two.", (2, 3)), ("Three", ())]
    assert draft.lead == "Lead: "
