"""Build the shipped evaluation datasets under evals/datasets/ from the shared snapshot.

Usage: python evals/build_datasets.py [SHARED_DIR] [OUT_DIR]
Defaults: SHARED_DIR=<repo>/../shared, OUT_DIR=<repo>/evals/datasets.

Stdlib only and deterministic: re-running on the same inputs rewrites byte-identical files. Lesson ids and
front matter come from `corpus/tools/lessonfile.py` (and ML-For-Beginners ids from `corpus/tools/import_mlfb.py`),
the same code that writes the corpus, so the ids here always name real corpus lessons.

Suites written (see evals/datasets/README.md for the row format):
  seed.jsonl     hand-written questions about the seed lessons (from seed_source.json, which is hand-authored
                 and refers to lessons by raw seed number; the real lesson ids are read from the front matter
                 of corpus/seeds/*.md, and every key fact is checked against the lesson text)
  mlfb.jsonl     ML-For-Beginners quiz questions, rewritten as questions and vetted against the lesson text
  squad2/        SQuAD 2.0 paragraphs as one-paragraph lessons + tune/test question files
  scifact/       SciFact retrieval eval (corpus gzipped, dev queries, qrels, claim labels)
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    from corpus.tools.lessonfile import front_matter, slugify, split_front_matter
except ModuleNotFoundError as err:  # run as `python evals/build_datasets.py`: the repo root is not on sys.path
    if not (err.name or "").startswith("corpus"):
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from corpus.tools.lessonfile import front_matter, slugify, split_front_matter

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_OUT = REPO / "evals" / "datasets"
CORPUS_SEEDS = REPO / "corpus" / "seeds"
SEED_SOURCE = "seed_source.json"

# Raw seed pages that make up each seed lesson (000 and 001 are two renderings of one lesson).
SEED_GROUPS: dict[str, tuple[str, ...]] = {
    "000": ("000", "001"),
    "002": ("002",),
    "003": ("003",),
    "004": ("004",),
}
# Page titles, used for the lesson id (slug) only when corpus/seeds/ does not exist yet; `slugify` is the rule
# clean_pages names the corpus files by, so the fallback ids match the ids corpus/seeds would get.
SEED_TITLES = {
    "000": "When to Fine-Tune vs When to Just Prompt: A Decision Framework",
    "002": "Fine-tuning vs prompting",
    "003": "Fine-Tuning vs Prompting, Honestly",
    "004": "Fine-tuning vs. Prompting — When to Use Which",
}
SEED_CATEGORIES = {"answerable", "followup", "off_topic", "near_miss", "injection"}
SQUAD_TUNE_ARTICLES = 8
SQUAD_MAX_BYTES = 6_000_000

Row = dict[str, Any]


class BuildError(RuntimeError):
    """A dataset failed validation; the message says which row and why."""


# --------------------------------------------------------------------------- text helpers


def norm(text: str) -> str:
    """Lowercase and collapse whitespace (the comparison used for 'occurs verbatim')."""
    return re.sub(r"\s+", " ", text).strip().lower()


def contains_phrase(haystack_norm: str, phrase: str, whole_words: bool = True) -> bool:
    """True if `phrase` occurs in the normalised haystack (by default not cut inside a word at either end)."""
    needle = norm(phrase)
    if not needle:
        return False
    if not whole_words:
        return needle in haystack_norm
    left = r"(?<![a-z0-9])" if needle[0].isalnum() else ""
    right = r"(?![a-z0-9])" if needle[-1].isalnum() else ""
    return re.search(left + re.escape(needle) + right, haystack_norm) is not None


def read_jsonl(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, rows: Iterable[Row]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def copy_files(src: Path, dst: Path, names: Iterable[str]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(src / name, dst / name)


# --------------------------------------------------------------------------- row checks


def check_rows(
    rows: list[Row], suite: str, lesson_texts: dict[str, str] | None = None, whole_words: bool = True
) -> None:
    """Schema checks shared by every suite; with `lesson_texts`, key facts must occur in their lesson."""
    seen: set[str] = set()
    for row in rows:
        rid = row.get("id")
        where = f"{suite}:{rid}"
        if not isinstance(rid, str) or not rid:
            raise BuildError(f"{suite}: row without a string id: {row}")
        if rid in seen:
            raise BuildError(f"{where}: duplicate id")
        seen.add(rid)
        if not isinstance(row.get("question"), str) or not row["question"].strip():
            raise BuildError(f"{where}: empty question")
        if not isinstance(row.get("answerable"), bool):
            raise BuildError(f"{where}: 'answerable' must be a bool")
        if row["answerable"]:
            if not row.get("reference") or not row.get("key_facts"):
                raise BuildError(f"{where}: answerable rows need 'reference' and 'key_facts'")
        elif row.get("key_facts"):
            raise BuildError(f"{where}: unanswerable rows must not have key_facts")
        for turn in row.get("history", []):
            if turn.get("role") not in {"user", "assistant"} or not turn.get("content"):
                raise BuildError(f"{where}: bad history turn {turn}")
        if lesson_texts is None or not row.get("key_facts"):
            continue
        lessons = row.get("gold_lessons") or [row.get("lesson_id")]
        texts = [lesson_texts[lid] for lid in lessons if lid in lesson_texts]
        if not texts:
            raise BuildError(f"{where}: no lesson text for {lessons}")
        for fact in row["key_facts"]:
            if not any(contains_phrase(text, fact, whole_words) for text in texts):
                raise BuildError(f"{where}: key fact not in lesson text: {fact!r}")


# --------------------------------------------------------------------------- 1. seed lessons


def _shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + size]) for i in range(max(0, len(words) - size + 1))}


def seed_lessons(shared: Path, corpus_seeds: Path) -> tuple[dict[str, str], dict[str, str], str]:
    """Map each seed group ('000', '002', ...) to its lesson id and normalised lesson text.

    Ids come from the `id:` front matter of corpus/seeds/*.md; each corpus file is matched to the raw seed
    page it was made from by 4-gram overlap, so the mapping survives title or file-name changes. Without
    corpus/seeds, falls back to the raw pages with id = slug of the page title.
    """
    raw: dict[str, str] = {}
    for key, numbers in SEED_GROUPS.items():
        parts = []
        for number in numbers:
            matches = sorted((shared / "seeds").glob(f"{number}_*.txt"))
            if len(matches) != 1:
                raise BuildError(f"expected one raw seed page {number}_*.txt, found {len(matches)}")
            parts.append(matches[0].read_text(encoding="utf-8"))
        raw[key] = "\n".join(parts)

    corpus_files = sorted(corpus_seeds.glob("*.md")) if corpus_seeds.is_dir() else []
    if not corpus_files:
        ids = {key: slugify(SEED_TITLES[key]) for key in raw}
        return (
            ids,
            {key: norm(text) for key, text in raw.items()},
            f"raw pages in {shared / 'seeds'} (FALLBACK)",
        )

    docs: list[tuple[str, str, str, set[tuple[str, ...]]]] = []
    for path in corpus_files:
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
        if not meta.get("id"):
            raise BuildError(f"{path}: no 'id' in front matter")
        docs.append((meta["id"], meta.get("source", ""), body, _shingles(body)))
    ids: dict[str, str] = {}
    texts: dict[str, str] = {}
    for key, text in raw.items():
        # Prefer the `source:` front matter naming the raw page; else the corpus file sharing most 4-grams.
        named = [(lid, body) for lid, source, body, _ in docs if re.search(rf"(?<!\d){key}_", source)]
        if len(named) == 1:
            ids[key], texts[key] = named[0][0], norm(named[0][1])
            continue
        raw_sh = _shingles(text)
        scored = sorted(((len(sh & raw_sh) / max(1, len(sh)), lid, body) for lid, _, body, sh in docs), reverse=True)
        score, lid, body = scored[0]
        if score < 0.5:
            raise BuildError(f"no corpus/seeds lesson matches raw seed {key} (best {lid}: {score:.2f})")
        ids[key], texts[key] = lid, norm(body)
    if len(set(ids.values())) != len(ids):
        raise BuildError(f"two seed groups map to the same corpus lesson: {ids}")
    return ids, texts, str(corpus_seeds)


def build_seed(shared: Path, out: Path, corpus_seeds: Path) -> tuple[list[Row], str]:
    ids, texts, source = seed_lessons(shared, corpus_seeds)
    spec = json.loads((out / SEED_SOURCE).read_text(encoding="utf-8"))
    rows: list[Row] = []
    for item in spec["questions"]:
        key = item["lesson"]
        if key not in ids:
            raise BuildError(f"seed:{item['id']}: unknown seed lesson {key!r}")
        category = item["category"]
        if category not in SEED_CATEGORIES:
            raise BuildError(f"seed:{item['id']}: unknown category {category!r}")
        answerable = category in {"answerable", "followup"}
        row: Row = {
            "id": item["id"],
            "question": item["question"],
            "lesson_id": ids[key],
            "answerable": answerable,
        }
        if answerable:
            row["reference"] = item["reference"]
            row["key_facts"] = item["key_facts"]
            row["gold_lessons"] = [ids[key]]
        elif category == "near_miss":
            row["gold_lessons"] = [ids[key]]  # on this lesson's topic, but the lesson does not answer it
        if item.get("history"):
            row["history"] = item["history"]
        if category == "followup" and not item.get("history"):
            raise BuildError(f"seed:{item['id']}: followup rows need a history")
        row["category"] = category
        rows.append(row)
    check_rows(rows, "seed", {ids[key]: texts[key] for key in ids})
    write_jsonl(out / "seed.jsonl", rows)
    return rows, source


# --------------------------------------------------------------------------- 3. SQuAD 2.0


def build_squad2(shared: Path, out: Path) -> dict[str, int]:
    src = shared / "bench" / "squad2"
    dst = out / "squad2"
    if (dst / "lessons").is_dir():
        shutil.rmtree(dst / "lessons")
    copy_files(src, dst, ("LICENSE-DATA.txt", "LICENSE.repo-MIT", "SOURCE.txt"))
    paragraphs = read_jsonl(src / "paragraphs.jsonl")
    articles: list[str] = []
    pid_to_lesson: dict[str, str] = {}
    for para in paragraphs:
        title, idx = para["pid"].rsplit("#", 1)
        if title != para["title"]:
            raise BuildError(f"squad2: pid/title mismatch in {para['pid']}")
        if title not in articles:
            articles.append(title)
        name = f"{slugify(title)}-{int(idx)}"
        lesson_id = f"squad2-{name}"
        pid_to_lesson[para["pid"]] = lesson_id
        display = title.replace("_", " ")
        front = front_matter(
            lesson_id, f"{display} (paragraph {int(idx)})", f"SQuAD2 {display}", "SQuAD 2.0 dev, " + para["pid"]
        )
        path = dst / "lessons" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(front + para["text"] + "\n", encoding="utf-8")
    if len(set(pid_to_lesson.values())) != len(pid_to_lesson):
        raise BuildError("squad2: lesson ids collide")
    tune_articles = set(articles[:SQUAD_TUNE_ARTICLES])
    splits: dict[str, list[Row]] = {"tune": [], "test": []}
    for q in read_jsonl(src / "questions.jsonl"):
        lesson_id = pid_to_lesson[q["gold_pid"]]
        row: Row = {"id": q["qid"], "question": q["question"].strip(), "lesson_id": lesson_id}
        row["answerable"] = bool(q["answerable"])
        if q["answerable"]:
            row["reference"] = q["answers"][0]
            row["key_facts"] = list(dict.fromkeys(q["answers"]))
        row["gold_lessons"] = [lesson_id]
        row["category"] = "answerable" if q["answerable"] else "unanswerable"
        splits["tune" if q["title"] in tune_articles else "test"].append(row)
    texts = {pid_to_lesson[p["pid"]]: norm(p["text"]) for p in paragraphs}
    counts = {"lessons": len(paragraphs), "articles": len(articles)}
    for split, rows in splits.items():
        # SQuAD answer spans are kept as annotated, even the few cut inside a word ("562 to 1598").
        check_rows(rows, f"squad2/{split}", texts, whole_words=False)
        counts[split] = write_jsonl(dst / f"{split}.jsonl", rows)
        counts[f"{split}_answerable"] = sum(r["answerable"] for r in rows)
    size = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    if size > SQUAD_MAX_BYTES:
        raise BuildError(f"squad2 is {size} bytes, over the {SQUAD_MAX_BYTES} budget")
    counts["bytes"] = size
    return counts


# --------------------------------------------------------------------------- 4. SciFact


def build_scifact(shared: Path, out: Path) -> dict[str, int]:
    src = shared / "bench" / "scifact"
    dst = out / "scifact"
    copy_files(src, dst, ("LICENSE.md", "SOURCE.txt"))
    raw = (src / "corpus.jsonl").read_bytes()
    # mtime=0 and no file name in the header keep the archive byte-identical across runs.
    with (dst / "corpus.jsonl.gz").open("wb") as handle:
        with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    shutil.copyfile(src / "queries_dev.jsonl", dst / "queries.jsonl")
    shutil.copyfile(src / "qrels_dev.tsv", dst / "qrels.tsv")
    shutil.copyfile(src / "claim_doc_labels_dev.jsonl", dst / "claims.jsonl")
    with gzip.open(dst / "corpus.jsonl.gz", "rb") as gz:
        if gz.read() != raw:
            raise BuildError("scifact: gzipped corpus does not round-trip")
    qrels = (dst / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {
        "corpus": raw.count(b"\n"),
        "queries": len(read_jsonl(dst / "queries.jsonl")),
        "qrels": len([line for line in qrels if line.strip()]),
        "claims": len(read_jsonl(dst / "claims.jsonl")),
        "bytes": sum(p.stat().st_size for p in dst.iterdir() if p.is_file()),
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    shared = Path(args[0]) if len(args) > 0 else DEFAULT_SHARED
    out = Path(args[1]) if len(args) > 1 else DEFAULT_OUT
    try:
        seed_rows, seed_source = build_seed(shared, out, CORPUS_SEEDS)
        from evals.build_mlfb import build_mlfb

        mlfb_rows, mlfb_stats = build_mlfb(shared, out)
        squad = build_squad2(shared, out)
        scifact = build_scifact(shared, out)
    except BuildError as err:
        print(f"build_datasets: FAILED: {err}", file=sys.stderr)
        return 1
    seed_cats = Counter(r["category"] for r in seed_rows)
    seed_ids = sorted({r["lesson_id"] for r in seed_rows})
    print(f"seed.jsonl: {len(seed_rows)} rows {dict(sorted(seed_cats.items()))}")
    print(f"  lesson text from {seed_source}; lessons {seed_ids}")
    mlfb_cats = Counter(r["category"] for r in mlfb_rows)
    print(f"mlfb.jsonl: kept {len(mlfb_rows)} of {mlfb_stats['total']} {dict(sorted(mlfb_cats.items()))}")
    for key, value in sorted(mlfb_stats.items()):
        if key != "total":
            print(f"  {key}: {value}")
    print(f"squad2/: {squad}")
    print(f"scifact/: {scifact}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
