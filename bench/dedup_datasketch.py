"""The other side of the `clean_dedup_*` bench pairs: near-duplicate
clusters with datasketch (MinHash, 128 permutations; MinHashLSH at Jaccard
0.8), on the same shingles as ore: NFKC text, character 5-grams when CJK
characters are at least 30% of letters, lowercase word 5-grams otherwise.

    python bench/dedup_datasketch.py DATASET

`clusters` unions every candidate LSH returns, as datasketch's examples
do. `clusters_checked` first keeps only candidates whose MinHash estimate
(`MinHash.jaccard`) reaches the threshold, the check a careful user would
add (ore checks its candidates on the exact shingle sets instead).

Timed from after the imports and reading (the check included); prints
{"docs_per_s", "clusters", "clusters_checked"}.
"""

import json
import sys
import time
import unicodedata

import pyarrow.dataset as ds
from datasketch import MinHash, MinHashLSH


def is_cjk(c):
    o = ord(c)
    return 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x3040 <= o <= 0x30FF or 0xAC00 <= o <= 0xD7AF


def shingles(text):
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if is_cjk(c))
    if letters and cjk * 10 >= len(letters) * 3:
        chars = [c for c in text if not c.isspace()]
        n = 5
        return {"".join(chars[i:i + n]) for i in range(max(1, len(chars) - n + 1))} if chars else set()
    words = text.lower().split()
    n = 5
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))} if words else set()


def main():
    texts = ds.dataset(sys.argv[1], format="parquet").to_table(columns=["text"]).column("text").to_pylist()
    start, cpu_start = time.perf_counter(), time.process_time()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    checked = list(range(len(texts)))
    unchecked = list(range(len(texts)))
    minhashes = {}

    def find(parent, x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(parent, i, j):
        a, b = find(parent, i), find(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    for i, text in enumerate(texts):
        text = " ".join(unicodedata.normalize("NFKC", text).split())
        s = shingles(text)
        if not s:
            continue
        m = MinHash(num_perm=128)
        m.update_batch([x.encode("utf-8") for x in s])
        for j in lsh.query(m):
            union(unchecked, i, j)
            if m.jaccard(minhashes[j]) >= 0.8:
                union(checked, i, j)
        lsh.insert(i, m)
        minhashes[i] = m
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start

    def clusters(parent):
        sizes = {}
        for i in range(len(texts)):
            r = find(parent, i)
            sizes[r] = sizes.get(r, 0) + 1
        return sum(1 for v in sizes.values() if v > 1)

    print(json.dumps({"docs": len(texts), "seconds": seconds, "cpu_s": cpu_s,
                      "docs_per_s": len(texts) / seconds, "clusters": clusters(unchecked),
                      "clusters_checked": clusters(checked)}))


if __name__ == "__main__":
    main()
