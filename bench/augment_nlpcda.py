"""Python side of the `augment_zh` bench pair: nlpcda's Similarword,
Homophone and RandomDeleteChar, one variant of every sentence each.

    python bench/augment_nlpcda.py SENTENCES.txt OUT.tsv

Rates as ore's side (bench/augment_zh.toml): a word's chance of a synonym
0.1, a character's chance of a homophone 0.1, of deletion 0.05. nlpcda's
`replace` returns the sentence itself first, then up to `create_num - 1`
variants; `create_num = 2` asks for one. nlpcda seeds Python's global RNG
(`seed=1`, its default), which is all it offers. Its tables load when each
tool is made, and its jieba dictionary on the first cut, both counted in
`load_s` (one warm-up cut before the clock starts the loop).
"""

import sys

from augment_common import START, Variants, read_sentences  # noqa: F401  (START first: process start)


def main():
    sentences = read_sentences(sys.argv[1])
    out = Variants(sys.argv[2])
    from nlpcda import Homophone, RandomDeleteChar, Similarword

    tools = [
        ("synonym", Similarword(create_num=2, change_rate=0.1)),
        ("homophone", Homophone(create_num=2, change_rate=0.1)),
        ("char_delete", RandomDeleteChar(create_num=2, change_rate=0.05)),
    ]
    tools[0][1].jieba.lcut("预热")  # jieba builds its prefix dictionary on the first cut
    out.loaded_now()
    for i, sentence in enumerate(sentences):
        for op, tool in tools:
            made = tool.replace(sentence)
            out.add(i, op, sentence, made[1] if len(made) > 1 else made[0])
    out.finish(len(sentences), tool="nlpcda 2.5.8")


if __name__ == "__main__":
    main()
