"""Incremental indexing: load → chunk → embed → store, re-embedding only lessons that changed.

Each lesson's index hash covers its file's bytes, the embedding model and the chunker settings, so an
unchanged lesson costs a read and a hash — no parse, no model load — and a bad file is reported and never
deletes what it had.
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
from tutor.ingest.course import CourseFiles, CourseInfo
from tutor.ingest.lessons import (
    LOADER_VERSION,
    Lesson,
    LessonError,
    course_from_folder,
    find_lesson_files,
    load_lesson,
)
from tutor.store.chroma import IndexedLesson, LessonRecord, LessonStore

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


def passage_sentences(passage: Passage) -> list[str]:
    """A passage's sentences as the evidence scorer reads them (under their headings), deduplicated."""
    return list(dict.fromkeys(read_in_context(s) for s in split_sentences(passage)))


def chunk_sentences(chunk: Chunk) -> list[str]:
    c = chunk
    return passage_sentences(Passage(c.id, c.lesson_id, c.title, c.course, c.section, c.text, c.start, c.end))


def embedding_text(chunk: Chunk, count_tokens, max_tokens: int) -> str:
    """Title and section give a short chunk its context; dropped when they would not fit the model."""
    text = f"{chunk.title}\n{chunk.section}\n{chunk.text}" if chunk.section else f"{chunk.title}\n{chunk.text}"
    return text if count_tokens(text) <= max_tokens else chunk.text


def ingest(
    store: LessonStore,
    roots: Iterable[Path],
    chunk_tokens: int = 200,
    rebuild: bool = False,
    batch_size: int = 0,
    sentence_vectors: bool = True,
) -> IngestReport:
    """Index the lesson files under `roots`. Without `sentence_vectors` the sentences are embedded by the
    first ask that reads them instead (one model pass over the lessons instead of two)."""
    started = time.perf_counter()
    roots = [Path(r).resolve() for r in roots]
    embedder = store.embedder
    budget = min(chunk_tokens, embedder.max_tokens)
    if rebuild:
        store.reset()
    report = IngestReport()
    known = {r.id: r for r in store.lessons()}
    settings_key = f"{embedder.collection_slug}|{budget}|{CHUNKER_VERSION}|{LOADER_VERSION}"
    changed, kept, bad_paths = _scan(roots, {r.path: r for r in known.values()}, settings_key, report)

    pending: list[tuple[Lesson, list[Chunk], str, str]] = []
    for path, (lesson, index_hash) in changed.items():
        chunks = chunk_lesson(lesson, embedder.count_tokens, budget, embedder.token_offsets, embedder.special_tokens)
        if not chunks:
            report.errors.append({"path": path, "error": "no text left to index after chunking"})
            continue
        pending.append((lesson, chunks, index_hash, path))
    _embed_and_store(store, pending, report, batch_size, sentence_vectors)
    report.lessons = report.unchanged + len(pending)

    present_ids = kept | {lesson.id for lesson, _ in changed.values()}
    for record in known.values():
        if record.id in present_ids or record.path in bad_paths:
            continue
        gone = not Path(record.path).exists()
        under_root = any(Path(record.path).is_relative_to(root) for root in roots)
        if gone or under_root:
            store.delete_lesson(record.id)
            report.removed += 1
            log.info("removed lesson %s (%s no longer provides it)", record.id, record.path)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _scan(
    roots: list[Path], indexed: dict[str, LessonRecord], settings_key: str, report: IngestReport
) -> tuple[dict[str, tuple[Lesson, str]], set[str], set[str]]:
    """Every lesson file under the roots: (changed lessons, loaded, with their index hash; ids of unchanged
    lessons; paths that failed). An unchanged file costs a read and a hash, never a parse or the model."""
    changed: dict[str, tuple[Lesson, str]] = {}
    kept: set[str] = set()
    seen_ids: dict[str, str] = {}
    bad: set[str] = set()
    for root in roots:
        if not root.exists():
            report.errors.append({"path": str(root), "error": "corpus folder does not exist"})
            continue
        courses = CourseFiles(root)
        for path in find_lesson_files([root]):
            key = str(path.resolve())
            course = courses.for_lesson(path)
            index_hash = _index_hash(path, root, course, settings_key)
            old = indexed.get(key)
            if old is not None and old.index_hash == index_hash and old.id not in seen_ids:
                seen_ids[old.id] = key
                kept.add(old.id)
                report.unchanged += 1
                report.chunks += old.chunks
                continue
            try:
                lesson = load_lesson(path, root, course)
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
            changed[key] = (lesson, index_hash)
        report.errors.extend({"path": path, "error": reason} for path, reason in courses.errors.items())
    return changed, kept, bad


def progress_bar(total: int):
    """A progress bar on stderr for long runs only."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", disable=total < 64)


def _embed_and_store(
    store: LessonStore, pending: list, report: IngestReport, batch_size: int, sentence_vectors: bool
) -> None:
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
            # without sentence vectors here, the first ask that reads a passage embeds its sentences
            said = [
                [(c.id, s) for c in cs for s in chunk_sentences(c)] if sentence_vectors else [] for _, cs, *_ in group
            ]
            said_vectors = embedder.embed_batch([s for rows in said for _, s in rows], batch_size)
            offset = said_offset = 0
            indexed = []
            for (lesson, chunks, index_hash, path), rows in zip(group, said, strict=True):
                sentences = [(chunk_id, text, said_vectors[said_offset + j]) for j, (chunk_id, text) in enumerate(rows)]
                chunk_vectors = vectors[offset : offset + len(chunks)]
                indexed.append(IndexedLesson(lesson, chunks, chunk_vectors, index_hash, path, sentences))
                offset += len(chunks)
                said_offset += len(rows)
            store.replace_lessons(indexed)  # the group's rows in a few writes, not a few per lesson
            done += len(texts)
            bar.update(len(texts))
            log.info("embedded %d/%d chunks", done, total)
            report.embedded += len(texts)
            report.chunks += len(texts)
            group, size = [], 0
    bar.close()


def _index_hash(path: Path, root: Path, course: CourseInfo, settings_key: str) -> str:
    """The file's bytes, its corpus folder, its course file and the course its folder gives, the model and
    the chunker: all an index depends on (the model by name, not location)."""
    digest = hashlib.sha256()
    try:
        digest.update(path.read_bytes())
    except OSError:
        return ""  # unreadable: load_lesson reports why
    digest.update(f"|{root}|{course_from_folder(path, root)}|{course.digest}|{settings_key}".encode())
    return digest.hexdigest()
