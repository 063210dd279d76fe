"""The Chroma index: one collection of chunks and one of whole lessons, named after the embedding model.

Embedded `PersistentClient` under the data dir by default, or a `chroma run` server by URL. We always hand
Chroma our own vectors; its default embedding function (which downloads a model) is never used.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import chromadb

from tutor.answer import Passage
from tutor.errors import StoreUnavailableError, TutorError
from tutor.ingest.chunking import Chunk
from tutor.ingest.lessons import Lesson, Section
from tutor.settings import Settings
from tutor.store.embedder import Embedder, load_embedder

T = TypeVar("T")

log = logging.getLogger(__name__)

_WRITE_BATCH = 1000
# Rows read per `get`: Chroma turns a filtered read into one SQL statement with a variable per matching row,
# and SQLite refuses more than 32,766 of them (a catalog's chunks, read for BM25, are more).
_READ_PAGE = 5000


@dataclass(frozen=True)
class LessonRecord:
    """What the index knows about one lesson (the text is fetched only when asked for)."""

    id: str
    title: str
    course: str
    chunks: int
    index_hash: str
    path: str
    source: str
    text: str = ""
    sections: tuple[Section, ...] = ()
    order: int = 0
    root: str = ""
    course_description: str = ""

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "course": self.course, "chunks": self.chunks}

    @property
    def sort_key(self) -> tuple[str, int, str]:
        """Courses by name, lessons in course order (`course.yaml`), then by file name."""
        return (self.course, self.order, Path(self.path).name or self.id)


def connect(home: Path, chroma_url: str = "") -> chromadb.api.ClientAPI:
    """A `chroma run` server when a URL is given, else an embedded store under `home/chroma`."""
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        if not url.hostname:
            raise ValueError(f"TUTOR_CHROMA_URL {chroma_url!r} is not http://host:port")
        return chromadb.HttpClient(
            host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
        )
    path = Path(home) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def open_store(
    settings: Settings, embedder: Embedder | None = None, lazy: bool = False, scoped: bool = True
) -> LessonStore:
    """The index for the configured embedding model (loads the model unless one is passed in; with `lazy`,
    only once something is embedded). `scoped`: read only the lessons of `TUTOR_CORPUS` when it is set
    (`tutor ingest` sees every lesson, to remove those whose files are gone)."""
    embedder = embedder or load_embedder(
        settings.embed_model,
        lazy=lazy,
        backend=settings.embed_backend,
        exports=settings.model_cache,
        precision=settings.embed_precision,
    )
    if settings.chroma_url:  # connect lazily: a server that is down now may be up at the next ask
        store = LessonStore(lambda: connect(settings.home, settings.chroma_url), embedder, server=settings.chroma_url)
    else:
        store = LessonStore(connect(settings.home), embedder)
    if scoped:
        store.serve_only(settings.served_roots)
    return store


def _reachable(method: Callable[..., T]) -> Callable[..., T]:
    """A read from a `chroma run` server that fails because the server is gone says so, as a
    `StoreUnavailableError` (503 to the learner, "degraded" on /healthz); the next call simply tries again,
    so the tutor recovers without a restart once the server is back."""

    @functools.wraps(method)
    def read(self: LessonStore, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except TutorError:
            raise
        except Exception as exc:
            if not self.server:
                raise
            raise self.unreachable(exc) from exc

    return read


class LessonStore:
    """Chunks and lessons for one embedding model. Collections are created on first use."""

    def __init__(
        self,
        client: chromadb.api.ClientAPI | Callable[[], chromadb.api.ClientAPI],
        embedder: Embedder,
        server: str = "",
    ) -> None:
        """`client`, or a function that makes one: a store on a `chroma run` server connects on first use and
        again after a failed attempt, so the tutor can start (degraded) while the server is down."""
        self._connect = client if callable(client) and not hasattr(client, "get_or_create_collection") else None
        self._client = None if self._connect else client
        self.embedder = embedder
        self.server = server  # the `chroma run` URL, when the index lives there
        slug = embedder.collection_slug
        self.chunk_collection_name = f"chunks-{slug}"
        self.lesson_collection_name = f"lessons-{slug}"
        self.sentence_collection_name = f"sentences-{slug}"
        self._collections: tuple[Any, Any, Any] | None = None
        self._opening = threading.Lock()
        self.roots: tuple[str, ...] = ()  # served corpus folders; empty = every indexed lesson
        self._filter_roots = False  # whether the index holds lessons outside `roots`
        try:
            self._open()
        except StoreUnavailableError as exc:
            log.warning("%s", exc)

    def _open(self) -> tuple[Any, Any, Any]:
        collections = self._collections
        if collections is not None:
            return collections
        with self._opening:
            if self._collections is None:
                try:
                    if self._client is None:
                        self._client = self._connect()
                    self._collections = self._open_collections(self._client)
                except Exception as exc:
                    if not self.server:
                        raise
                    raise self.unreachable(exc) from exc
            return self._collections

    def unreachable(self, exc: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the lesson index at {self.server} is unreachable ({type(exc).__name__}: {str(exc)[:160]}); "
            "answers resume as soon as it is back"
        )

    def _open_collections(self, client: chromadb.api.ClientAPI) -> tuple[Any, Any, Any]:
        space = {"hnsw:space": "cosine", "embedder": self.embedder.model_id[-200:]}
        names = (self.chunk_collection_name, self.lesson_collection_name, self.sentence_collection_name)
        chunks, lessons, sentences = (
            client.get_or_create_collection(name, metadata=space, embedding_function=None) for name in names
        )
        if lessons.count() == 0:
            self._point_at_other_indexes(client)
        return chunks, lessons, sentences

    def _point_at_other_indexes(self, client: chromadb.api.ClientAPI) -> None:
        """An empty index beside lessons embedded by another model or precision (say, one built at fp32
        before int8 became the default) says so, rather than leaving a tutor with no lessons unexplained."""
        others = [
            c.name
            for c in client.list_collections()
            if c.name.startswith("lessons-") and c.name != self.lesson_collection_name and c.count() > 0
        ]
        if others:
            log.warning(
                "no lessons are indexed for %s, but %s holds some: run `tutor ingest` to embed them with this "
                "model, or set TUTOR_EMBED_MODEL / TUTOR_EMBED_PRECISION back to what built them",
                self.lesson_collection_name,
                ", ".join(others),
            )

    @property
    def client(self) -> chromadb.api.ClientAPI:
        self._open()
        return self._client

    @property
    def chunks(self) -> Any:
        return self._open()[0]

    @property
    def lesson_rows(self) -> Any:
        return self._open()[1]

    @property
    def sentence_rows(self) -> Any:
        return self._open()[2]

    # --- writing -------------------------------------------------------------------------------
    def replace_lesson(
        self,
        lesson: Lesson,
        chunks: list[Chunk],
        vectors: list[list[float]],
        index_hash: str,
        path: str,
        sentences: list[tuple[str, str, list[float]]] = (),
    ) -> None:
        """Swap one lesson's chunks for new ones (see `replace_lessons`)."""
        self.replace_lessons([IndexedLesson(lesson, chunks, vectors, index_hash, path, list(sentences))])

    def replace_lessons(self, lessons: list[IndexedLesson]) -> None:
        """Swap these lessons' chunks for new ones: no stale or duplicate chunks survive a re-index. New rows
        are written over the old ones before the leftovers are deleted, so an ask meanwhile (a server
        re-indexing while it serves) reads the old or the new lesson, never an empty one. The rows of all
        the lessons go in together, up to `_WRITE_BATCH` a call: a write per lesson of a few dozen rows cost
        a catalog's ingest more than twice the time."""
        if not lessons:
            return
        ids = [item.lesson.id for item in lessons]
        where = {"lesson_id": ids[0]} if len(ids) == 1 else {"lesson_id": {"$in": ids}}
        old_chunks = set(self.chunks.get(where=where, include=[])["ids"])
        old_sentences = set(self.sentence_rows.get(where=where, include=[])["ids"])
        sentence_rows = [
            (f"{chunk_id}@{i}", text, vector, {"lesson_id": item.lesson.id, "chunk_id": chunk_id})
            for item in lessons
            for i, (chunk_id, text, vector) in enumerate(item.sentences)
        ]
        _write(self.sentence_rows, sentence_rows)
        _write(
            self.chunks,
            [(c.id, c.text, v, c.metadata) for item in lessons for c, v in zip(item.chunks, item.vectors, strict=True)],
        )
        lesson_rows = [(i.lesson.id, i.lesson.text, _mean_vector(i.vectors), _lesson_metadata(i)) for i in lessons]
        _write(self.lesson_rows, lesson_rows)
        stale_chunks = old_chunks - {c.id for item in lessons for c in item.chunks}
        stale_sentences = old_sentences - {row[0] for row in sentence_rows}
        if stale_chunks:
            self.chunks.delete(ids=sorted(stale_chunks))
        if stale_sentences:
            self.sentence_rows.delete(ids=sorted(stale_sentences))

    def keep_sentences(self, passage: Passage, sentences: list[tuple[str, list[float]]]) -> None:
        """Sentence vectors an ask embedded (`sentence_vectors = "ask"`), one row per sentence of the chunk;
        an upsert, so two asks storing the same passage at once write one copy."""
        where = {"lesson_id": passage.lesson_id, "chunk_id": passage.chunk_id}
        rows = [(f"{passage.chunk_id}@{j}", text, vector, where) for j, (text, vector) in enumerate(sentences)]
        _write(self.sentence_rows, rows)

    def delete_lesson(self, lesson_id: str) -> None:
        self.chunks.delete(where={"lesson_id": lesson_id})
        self.sentence_rows.delete(where={"lesson_id": lesson_id})
        self.lesson_rows.delete(ids=[lesson_id])

    def reset(self) -> None:
        """Drop this model's collections and start empty (`tutor ingest --rebuild`)."""
        for name in (self.chunk_collection_name, self.lesson_collection_name, self.sentence_collection_name):
            self.client.delete_collection(name)
        self._collections = self._open_collections(self.client)

    # --- reading -------------------------------------------------------------------------------
    def serve_only(self, roots: list[Path] | tuple[Path, ...]) -> None:
        """Read only the lessons indexed from these corpus folders (`TUTOR_CORPUS` on a server): others
        indexed in the same data dir stay in the index, unseen."""
        self.roots = tuple(sorted({str(Path(r).resolve()) for r in roots}))
        self.indexed_changed()

    def indexed_changed(self) -> None:
        """The index changed (an ingest): check again whether it holds lessons outside the served folders.
        Only then do reads filter by folder, which costs a filtered scan (a catalog-wide search goes from
        about 12 ms to 250 ms over 43,000 chunks)."""
        self._filter_roots = False
        if self.roots:
            try:
                rows = _paged_get(self.lesson_rows, include=["metadatas"])
            except Exception:  # unreachable now: filter, to be safe, until the next check
                self._filter_roots = True
                return
            self._filter_roots = any(m.get("root", "") not in self.roots for m in rows["metadatas"])

    def _served(self, where: dict | None = None) -> dict | None:
        """`where`, narrowed to the served corpus folders when the index holds others. A lesson's own scope
        needs no narrowing: `lesson` only finds served lessons, and asks name a lesson found by it."""
        if not self._filter_roots or (where and "lesson_id" in where):
            return where
        served = {"root": {"$in": list(self.roots)}}
        return served if where is None else {"$and": [where, served]}

    @_reachable
    def lessons(self) -> list[LessonRecord]:
        rows = _paged_get(self.lesson_rows, where=self._served(), include=["metadatas"])
        records = [_record(i, m) for i, m in zip(rows["ids"], rows["metadatas"])]
        return sorted(records, key=lambda r: r.sort_key)

    @_reachable
    def lesson(self, lesson_id: str) -> LessonRecord | None:
        rows = self.lesson_rows.get(ids=[lesson_id], include=["metadatas", "documents"])
        if not rows["ids"]:
            return None
        record = _record(rows["ids"][0], rows["metadatas"][0], rows["documents"][0])
        return record if not self.roots or record.root in self.roots else None

    @_reachable
    def count(self) -> int:
        if self._filter_roots:
            return len(_paged_get(self.lesson_rows, where=self._served(), include=[])["ids"])
        return self.lesson_rows.count()

    @_reachable
    def passages(self, where: dict | None = None) -> list[Passage]:
        """Every chunk in a scope (for BM25 and neighbour lookups), in lesson order."""
        rows = _paged_get(self.chunks, where=self._served(where), include=["metadatas", "documents"])
        out = [_passage(i, d, m) for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"])]
        return sorted(out, key=lambda p: (p.lesson_id, p.start))

    @_reachable
    def lesson_vectors(self, lesson_id: str) -> tuple[list[Passage], list[list[float]]]:
        """A lesson's chunks and their vectors, in lesson order: a lesson-scoped search is an exact cosine
        over these (a few dozen rows), not a filtered search of the whole index."""
        rows = self.chunks.get(where={"lesson_id": lesson_id}, include=["metadatas", "documents", "embeddings"])
        found = sorted(
            zip(rows["ids"], rows["documents"], rows["metadatas"], list(rows["embeddings"]), strict=True),
            key=lambda row: int(row[2]["start"]),
        )
        return [_passage(i, d, m) for i, d, m, _ in found], [list(map(float, e)) for *_, e in found]

    @_reachable
    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """The stored sentence vectors of these chunks, by the text they embed (empty for an index made
        before sentences were stored: the scorer then embeds them itself)."""
        if not chunk_ids:
            return {}
        rows = self.sentence_rows.get(where={"chunk_id": {"$in": list(chunk_ids)}}, include=["documents", "embeddings"])
        return dict(zip(rows["documents"], rows["embeddings"], strict=True))

    @_reachable
    def search(self, vector: list[float], k: int, where: dict | None = None) -> list[Passage]:
        """Nearest chunks by cosine; `score` is the cosine similarity."""
        total = self.chunks.count()
        if total == 0:
            return []
        res = self.chunks.query(
            query_embeddings=[vector],
            n_results=min(k, total),
            where=self._served(where),
            include=["metadatas", "documents", "distances"],
        )
        return [
            _passage(i, d, m, 1.0 - dist)
            for i, d, m, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def as_langchain(self):
        """The same chunks as a LangChain vector store (`.as_retriever()` gives a retriever)."""
        from langchain_chroma import Chroma

        return Chroma(client=self.client, collection_name=self.chunk_collection_name, embedding_function=self.embedder)


def _paged_get(collection: Any, **query: Any) -> dict[str, list]:
    """`collection.get(**query)` read `_READ_PAGE` rows at a time, the pages joined (ids, documents,
    metadatas as asked)."""
    out: dict[str, list] = {"ids": [], "documents": [], "metadatas": []}
    offset = 0
    while True:
        rows = collection.get(**query, limit=_READ_PAGE, offset=offset)
        for key in out:
            out[key] += rows.get(key) or []
        if len(rows["ids"]) < _READ_PAGE:
            return out
        offset += _READ_PAGE


@dataclass(frozen=True)
class IndexedLesson:
    """One lesson as it is written to the index: its chunks with their vectors, and the sentence vectors
    (chunk id, sentence as read in context, vector) the evidence scorer reads, made once at ingest."""

    lesson: Lesson
    chunks: list[Chunk]
    vectors: list[list[float]]
    index_hash: str
    path: str
    sentences: list[tuple[str, str, list[float]]] = field(default_factory=list)


def _write(collection: Any, rows: list[tuple[str, str, list[float], dict]]) -> None:
    """Upsert (id, document, vector, metadata) rows, `_WRITE_BATCH` a call."""
    for i in range(0, len(rows), _WRITE_BATCH):
        part = rows[i : i + _WRITE_BATCH]
        collection.upsert(
            ids=[row[0] for row in part],
            documents=[row[1] for row in part],
            embeddings=[row[2] for row in part],
            metadatas=[row[3] for row in part],
        )


def _lesson_metadata(item: IndexedLesson) -> dict[str, Any]:
    lesson = item.lesson
    return {
        "title": lesson.title,
        "course": lesson.course,
        "chunks": len(item.chunks),
        "index_hash": item.index_hash,
        "path": item.path,
        "source": lesson.source,
        "order": lesson.order,
        "root": lesson.root,
        "course_description": lesson.course_description,
        "sections": json.dumps([[s.level, s.title, s.start, s.end, list(s.path)] for s in lesson.sections]),
    }


def _mean_vector(vectors: list[list[float]]) -> list[float]:
    dims = len(vectors[0])
    mean = [sum(v[d] for v in vectors) / len(vectors) for d in range(dims)]
    norm = sum(x * x for x in mean) ** 0.5 or 1.0
    return [x / norm for x in mean]


def _record(lesson_id: str, meta: dict, text: str = "") -> LessonRecord:
    sections = tuple(Section(lv, t, s, e, tuple(p)) for lv, t, s, e, p in json.loads(meta.get("sections", "[]")))
    return LessonRecord(
        id=lesson_id,
        title=meta["title"],
        course=meta["course"],
        chunks=int(meta["chunks"]),
        index_hash=meta["index_hash"],
        path=meta.get("path", ""),
        source=meta.get("source", ""),
        text=text or "",
        sections=sections,
        order=int(meta.get("order", 0)),
        root=meta.get("root", ""),
        course_description=meta.get("course_description", ""),
    )


def _passage(chunk_id: str, text: str, meta: dict, score: float = 0.0) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        lesson_id=meta["lesson_id"],
        title=meta["title"],
        course=meta["course"],
        section=meta.get("section", ""),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        score=score,
    )
