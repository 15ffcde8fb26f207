"""Data-preparation benchmarks, measured side by side in one run.

    python bench/data.py [--rows 20000] [--datasketch /path/to/site-packages]

* decontaminate: rows/s of r1lab's n-gram index against a direct rendering of Open-R1's
  ``scripts/decontaminate.py`` approach (whitespace words joined into n-gram strings, one set per
  benchmark, looked up benchmark by benchmark), on the same rows, with the counts each flags.
* near dedup: rows/s of r1lab's numpy MinHash + verified LSH against datasketch's MinHash
  (``bulk``) + MinHashLSH at the same threshold and permutations, and the recall of each on
  planted near duplicates (pairs whose true 5-gram Jaccard is >= 0.85). datasketch is not an
  r1lab dependency: pass ``--datasketch DIR`` with it (and scipy) installed there, e.g.
  ``pip install --target /tmp/dsk --no-deps datasketch scipy``.
* exact dedup and convert: rows/s.
* memory: peak RSS of ``r1lab decontaminate`` on N and 4N rows in fresh processes (flat = streaming).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import table, write_results

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_NAMES = ["math500", "aime24", "aime25", "amc23", "gsm8k"]


def corpus(rows: int, seed: int = 0) -> tuple[list[str], list[tuple[int, int]]]:
    """Problems like a distilled set's: benchmark problems with words shuffled (clean), a few verbatim
    (contaminated), exact copies, and near copies (one word replaced). Returns texts and planted pairs."""
    from r1lab.data import load_benchmark

    rng = random.Random(seed)
    pool = [p for name in BENCHMARK_NAMES for p in load_benchmark(name)["problem"]]
    texts: list[str] = []
    planted: list[tuple[int, int]] = []
    while len(texts) < rows:
        base = rng.choice(pool).split()
        roll = rng.random()
        if roll < 0.01:
            texts.append(" ".join(base))  # verbatim benchmark problem
            continue
        rng.shuffle(base)
        text = " ".join(base) + f" (variant {len(texts)})"
        texts.append(text)
        if roll < 0.05 and texts:
            texts.append(text.upper())  # an exact duplicate after normalization
        elif roll < 0.10 and len(base) > 40:
            words = text.split()
            words[rng.randrange(len(words))] = "zyzzyva"
            planted.append((len(texts) - 1, len(texts)))
            texts.append(" ".join(words))
    return texts[:rows], [p for p in planted if p[1] < rows]


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


# ------------------------------------------------------------------------------ decontaminate


def openr1_style(texts: list[str], ngram: int = 8) -> int:
    """Open-R1's approach: lowercase + whitespace words, n-gram strings, one set per benchmark."""
    from r1lab.data import load_benchmark

    def grams(text):
        tokens = " ".join(text.lower().split()).split()
        return [" ".join(tokens[i : i + ngram]) for i in range(len(tokens) - ngram + 1)]

    lookups = {
        name: {g for p in load_benchmark(name)["problem"] for g in grams(p)} for name in BENCHMARK_NAMES
    }
    flagged = 0
    for text in texts:
        text_grams = grams(text)
        hits = [any(g in lookup for g in text_grams) for lookup in lookups.values()]
        flagged += any(hits)
    return flagged


def r1lab_style(texts: list[str], ngram: int = 8) -> int:
    from r1lab.data.decontaminate import ContaminationIndex

    index = ContaminationIndex.from_sources(BENCHMARK_NAMES, ngram)
    return sum(bool(index.matches(t)) for t in texts)


# ------------------------------------------------------------------------------ near dedup


def r1lab_near(texts: list[str]) -> set[int]:
    from r1lab.data.dedup import Deduplicator

    seen = Deduplicator(near=True, threshold=0.8, num_perm=128)
    return {i for i, t in enumerate(texts) if seen.check(i, [t]) is not None}


def datasketch_near(texts: list[str]) -> set[int]:
    from datasketch import MinHash, MinHashLSH

    from r1lab.data.text import ngrams, normalize_text, words

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    exact: set[str] = set()
    dropped = set()
    shingles = [
        [" ".join(g).encode() for g in (ngrams(w, 5) if len(w) >= 5 else [tuple(w)])]
        for w in map(words, texts)
    ]
    signatures = MinHash.bulk(shingles, num_perm=128)
    for i, (text, signature) in enumerate(zip(texts, signatures, strict=True)):
        key = normalize_text(text)
        if key in exact or lsh.query(signature):
            dropped.add(i)
            continue
        exact.add(key)
        lsh.insert(str(i), signature)
    return dropped


def planted_recall(dropped: set[int], planted: list[tuple[int, int]], texts: list[str]) -> tuple[int, int]:
    from r1lab.data.text import ngrams, words

    def jaccard(a, b):
        x, y = set(ngrams(words(a), 5)), set(ngrams(words(b), 5))
        return len(x & y) / len(x | y)

    eligible = [(a, b) for a, b in planted if a not in dropped and jaccard(texts[a], texts[b]) >= 0.85]
    return sum(b in dropped for _, b in eligible), len(eligible)


# ------------------------------------------------------------------------------ memory


