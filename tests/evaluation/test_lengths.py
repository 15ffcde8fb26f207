"""Per-sample token counts from the rows the generation engine writes."""

from r1lab.evaluation.lengths import count_tokens, per_sample_from_row, split_total


def test_exact_counts_when_the_row_states_them():
    assert per_sample_from_row({"usage": {"completion_tokens": 7}}, 1) == [7]
    assert per_sample_from_row(
        {"usage": {"completion_tokens": 7, "completion_tokens_per_generation": [3, 4]}}, 2
    ) == [3, 4]
    assert per_sample_from_row({"completion_tokens": [5, 6], "usage": {"completion_tokens": 11}}, 2) == [5, 6]
    assert per_sample_from_row({"usage": {"completion_tokens": 7}}, 2) is None


def test_split_keeps_the_exact_total_and_gives_truncated_samples_the_limit():
    assert split_total(100, [1, 1, 2]) == [25, 25, 50]
    assert sum(split_total(101, [1, 1, 1])) == 101
    # two samples hit max_tokens=40: they used exactly 40 each; the third gets the remaining 15
    assert split_total(95, [9, 9, 1], ["length", "length", "stop"], max_tokens=40) == [40, 40, 15]
    # inconsistent numbers (a server counting differently): plain proportional split
    assert split_total(30, [1, 1], ["length", "stop"], max_tokens=40) == [15, 15]
    assert split_total(0, [0, 0]) == [0, 0]


def test_count_tokens_reports_its_source(tiny_model_dir):
    rows = [{"usage": {"completion_tokens": 12}, "finish_reasons": ["stop", "stop"]}]
    counts, source = count_tokens(rows, [["abcd", "ab"]], [])
    assert counts == [[8, 4]] and source == "usage+chars"
    counts, source = count_tokens(rows, [["abc", "abcabc"]], [str(tiny_model_dir)])
    assert source == f"usage+tokenizer:{tiny_model_dir}" and counts == [[4, 8]]  # byte tokenizer: 3 vs 6
    exact, source = count_tokens([{"usage": {"completion_tokens": 5}}], [["hello"]], [str(tiny_model_dir)])
    assert exact == [[5]] and source == "usage"
