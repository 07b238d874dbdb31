"""The Python side of the `tokenize_*` bench pairs: Python jieba 0.42.1 on the
`text` column of a Parquet dataset.

    python bench/tokenize_py.py DATASET [--pos]

`jieba.lcut` (or `jieba.posseg.lcut` with --pos) over every text, HMM on.
Timed after jieba's dictionary is loaded and the texts are in memory, so only
segmentation counts. Prints {"mb_per_s": UTF-8 MB of text per second, ...}.
"""

import argparse
import json
import logging
import time

import jieba
import jieba.posseg
import pyarrow.dataset as ds

jieba.setLogLevel(logging.WARNING)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--pos", action="store_true")
    args = ap.parse_args()
    texts = ds.dataset(args.dataset, format="parquet", exclude_invalid_files=True).to_table(columns=["text"])
    texts = [t for t in texts.column("text").to_pylist() if t is not None]
    jieba.initialize()
    jieba.posseg.lcut("预热")
    cut = jieba.posseg.lcut if args.pos else jieba.lcut
    start = time.perf_counter()
    tokens = sum(len(cut(t)) for t in texts)
    seconds = time.perf_counter() - start
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(json.dumps({"mb": mb, "seconds": seconds, "tokens": tokens, "mb_per_s": mb / seconds}))


if __name__ == "__main__":
    main()
