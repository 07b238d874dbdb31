"""The Python side of the `tokenize_*` bench pairs: Python jieba 0.42.1 on the
`text` column of a Parquet dataset, as a Python user would run it.

    python bench/tokenize_py.py DATASET [--pos] [--out FILE]

`jieba.lcut` (or `jieba.posseg.lcut` with --pos) over every text, HMM on.
Prints two rates in UTF-8 MB of text per second:
- `mb_per_s`: the segmentation loop alone, timed after jieba's dictionary is
  loaded and the texts are in memory;
- `e2e_mb_per_s`: Parquet to Parquet, as `ore tokenize` is timed (imports
  excluded): reading the texts with pyarrow, loading jieba's dictionary, the
  loop, and writing doc_id, text and the token lists as zstd Parquet.
`cpu_s` is the CPU time (user and system, every thread) of the loop that
`mb_per_s` times.
"""

import argparse
import json
import logging
import os
import tempfile
import time

import jieba
import jieba.posseg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

jieba.setLogLevel(logging.WARNING)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--pos", action="store_true")
    ap.add_argument("--out", help="Parquet file to write (default: a temporary file)")
    args = ap.parse_args()
    begin = time.perf_counter()
    table = ds.dataset(args.dataset, format="parquet", exclude_invalid_files=True).to_table(
        columns=["doc_id", "text"])
    rows = [(d, t) for d, t in zip(table.column("doc_id").to_pylist(), table.column("text").to_pylist())
            if t is not None]
    jieba.initialize()
    if args.pos:
        jieba.posseg.lcut("预热")
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.pos:
        tokens = [[w for w, _ in jieba.posseg.lcut(t)] for _, t in rows]
    else:
        tokens = [jieba.lcut(t) for _, t in rows]
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    out = pa.table({
        "doc_id": [d for d, _ in rows],
        "text": [t for _, t in rows],
        "tokens": pa.array(tokens, type=pa.list_(pa.string())),
    })
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(out, args.out or os.path.join(tmp, "tokens.parquet"), compression="zstd")
    e2e_seconds = time.perf_counter() - begin
    mb = sum(len(t.encode("utf-8")) for _, t in rows) / 1e6
    print(json.dumps({"mb": mb, "seconds": seconds, "cpu_s": cpu_s, "e2e_seconds": e2e_seconds,
                      "tokens": sum(map(len, tokens)), "mb_per_s": mb / seconds,
                      "e2e_mb_per_s": mb / e2e_seconds}))


if __name__ == "__main__":
    main()
