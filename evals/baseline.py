"""The naive RAG of the LangChain tutorial, on the same lessons, embedder and answer backend as the tutor.

It is what most RAG demos ship: 1000-character chunks with 200 overlap (`RecursiveCharacterTextSplitter`),
a Chroma collection, the top 4 by similarity, and an answer from whatever came back. No answerability
gate and no verification, so it answers unless nothing is retrieved. Everything else is held equal (same
embedder, same `EvidenceScorer` + extractive sentence picker, or the same LLM backend), so a difference
in the numbers is the tutor's chunking, hybrid retrieval, gate and verification, not the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from pathlib import Path

from langchain_chroma import Chroma
from langchain_text_splitters import RecursiveCharacterTextSplitter

from evals.datasets import EvalRow
from evals.metrics import answer_claims
from tutor.answer import Answer, Citation, Passage
from tutor.generate.templates import load_prompt
from tutor.pipeline import Tutor

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
COLLECTION = "naive-baseline"
_ADD_BATCH = 500
NO_CONTEXT = "I couldn't find anything in the lessons about that."


class NaiveRAG:
    """Split → embed → top-4 similarity → answer, with citations pointing at its own chunks."""

    name = "baseline"

    def __init__(self, tutor: Tutor, data_dir: Path, k: int = TOP_K) -> None:
        from chromadb.config import Settings as ChromaSettings

        self.tutor = tutor
        self.k = k
        self.dir = Path(data_dir) / "naive"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lead = load_prompt("refusal")["answer_lead"]
        self.store = Chroma(
            collection_name=COLLECTION,
            embedding_function=tutor.store.embedder,
            persist_directory=str(self.dir),
            collection_metadata={"hnsw:space": "cosine"},
            client_settings=ChromaSettings(anonymized_telemetry=False),
        )
        self._chunks: dict[str, str] = {}

    # --- index ---------------------------------------------------------------------------------
    def build(self) -> int:
        """Index the tutor's lessons (their indexed text) unless the same lessons are already in; returns chunks."""
        records = self.tutor.lessons()
        manifest = self.dir / "manifest.json"
        fingerprint = hashlib.sha256(
            json.dumps(
                [[r.id, r.index_hash] for r in records]
                + [CHUNK_SIZE, CHUNK_OVERLAP, self.tutor.store.embedder.model_id]
            ).encode()
        ).hexdigest()
        if manifest.exists() and json.loads(manifest.read_text()).get("fingerprint") == fingerprint:
            self._load_chunks()
            log.info("naive baseline: %d chunks already indexed", len(self._chunks))
            return len(self._chunks)
        self.store.reset_collection()
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
        )
        texts, metadatas, ids = [], [], []
        for record in records:
            lesson = self.tutor.lesson(record.id)
            if lesson is None or not lesson.text:
                continue
            for i, doc in enumerate(splitter.create_documents([lesson.text])):
                texts.append(doc.page_content)
                metadatas.append(
                    {
                        "lesson_id": record.id,
                        "title": record.title,
                        "course": record.course,
                        "start": int(doc.metadata["start_index"]),
                    }
                )
                ids.append(f"naive:{record.id}#{i}")
        for i in range(0, len(texts), _ADD_BATCH):
            self.store.add_texts(texts[i : i + _ADD_BATCH], metadatas[i : i + _ADD_BATCH], ids=ids[i : i + _ADD_BATCH])
        manifest.write_text(json.dumps({"fingerprint": fingerprint, "chunks": len(texts)}))
        self._chunks = dict(zip(ids, texts))
        log.info("naive baseline: indexed %d chunks from %d lessons", len(texts), len(records))
        return len(texts)

    def _load_chunks(self) -> None:
        rows = self.store.get(include=["documents"])
        self._chunks = dict(zip(rows["ids"], rows["documents"]))

    # --- the EvalSystem face -------------------------------------------------------------------
    def search(self, question: str, k: int, lesson_id: str | None = None) -> list[Passage]:
        """Top-k chunks by cosine, filtered to the lesson when the question is scoped to one (like the tutor)."""
        where = {"lesson_id": lesson_id} if lesson_id else None
        hits = self.store.similarity_search_with_score(question, k=k, filter=where)
        out = []
        for doc, distance in hits:
            meta = doc.metadata
            start = int(meta["start"])
            out.append(
                Passage(
                    chunk_id=doc.id or "",
                    lesson_id=meta["lesson_id"],
                    title=meta["title"],
                    course=meta["course"],
                    section="",
                    text=doc.page_content,
                    start=start,
                    end=start + len(doc.page_content),
                    score=1.0 - float(distance),
                )
            )
        return out

    def rank(self, question: str, k: int) -> list[Passage]:
        return self.search(question, k)

    def chunk_text(self, lesson_id: str, chunk_id: str) -> str | None:
        return self._chunks.get(chunk_id)

    def answer(self, row: EvalRow) -> Answer:
        t0 = time.perf_counter()
        backend = self.tutor.backend
        question = backend.condense(row.question, list(row.history)) if row.history else row.question
        passages = self.search(question, self.k, row.lesson_id)
        sentences = self.tutor.scorer.score(question, passages) if passages else []
        t_retrieve = _ms(t0)
        t1 = time.perf_counter()
        draft = "".join(backend.generate(question, passages, sentences)) if passages else ""
        t_answer = _ms(t1)
        text, citations = self._cite(draft, passages)
        refused = not text
        return Answer(
            answer=text or NO_CONTEXT,
            refused=refused,
            citations=citations,
            backend=f"naive+{backend.name}",
            timings_ms={"retrieve": t_retrieve, "answer": t_answer, "total": _ms(t0)},
            question=row.question,
            standalone_question=question,
            lesson_id=row.lesson_id,
            passages=passages,
        )

    def _cite(self, draft: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
        """Each answer sentence cites the chunk its marker names; the quote is the lesson sentence it copied
        (extractive) or, for a free-written LLM sentence, the whole chunk (no verification, as in the tutorial)."""
        pieces: list[str] = []
        citations: list[Citation] = []
        for claim, numbers in answer_claims(draft, self.lead):
            targets = [passages[n - 1] for n in numbers if 0 < n <= len(passages)]
            marks = []
            for passage in targets:
                quote, start = _verbatim(claim, passage)
                citations.append(
                    Citation(
                        n=len(citations) + 1,
                        lesson_id=passage.lesson_id,
                        chunk_id=passage.chunk_id,
                        section="",
                        quote=quote,
                        start=start,
                        end=start + len(quote),
                        title=passage.title,
                    )
                )
                marks.append(f"[{len(citations)}]")
            pieces.append(f"{claim} {' '.join(marks)}".strip())
        return ((self.lead + " ".join(pieces)) if pieces else ""), citations


def _verbatim(claim: str, passage: Passage) -> tuple[str, int]:
    """The claim as it stands in the chunk (with or without the full stop the picker added), else the chunk."""
    for candidate in (claim, claim[:-1] if claim.endswith(".") else None):
        if candidate and len(candidate) > 3:
            at = passage.text.find(candidate)
            if at >= 0:
                return candidate, passage.start + at
    stripped = re.sub(r"\s+", " ", claim).strip()
    at = passage.text.find(stripped)
    if at >= 0 and stripped:
        return stripped, passage.start + at
    return passage.text, passage.start


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
