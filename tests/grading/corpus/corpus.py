"""The real-output grading corpus: load it, grade it with r1lab, compare with the audited reference.

Shared by ``tests/grading/test_corpus.py``, ``bench/grading_corpus.py`` and ``audit.py``, so the
three count agreement the same way.

The reference of a row is the source's own label unless ``audit.jsonl`` overrides it: that file
holds one hand-checked verdict per row where r1lab and the label disagreed (``reference``: is the
response correct; ``answerless``: the response states no final answer; ``reason``: why).
"""

from __future__ import annotations

import gzip
import inspect
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
AUDIT_PATH = HERE / "audit.jsonl"
#: Where corpus.jsonl.gz may live (see SOURCES.md for why it is not under tests/): the folder named by
#: R1LAB_GRADING_CORPUS, else the checkout's shared/, else the shared/ laid beside the checkout (CI).
CORPUS_DIRS = (
    [Path(os.environ["R1LAB_GRADING_CORPUS"])]
    if os.environ.get("R1LAB_GRADING_CORPUS")
    else [REPO / "shared" / "grading-corpus", REPO.parent / "shared" / "grading-corpus"]
)
CORPUS_FILE = next(
    (d / "corpus.jsonl.gz" for d in CORPUS_DIRS if (d / "corpus.jsonl.gz").exists()), None
) or (CORPUS_DIRS[0] / "corpus.jsonl.gz")
ROW_FIELDS = ("id", "source", "format", "problem", "gold", "response", "label", "finish_reason")


class CorpusError(RuntimeError):
    """The corpus or its audit file is missing or malformed."""


def load_rows(path: Path = CORPUS_FILE) -> list[dict]:
    """Every corpus row, checked for the fields the grader and the reference need."""
    if not path.exists():
        raise CorpusError(
            f"{path} is missing (looked in {', '.join(map(str, CORPUS_DIRS))}): build it with "
            "tests/grading/corpus/build_corpus.py or point R1LAB_GRADING_CORPUS at its folder"
        )
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            missing = [k for k in ROW_FIELDS if k not in row]
            if missing or not isinstance(row["label"], bool) or not isinstance(row["response"], str):
                raise CorpusError(
                    f"{path} row {n} ({row.get('id')}): bad or missing {missing or 'label/response'}"
                )
            rows.append(row)
    return rows


def load_audit(path: Path = AUDIT_PATH) -> dict[str, dict]:
    """Audit entries by row id; each has a bool ``reference``, a bool ``answerless`` and a ``reason``."""
    audit = {}
    if not path.exists():
        return audit
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        entry = json.loads(line)
        bad = [k for k in ("reference", "answerless") if not isinstance(entry.get(k), bool)]
        if bad or not entry.get("reason") or not entry.get("id"):
            raise CorpusError(f"{path} line {n}: needs id, reason and bool reference/answerless ({bad})")
        if entry["id"] in audit:
            raise CorpusError(f"{path} line {n}: {entry['id']} audited twice")
        audit[entry["id"]] = entry
    return audit


def reference(row: dict, audit: dict[str, dict]) -> bool:
    """Whether the response is correct: the audit's verdict, else the source's label."""
    entry = audit.get(row["id"])
    return entry["reference"] if entry else row["label"]


def grade_rows(rows: list[dict], workers: int | None = None) -> list:
    """r1lab's grades of the rows, passing the problem text when the grader takes it."""
    from r1lab.grading import grade_many

    kwargs: dict = {"finish_reasons": [r["finish_reason"] for r in rows]}
    params = inspect.signature(grade_many).parameters
    for name in ("problems", "problem_texts", "questions"):
        if name in params:
            kwargs[name] = [r["problem"] for r in rows]
            break
    if workers is not None:
        kwargs["workers"] = workers
    return grade_many([r["response"] for r in rows], [r["gold"] for r in rows], **kwargs)


@dataclass
class Tally:
    """Agreement of r1lab with the reference (and with the raw source label) over some rows."""

    rows: int = 0
    agree: int = 0
    agree_label: int = 0
    false_accepts: int = 0  # r1lab correct, reference wrong
    false_rejects: int = 0  # r1lab wrong, reference correct
    answerless_accepts: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agree / self.rows if self.rows else float("nan")

    @property
    def label_agreement(self) -> float:
        return self.agree_label / self.rows if self.rows else float("nan")

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "agreement": round(self.agreement, 5),
            "agreement_with_raw_labels": round(self.label_agreement, 5),
            "false_accepts": self.false_accepts,
            "false_rejects": self.false_rejects,
            "answerless_accepted": len(self.answerless_accepts),
        }


def tally(rows: list[dict], grades: list, audit: dict[str, dict]) -> dict[str, Tally]:
    """Per-format tallies plus ``"all"``."""
    out: dict[str, Tally] = defaultdict(Tally)
    for row, g in zip(rows, grades, strict=True):
        ref = reference(row, audit)
        entry = audit.get(row["id"])
        for key in (row["format"], "all"):
            t = out[key]
            t.rows += 1
            t.agree += g.correct == ref
            t.agree_label += g.correct == row["label"]
            t.false_accepts += g.correct and not ref
            t.false_rejects += ref and not g.correct
            if g.correct and entry and entry["answerless"]:
                t.answerless_accepts.append(row["id"])
    return dict(out)


def disagreements(rows: list[dict], grades: list, audit: dict[str, dict]) -> list[tuple[dict, object]]:
    """Rows where r1lab and the reference disagree."""
    return [(r, g) for r, g in zip(rows, grades, strict=True) if g.correct != reference(r, audit)]


def unaudited(rows: list[dict], grades: list, audit: dict[str, dict]) -> list[tuple[dict, object]]:
    """Rows where r1lab and the source label disagree and no audit entry decides who is right."""
    return [
        (r, g) for r, g in zip(rows, grades, strict=True) if g.correct != r["label"] and r["id"] not in audit
    ]
