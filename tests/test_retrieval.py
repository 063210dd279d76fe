from conftest import HashingEmbedder

from tutor.ingest.index import ingest
from tutor.retrieve.hybrid import HybridRetriever, Scope
from tutor.store.chroma import LessonStore, connect
from tutor.text import terms


def test_terms_drop_stopwords_and_fold_plurals():
    assert terms("What are the Models and Lessons of the class?") == ["model", "lesson", "class"]


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
