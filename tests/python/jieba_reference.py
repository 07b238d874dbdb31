"""Python jieba 0.42.1's output for the tokenize parity test.

    python jieba_reference.py SENTENCES.txt OUT.json [POS_LIMIT]

For each line: `cut` (precise mode, HMM on), `search` (lcut_for_search, HMM
on) and, for the first POS_LIMIT lines, `pos` (posseg.lcut, HMM on) as
[word, tag] pairs.
"""

import json
import logging
import sys

import jieba
import jieba.posseg

jieba.setLogLevel(logging.WARNING)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    pos_limit = int(sys.argv[3]) if len(sys.argv) > 3 else len(lines)
    out = {
        "cut": [jieba.lcut(s, HMM=True) for s in lines],
        "search": [jieba.lcut_for_search(s, HMM=True) for s in lines],
        "pos": [[[p.word, p.flag] for p in jieba.posseg.lcut(s, HMM=True)] for s in lines[:pos_limit]],
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
