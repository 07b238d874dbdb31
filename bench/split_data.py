"""Inputs of the `split_*` and `audit_*` bench pairs.

    python bench/split_data.py synthetic DIR [--rows N]
    python bench/split_data.py pd DIR PD_IMPORT

`synthetic`: N rows (default 1,000,000) of (example_id, source_id, text),
groups of uneven size (1 to 40 rows share a source_id, drawn from a
seeded heavy-tailed law), short texts; one zstd Parquet file, by pyarrow.

`pd`: People's Daily as `ore import pku` wrote it, with a `source_id` that
groups every ten paragraphs (a stand-in for an article), as one file.
"""

import random
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def synthetic(out, rows):
    rng = random.Random(42)
    ids, sources, texts = [], [], []
    group = 0
    while len(ids) < rows:
        size = min(40, int(rng.paretovariate(1.3)))
        for _ in range(size):
            if len(ids) == rows:
                break
            n = len(ids)
            ids.append(f"e{n:08d}")
            sources.append(f"s{group:08d}")
            texts.append(f"row {n} of group {group}: " + " ".join(f"w{rng.randrange(5000)}" for _ in range(12)))
        group += 1
    table = pa.table({"example_id": ids, "source_id": sources, "text": texts})
    pq.write_table(table, f"{out}/part-00000.parquet", compression="zstd")


def pd(out, imported):
    table = ds.dataset(imported, format="parquet").to_table()
    names = table.column_names
    text = table.column("text") if "text" in names else table.column("src")
    n = table.num_rows
    source = pa.array([f"pd{i // 10:06d}" for i in range(n)])
    ids = pa.array([f"pd-{i:06d}" for i in range(n)])
    pq.write_table(pa.table({"example_id": ids, "source_id": source, "text": text}),
                   f"{out}/part-00000.parquet", compression="zstd")


def main():
    import os
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if kind == "synthetic":
        rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1_000_000
        synthetic(out, rows)
    else:
        pd(out, sys.argv[3])


if __name__ == "__main__":
    main()
