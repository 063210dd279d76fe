from collections.abc import Iterator

from evals.grounding import GroundingChecker
from evals.llm_judge import LLMJudge
from tutor.answer import Answer, Citation
from tutor.generate import ChatBackend


class KeywordJudgeModel(ChatBackend):
    """A chat model that says yes when the claim's last word is in the passage: enough to test the plumbing."""

    name = "keyword"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def _chat(self, messages, max_tokens) -> Iterator[str]:
        user = messages[-1]["content"]
        self.prompts.append(user)
        passage, claim = user.split("CLAIM:")
        word = claim.split("Is the claim")[0].strip().rstrip(".").split()[-1]
        yield "Yes" if word in passage else "No"


def test_llm_judge_counts_supported_sentences():
    text = "Fine-tuning amplifies data quality."
    citation = Citation(1, "l", "l#0", "S", text, 0, len(text))
    answer = Answer(
        answer="Fine-tuning amplifies quality. [1] It also paints houses. [1]", refused=False, citations=[citation]
    )
    model = KeywordJudgeModel()
    checker = GroundingChecker(lambda _: text, lambda *_: text, support=_Always(), judge=LLMJudge(model))
    result = checker.check(answer)
    assert (result.judged, result.judge_supported) == (2, 1)
    assert "PASSAGE" in model.prompts[0] and "CLAIM: Fine-tuning amplifies quality." in model.prompts[0]


class _Always:
    def supported(self, claim: str, evidence: str) -> bool:
        return True
