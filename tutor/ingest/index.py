"""Incremental indexing: load → chunk → embed → store, re-embedding only lessons that changed.

Each lesson's index hash covers its content, the embedding model and the chunker settings, so an
unchanged lesson costs a hash and nothing more; a bad file is reported and never deletes what it had.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tutor.answer import Passage
from tutor.ground.evidence import read_in_context, split_sentences
from tutor.ingest.chunking import Chunk, chunk_lesson
from tutor.ingest.lessons import Lesson, LessonError, find_lesson_files, load_lesson
from tutor.store.chroma import LessonStore

log = logging.getLogger(__name__)

CHUNKER_VERSION = "5"  # 4: sentence vectors stored with the chunks; 5: prose naming inline code or markup
_EMBED_GROUP = 256  # chunks per embed+write round: progress survives an interrupted run


@dataclass
class IngestReport:
    lessons: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def chunk_sentences(chunk: Chunk) -> list[str]:
    """The chunk's sentences as the evidence scorer reads them (under their headings), deduplicated."""
    c = chunk
    passage = Passage(c.id, c.lesson_id, c.title, c.course, c.section, c.text, c.start, c.end)
    return list(dict.fromkeys(read_in_context(s) for s in split_sentences(passage)))


def embedding_text(chunk: Chunk, count_tokens, max_tokens: int) -> str:
    """Title and section give a short chunk its context; dropped when they would not fit the model."""
    text = f"{chunk.title}\n{chunk.section}\n{chunk.text}" if chunk.section else f"{chunk.title}\n{chunk.text}"
    return text if count_tokens(text) <= max_tokens else chunk.text


def ingest(
    store: LessonStore, roots: Iterable[Path], chunk_tokens: int = 200, rebuild: bool = False, batch_size: int = 32
) -> IngestReport:
    started = time.perf_counter()
    roots = [Path(r).resolve() for r in roots]
    embedder = store.embedder
    budget = min(chunk_tokens, embedder.max_tokens)
    if rebuild:
        store.reset()
    report = IngestReport()
    known = {r.id: r for r in store.lessons()}
    lessons, bad_paths = _load_all(roots, report)

    pending: list[tuple[Lesson, list[Chunk], str, str]] = []
    for path, lesson in lessons.items():
        index_hash = _index_hash(lesson, embedder.model_id, budget)
        old = known.get(lesson.id)
        if old and old.index_hash == index_hash and old.path == path:
            report.unchanged += 1
            report.chunks += old.chunks
            continue
        chunks = chunk_lesson(lesson, embedder.count_tokens, budget)
        if not chunks:
            report.errors.append({"path": path, "error": "no text left to index after chunking"})
            continue
        pending.append((lesson, chunks, index_hash, path))
    _embed_and_store(store, pending, report, batch_size)
    report.lessons = report.unchanged + len(pending)

    loaded_ids = {lesson.id for lesson in lessons.values()}
    for record in known.values():
        if record.id in loaded_ids or record.path in bad_paths:
            continue
        gone = not Path(record.path).exists()
        under_root = any(Path(record.path).is_relative_to(root) for root in roots)
        if gone or under_root:
            store.delete_lesson(record.id)
            report.removed += 1
            log.info("removed lesson %s (%s no longer provides it)", record.id, record.path)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _load_all(roots: list[Path], report: IngestReport) -> tuple[dict[str, Lesson], set[str]]:
    lessons: dict[str, Lesson] = {}
    seen_ids: dict[str, str] = {}
    bad: set[str] = set()
    for root in roots:
        if not root.exists():
            report.errors.append({"path": str(root), "error": "corpus folder does not exist"})
            continue
        for path in find_lesson_files([root]):
            key = str(path.resolve())
            try:
                lesson = load_lesson(path, root)
            except LessonError as exc:
                report.errors.append({"path": key, "error": exc.reason})
                bad.add(key)
                log.warning("skipped %s: %s", key, exc.reason)
                continue
            if lesson.id in seen_ids:
                report.errors.append(
                    {
                        "path": key,
                        "error": f"duplicate lesson id {lesson.id!r} (also in "
                        f"{seen_ids[lesson.id]}); set a distinct `id:` in its front matter",
                    }
                )
                bad.add(key)
                continue
            seen_ids[lesson.id] = key
            lessons[key] = lesson
    return lessons, bad


def progress_bar(total: int):
    """A progress bar on stderr for long runs only."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", disable=total < 64)


def _embed_and_store(store: LessonStore, pending: list, report: IngestReport, batch_size: int) -> None:
    embedder = store.embedder
    total = sum(len(chunks) for _, chunks, _, _ in pending)
    bar = progress_bar(total)
    group: list = []
    size = 0
    done = 0
    for item in pending + [None]:
        if item is not None:
            group.append(item)
            size += len(item[1])
        if group and (item is None or size >= _EMBED_GROUP):
            texts = [embedding_text(c, embedder.count_tokens, embedder.max_tokens) for _, cs, _, _ in group for c in cs]
            vectors = embedder.embed_batch(texts, batch_size)
            said = [[(c.id, s) for c in cs for s in chunk_sentences(c)] for _, cs, _, _ in group]
            said_vectors = embedder.embed_batch([s for rows in said for _, s in rows], batch_size)
            offset = said_offset = 0
            for (lesson, chunks, index_hash, path), rows in zip(group, said, strict=True):
                sentences = [(chunk_id, text, said_vectors[said_offset + j]) for j, (chunk_id, text) in enumerate(rows)]
                chunk_vectors = vectors[offset : offset + len(chunks)]
                store.replace_lesson(lesson, chunks, chunk_vectors, index_hash, path, sentences)
                offset += len(chunks)
                said_offset += len(rows)
            done += len(texts)
            bar.update(len(texts))
            log.info("embedded %d/%d chunks", done, total)
            report.embedded += len(texts)
            report.chunks += len(texts)
            group, size = [], 0
    bar.close()


def _index_hash(lesson: Lesson, model_id: str, budget: int) -> str:
    key = f"{lesson.content_hash}|{model_id}|{budget}|{CHUNKER_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()
