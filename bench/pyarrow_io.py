"""Write and read a Parquet dataset of HTML pages with pyarrow: the baseline
that `target/release/examples/parquet_io` (same flags) is compared against.

    python bench/pyarrow_io.py --input DIR --out DIR \
        --row-group-rows 4096 --rows-per-file 1024 --zstd-level 3

Untimed: every `*.html` file under --input (recursively, sorted by relative
path) is read into memory as rows
    doc_id  first 32 hex chars of sha256(relative path, UTF-8)
    url     relative path with '/' separators
    text    file content decoded as UTF-8, invalid bytes replaced by U+FFFD
Timed write: build Arrow tables from those Python lists and write them to
--out as `part-NNNNN.parquet`, --rows-per-file rows per file, one
ParquetWriter per file, zstd at --zstd-level. Timed read: read every part file
back with pq.read_table and count the rows.

The last stdout line is one JSON object (the bench harness reads it):
    {"rows":N,"text_bytes":B,"disk_bytes":D,"write_s":W,"read_s":R,
     "write_mb_s":B/1e6/W,"read_mb_s":B/1e6/R}
text_bytes is the UTF-8 size of the text column, disk_bytes the total size of
the part files.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset  # noqa: F401  (pq.read_table imports it lazily; keep that out of read_s)
import pyarrow.parquet as pq

SCHEMA = pa.schema([("doc_id", pa.string()), ("url", pa.string()), ("text", pa.string())])


def load_rows(input_dir: Path):
    paths = sorted(input_dir.rglob("*.html"), key=lambda p: p.relative_to(input_dir).as_posix())
    ids, urls, texts = [], [], []
    for path in paths:
        if not path.is_file():
            continue
        url = path.relative_to(input_dir).as_posix()
        ids.append(hashlib.sha256(url.encode("utf-8")).hexdigest()[:32])
        urls.append(url)
        texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return ids, urls, texts


def write_dataset(out: Path, ids, urls, texts, rows_per_file, row_group_rows, zstd_level):
    for part, start in enumerate(range(0, len(ids), rows_per_file)):
        end = start + rows_per_file
        table = pa.table(
            [pa.array(ids[start:end], pa.string()),
             pa.array(urls[start:end], pa.string()),
             pa.array(texts[start:end], pa.string())],
            schema=SCHEMA,
        )
        path = out / f"part-{part:05d}.parquet"
        with pq.ParquetWriter(path, SCHEMA, compression="zstd", compression_level=zstd_level) as w:
            w.write_table(table, row_group_size=row_group_rows)


def read_dataset(out: Path):
    tables = [pq.read_table(p) for p in sorted(out.glob("part-*.parquet"))]
    return tables, sum(t.num_rows for t in tables)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, required=True, help="folder of *.html files")
    ap.add_argument("--out", type=Path, required=True, help="dataset folder to create (must be empty)")
    ap.add_argument("--row-group-rows", type=int, default=4096)
    ap.add_argument("--rows-per-file", type=int, default=1024)
    ap.add_argument("--zstd-level", type=int, default=3)
    args = ap.parse_args()
    if args.row_group_rows < 1 or args.rows_per_file < 1:
        sys.exit("error: --row-group-rows and --rows-per-file must be >= 1")
    if not args.input.is_dir():
        sys.exit(f"error: --input {args.input} is not a folder")
    if args.out.exists() and any(args.out.iterdir()):
        sys.exit(f"error: --out {args.out} exists and is not empty")

    ids, urls, texts = load_rows(args.input)
    if not ids:
        sys.exit(f"error: no *.html files under {args.input}")
    text_bytes = sum(len(t.encode("utf-8")) for t in texts)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    write_dataset(args.out, ids, urls, texts, args.rows_per_file, args.row_group_rows, args.zstd_level)
    write_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    tables, read_rows = read_dataset(args.out)
    read_s = time.perf_counter() - t0
    del tables
    if read_rows != len(ids):
        sys.exit(f"error: wrote {len(ids)} rows but read back {read_rows} from {args.out}")

    disk_bytes = sum(p.stat().st_size for p in args.out.glob("part-*.parquet"))
    print(json.dumps({
        "rows": len(ids), "text_bytes": text_bytes, "disk_bytes": disk_bytes,
        "write_s": write_s, "read_s": read_s,
        "write_mb_s": text_bytes / 1e6 / write_s, "read_mb_s": text_bytes / 1e6 / read_s,
    }, separators=(",", ":")))


if __name__ == "__main__":
    main()
