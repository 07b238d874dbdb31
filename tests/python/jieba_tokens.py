"""Python jieba 0.42.1's tokens of a list of texts, for the parity test of
`tokenize.non_chinese = "jieba"`.

    python jieba_tokens.py TEXTS.json OUT.json

TEXTS.json is a JSON list of strings. OUT.json gets `cut` (jieba.lcut,
precise mode, HMM on) and `search` (jieba.lcut_for_search, HMM on): one list
of tokens per text, whitespace tokens included.
"""

import json
import logging
import sys

import jieba

jieba.setLogLevel(logging.WARNING)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = json.load(f)
    out = {
        "cut": [jieba.lcut(t, HMM=True) for t in texts],
        "search": [jieba.lcut_for_search(t, HMM=True) for t in texts],
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
