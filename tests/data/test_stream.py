"""Row streams: every source kind reads row by row; writers replace the output only when complete."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from r1lab.data.stream import RowWriter, open_rows
from r1lab.errors import DataError


def test_jsonl_parquet_folder_and_in_memory_sources(tmp_path):
    rows = [{"problem": f"p{i}", "n": i} for i in range(5)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet", row_group_size=2)
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(2):  # a folder of JSON shards goes through `datasets` streaming
        (folder / f"part-{k}.json").write_text("".join(json.dumps(r) + "\n" for r in rows[k * 3 : k * 3 + 3]))

    import gzip

    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    assert list(open_rows(tmp_path / "b.jsonl.gz")) == rows
    jsonl = open_rows(tmp_path / "a.jsonl")
    assert jsonl.columns == ["problem", "n"] and jsonl.total is None
    assert list(jsonl) == rows
    parquet = open_rows(str(tmp_path / "a.parquet"))
    assert parquet.total == 5 and list(parquet) == rows
    assert sorted(r["n"] for r in open_rows(folder)) == [0, 1, 2, 3, 4]

    from datasets import Dataset

    memory = open_rows(Dataset.from_list(rows))
    assert memory.total == 5 and [r["n"] for r in memory] == [0, 1, 2, 3, 4]


def test_bad_jsonl_line_names_file_and_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"bad.jsonl, row 2: expected a JSON object"):
        list(open_rows(tmp_path / "bad.jsonl"))


def test_jsonl_writer_is_atomic(tmp_path):
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), RowWriter(out) as writer:
        writer.write({"a": 1})
        raise RuntimeError("crash mid-way")
    assert not out.exists() and not (tmp_path / "out.jsonl.tmp").exists()
    with RowWriter(out) as writer:
        writer.write({"a": "é"})
    assert out.read_text(encoding="utf-8") == '{"a": "é"}\n'


def test_parquet_writer_row_groups_schema_check_and_empty_output(tmp_path):
    out = tmp_path / "out.parquet"
    with RowWriter(out, parquet_batch_rows=3) as writer:
        for i in range(7):
            writer.write({"x": i, "tags": ["a"] * i})
    table = pq.read_table(out)
    assert table.column("x").to_pylist() == list(range(7))
    assert pq.ParquetFile(out).metadata.num_row_groups == 3

    with (
        pytest.raises(DataError, match="do not fit the Parquet schema"),
        RowWriter(out, parquet_batch_rows=1) as w,
    ):
        w.write({"x": 1})
        w.write({"x": "not a number"})
    assert pq.read_table(out).num_rows == 7  # the earlier complete output is untouched

    with RowWriter(tmp_path / "empty.parquet"):
        pass
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0


def test_unreachable_hub_dataset_is_a_clear_error():
    # conftest sets HF_DATASETS_OFFLINE=1: the hub answers nothing, and the user gets one line.
    with pytest.raises(DataError, match=r"no-such-org/no-such-dataset: cannot open this dataset"):
        open_rows("no-such-org/no-such-dataset")
