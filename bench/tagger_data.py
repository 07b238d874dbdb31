"""The first N sentences of a CoNLL-2003 file, as a CoNLL file (for the
`tagger_*` bench pairs, which import it with `ore import conll`).

    python bench/tagger_data.py SRC N OUT

Sentences are blank-line separated blocks; `-DOCSTART-` blocks are kept
(they mark documents) but not counted.
"""

import sys


def main():
    src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    blocks, block = [], []
    with open(src, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                block.append(line)
                continue
            if block:
                blocks.append(block)
                block = []
    if block:
        blocks.append(block)
    kept, sentences = [], 0
    for b in blocks:
        if sentences == n:
            break
        kept.append(b)
        sentences += not b[0].startswith("-DOCSTART-")
    if sentences < n:
        sys.exit(f"error: {src} has only {sentences} sentences, {n} asked for")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join("".join(b) for b in kept) + "\n")
    print(f"{sentences} sentences of {src} -> {out}")


if __name__ == "__main__":
    main()
