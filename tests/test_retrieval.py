from conftest import HashingEmbedder

from tutor.answer import Passage
from tutor.ingest.index import ingest
from tutor.retrieve.hybrid import HybridRetriever, Scope
from tutor.store.chroma import LessonStore, connect
from tutor.text import terms


def test_terms_drop_stopwords_and_fold_plurals():
    assert terms("What are the Models and Lessons of the class?") == ["model", "lesson", "class"]


def test_reciprocal_rank_fusion_rewards_agreement():
    def p(cid, score=0.0):
        return Passage(cid, "l", "t", "c", "", cid, 0, 1, score)

    fused = HybridRetriever._fuse([[p("a", 0.9), p("b", 0.8), p("c", 0.7)], [p("c"), p("d"), p("a")]])
    assert [x.chunk_id for x in fused][:2] == ["a", "c"]
    assert fused[0].score == 0.9  # keeps the dense cosine for the gate


def test_hybrid_retrieval_is_scoped_and_finds_exact_terms(tmp_path, seed_corpus):
    (seed_corpus / "zebra.md").write_text("# Zebras\n\nZebras have stripes. The quagga is an extinct zebra.\n")
    store = LessonStore(connect(tmp_path / "home"), HashingEmbedder())
    ingest(store, [seed_corpus])
    retriever = HybridRetriever(store, top_k=3)
    hits = retriever.retrieve("quagga")
    assert hits[0].lesson_id == "zebra"
    scoped = retriever.retrieve("quagga", Scope(lesson_id="fine-tuning-vs-prompting"))
    assert scoped and all(h.lesson_id == "fine-tuning-vs-prompting" for h in scoped)
    assert retriever.retrieve("zebra", Scope(course="no such course")) == []