def peak_rss_mb(rows: int, tmp: Path) -> float:
    texts, _ = corpus(rows, seed=1)
    data = tmp / f"in-{rows}.jsonl"
    data.write_text("".join(json.dumps({"problem": t, "pad": "x" * 2000}) + "\n" for t in texts))
    code = (
        "import sys; from r1lab.cli import main; "
        f"main(['-q', 'decontaminate', '--input', {str(data)!r}, '--output', {str(tmp / 'o.jsonl')!r}]); "
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "sys.stderr.write('\\nRSS ' + str(int(hwm) / 1024))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stderr.rsplit("RSS ", 1)[1]
    size = data.stat().st_size / 2**20
    print(f"  {rows:>7} rows ({size:6.0f} MiB file): peak RSS {float(out):6.0f} MiB")
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--datasketch", help="a site-packages folder holding datasketch and scipy")
    args = parser.parse_args()
    if args.datasketch:
        sys.path.append(args.datasketch)

    import datasets

    datasets.disable_progress_bars()
    texts, planted = corpus(args.rows)
    print(f"corpus: {len(texts)} rows, {len(planted)} planted near-duplicate pairs")

    print("\ndecontaminate (8-grams, all 5 bundled benchmarks)")
    base_s, base_n = timed(openr1_style, texts)
    ours_s, ours_n = timed(r1lab_style, texts)
    print(f"  Open-R1 style: {len(texts) / base_s:9.0f} rows/s, {base_n} flagged")
    print(f"  r1lab:         {len(texts) / ours_s:9.0f} rows/s, {ours_n} flagged   ({base_s / ours_s:.2f}x)")
    n = len(texts)
    rows = [
        ["decontaminate, 8-grams, 5 benchmarks", f"{n / ours_s:,.0f} rows/s, {ours_n} flagged",
         f"Open-R1-style (whitespace n-gram strings, one set per benchmark): {n / base_s:,.0f} rows/s, {base_n} flagged",
         f"{base_s / ours_s:.2f}x"],
    ]  # fmt: skip
    results = {"rows": n, "decontaminate": {"r1lab_s": ours_s, "r1lab_flagged": ours_n, "openr1_s": base_s,
                                             "openr1_flagged": base_n}}  # fmt: skip

    print("\nnear dedup (threshold 0.8, 128 permutations, word 5-gram shingles)")
    ours_s, ours_dropped = timed(r1lab_near, texts)
    hit, total = planted_recall(ours_dropped, planted, texts)
    print(
        f"  r1lab:      {len(texts) / ours_s:7.0f} rows/s, {len(ours_dropped)} dropped, planted recall {hit}/{total}"
    )
    near = [f"{n / ours_s:,.0f} rows/s, planted recall {hit}/{total}", "", ""]
    results["near_dedup"] = {"r1lab_s": ours_s, "r1lab_recall": [hit, total]}
    try:
        ds_s, ds_dropped = timed(datasketch_near, texts)
        hit, total = planted_recall(ds_dropped, planted, texts)
        print(
            f"  datasketch: {len(texts) / ds_s:7.0f} rows/s, {len(ds_dropped)} dropped, planted recall {hit}/{total}"
            f"   (r1lab {ds_s / ours_s:.2f}x)"
        )
        near[1:] = [
            f"datasketch MinHash.bulk + MinHashLSH: {n / ds_s:,.0f} rows/s, recall {hit}/{total}",
            f"{ds_s / ours_s:.2f}x",
        ]
        results["near_dedup"] |= {"datasketch_s": ds_s, "datasketch_recall": [hit, total]}
    except ImportError:
        print("  datasketch: not importable (pass --datasketch DIR to compare)")

    from r1lab.data.convert import to_sft_examples
    from r1lab.data.dedup import Deduplicator

    seen = Deduplicator()
    exact_s, _ = timed(lambda: [seen.check(i, [t]) for i, t in enumerate(texts)])
    rows.append(["near dedup, threshold 0.8, 128 perms, 5-gram shingles", *near])
    print(f"\nexact dedup: {len(texts) / exact_s:9.0f} rows/s")
    rows.append(["exact dedup", f"{n / exact_s:,.0f} rows/s", "", ""])
    sft_rows = [
        {
            "problem": t,
            "generations": [f"<think>\n{t}\n</think>\n\n\\boxed{{1}}"] * 4,
            "correct": [True, False] * 2,
        }
        for t in texts
    ]
    convert_s, examples = timed(lambda: sum(len(to_sft_examples(r, "r1lab")) for r in sft_rows))
    print(
        f"convert (r1lab layout, 4 generations/row): {len(sft_rows) / convert_s:9.0f} rows/s ({examples} examples)"
    )
    rows.append(["convert, r1lab layout, 4 generations/row", f"{n / convert_s:,.0f} rows/s", "", ""])

    print("\npeak RSS of `r1lab decontaminate` (rows carry 2 KB of padding each)")
    with tempfile.TemporaryDirectory() as tmp:
        small = peak_rss_mb(args.rows, Path(tmp))
        large = peak_rss_mb(4 * args.rows, Path(tmp))
    print(f"  4x the rows: {large / small:.2f}x the memory")
    rows.append([f"peak RSS of `r1lab decontaminate`, {args.rows // 1000}k vs {4 * args.rows // 1000}k rows",
                 f"{small:.0f} MiB vs {large:.0f} MiB", "", f"{large / small:.2f}x memory for 4x rows"])  # fmt: skip
    results |= {"exact_dedup_s": exact_s, "convert_s": convert_s, "peak_rss_mib": [small, large]}
    print(f"\n(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
    write_results(
        "data", args, results, tables={"summary": table(["measurement", "r1lab", "reference", "ratio"], rows)}
    )


if __name__ == "__main__":
    main()
