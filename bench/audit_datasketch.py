"""The other side of the `audit_near` bench pair: the near-duplicate pass of
a leakage audit with datasketch, as a user would write it: MinHash (128
permutations) of every train row into a MinHashLSH at Jaccard 0.8, then a
query for every eval row, each candidate checked by its MinHash estimate.
Shingles as ore's audit: NFKC, lower case, spacing collapsed; character
5-grams when CJK characters are at least 30% of letters, word 3-grams
otherwise. `MinHash.update_batch` hashes each row's shingles in one call.

    python bench/audit_datasketch.py TRAIN EVAL

Timed as a whole process by the harness (imports and reading included, as
for ore, whose `ore audit` also runs the exact, n-gram and variant passes);
prints {"eval_rows", "near"} (eval rows with a near duplicate in train).
"""

import json
import sys
import unicodedata

import pyarrow.dataset as ds
from datasketch import MinHash, MinHashLSH


def is_cjk(c):
    o = ord(c)
    return (0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
            or 0x3040 <= o <= 0x30FF or 0xAC00 <= o <= 0xD7AF or 0x20000 <= o <= 0x2FA1F)


def normalize(text):
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def shingles(text):
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if is_cjk(c))
    if letters and cjk * 10 >= len(letters) * 3:
        chars = [c for c in text if not c.isspace()]
        return {"".join(chars[i:i + 5]) for i in range(max(1, len(chars) - 4))} if chars else set()
    words = text.split()
    return {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))} if words else set()


def minhash(text):
    m = MinHash(num_perm=128)
    m.update_batch([s.encode("utf-8") for s in shingles(normalize(text))])
    return m


def texts(path):
    table = ds.dataset(path, format="parquet").to_table()
    column = "text" if "text" in table.column_names else "src"
    return table.column(column).to_pylist()


def main():
    train, eval_ = texts(sys.argv[1]), texts(sys.argv[2])
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    hashes = {}
    for i, t in enumerate(train):
        if t is not None:
            hashes[i] = minhash(t)
            lsh.insert(i, hashes[i])
    near = 0
    for t in eval_:
        if t is None:
            continue
        m = minhash(t)
        near += any(m.jaccard(hashes[j]) >= 0.8 for j in lsh.query(m))
    print(json.dumps({"eval_rows": len(eval_), "near": near}))


if __name__ == "__main__":
    main()
