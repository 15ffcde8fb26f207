"""Exact and near-duplicate removal on real files, and the MinHash estimate it rests on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from r1lab.cli import main
from r1lab.data.dedup import DedupConfig, Deduplicator, dedup
from r1lab.data.io import read_jsonl, write_jsonl
from r1lab.data.minhash import MinHasher, MinHashLSH, jaccard_estimate, optimal_bands

LONG = (
    "A bag holds red, blue and green marbles. The number of red marbles is twice the number of blue "
    "marbles, and there are seven more green marbles than blue ones. If a marble is drawn at random the "
    "probability that it is green equals one third. How many marbles of each colour are in the bag, and "
    "what is the probability of drawing two red marbles in a row without replacement?"
)


def _run(tmp_path, rows, **options):
    write_jsonl(tmp_path / "in.jsonl", rows)
    stats = dedup(
        DedupConfig(input=str(tmp_path / "in.jsonl"), output=str(tmp_path / "out.jsonl"), **options)
    )
    return stats, list(read_jsonl(tmp_path / "out.jsonl"))


def test_exact_duplicates_fold_case_and_spacing_but_not_math(tmp_path):
    rows = [
        {"id": "a", "problem": "Solve  x+1 = 3."},
        {"id": "b", "problem": "solve x+1 =\n3."},  # same after case/whitespace folding
        {"id": "c", "problem": "Solve x-1 = 3."},  # a different problem: punctuation is kept
        {"id": "d", "problem": "SOLVE X+1 = 3."},
        {"id": "e", "problem": "   "},  # no text: kept, never a duplicate
        {"id": "f", "problem": "   "},
    ]
    stats, out = _run(tmp_path, rows)
    assert [r["id"] for r in out] == ["a", "c", "e", "f"]
    assert (stats.rows, stats.exact_duplicates, stats.near_duplicates, stats.empty) == (6, 2, 0, 2)


def test_near_duplicates_only_with_near(tmp_path):
    # True Jaccard of word 5-gram shingles with LONG (71 words): one word changed 0.86, three numbers 0.63.
    reworded = LONG.replace("drawn at random", "picked at random")
    new_numbers = (
        LONG.replace("twice", "three times").replace("seven", "four").replace("one third", "one half")
    )
    rows = [{"id": "orig", "problem": LONG}, {"id": "reworded", "problem": reworded}]
    rows += [{"id": "numbers", "problem": new_numbers}, {"id": "other", "problem": "What is 2 + 2?"}]

    stats, out = _run(tmp_path, rows)
    assert len(out) == 4 and stats.exact_duplicates == 0

    stats, out = _run(tmp_path, rows, near=True)
    # Three changed numbers make a different problem: it must survive the default threshold 0.8.
    assert [r["id"] for r in out] == ["orig", "numbers", "other"]
    assert stats.near_duplicates == 1

    stats, out = _run(tmp_path, rows, near=True, mark=True)
    assert [r["duplicate_of"] for r in out] == [None, 0, None, None]


def test_conversation_column_uses_user_turns(tmp_path):
    def chat(question, answer):
        return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}

    rows = [chat("What is 3*4?", "12"), chat("what is 3*4?", "twelve"), chat("What is 3*5?", "15")]
    _, out = _run(tmp_path, rows)
    assert [r["messages"][1]["content"] for r in out] == ["12", "15"]
    _, out = _run(tmp_path, rows, roles=["user", "assistant"])
    assert len(out) == 3


def test_minhash_estimates_jaccard():
    rng = random.Random(0)
    hasher = MinHasher(num_perm=256, seed=3)
    for target in (0.2, 0.5, 0.8):
        shared = rng.sample(range(10**9), int(200 * target))
        a = shared + rng.sample(range(10**9, 2 * 10**9), 100 - len(shared) // 2)
        b = shared + rng.sample(range(2 * 10**9, 3 * 10**9), 100 - len(shared) // 2)
        truth = len(set(a) & set(b)) / len(set(a) | set(b))
        estimate = jaccard_estimate(
            hasher.signature(np.array(a, dtype=np.uint64)), hasher.signature(np.array(b, dtype=np.uint64))
        )
        # 256 permutations: standard error sqrt(J(1-J)/256) <= 0.031; 4 sigma.
        assert abs(estimate - truth) < 0.125, (target, truth, estimate)


def test_lsh_bands_and_verification():
    bands, rows = optimal_bands(0.8, 128)
    assert bands * rows <= 128
    assert 1 - (1 - 0.8**rows) ** bands > 0.8  # a pair at the threshold is likely to become a candidate
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    signature = np.arange(128, dtype=np.uint32)
    lsh.insert(7, signature)
    close = signature.copy()
    close[:10] += 1000  # 118/128 slots equal: similarity 0.92
    far = signature.copy()
    far[:60] += 1000  # a shared band may make it a candidate, but verification rejects 0.53
    assert lsh.query(close) == (7, pytest.approx(118 / 128))
    assert lsh.query(far) is None


def test_deduplicator_is_deterministic_across_instances():
    texts = [LONG, LONG.replace("seven", "eight"), LONG.replace("bag", "box")]
    runs = []
    for _ in range(2):
        seen = Deduplicator(near=True, threshold=0.7)
        runs.append([seen.check(i, [t]) for i, t in enumerate(texts)])
    assert runs[0] == runs[1]


def test_cli_dedup_to_parquet(tmp_path, capsys):
    import pyarrow.parquet as pq

    write_jsonl(tmp_path / "in.jsonl", [{"question": q} for q in ["a b c", "A  b c", "d e f"]])
    out = tmp_path / "out.parquet"
    assert main(["dedup", "--input", str(tmp_path / "in.jsonl"), "--near", "--output", str(out)]) == 0
    assert pq.read_table(out).column("question").to_pylist() == ["a b c", "d e f"]
    assert "exact duplicates:  1" in capsys.readouterr().out
    assert (
        main(["dedup", "--input", str(tmp_path / "in.jsonl"), "--threshold", "1.5", "--output", str(out)])
        == 2
    )
