"""Python side of the `augment_en` bench pair: nlpaug's SynonymAug on
WordNet (offline, from the NLTK data bench/augment_data.py builds),
RandomCharAug (substitute) and KeyboardAug, one variant of every sentence
each.

    python bench/augment_nlpaug.py DATA_DIR SENTENCES.txt OUT.tsv

SynonymAug at `aug_p = 0.1` as ore's `synonym` rate; the character ops at
nlpaug's defaults (30% of words of 4+ characters, 30% of their characters,
1 to 10 each), about as many edits as ore's rate 0.05 over characters.
nlpaug takes no seed (its issue #6): Python's and NumPy's global RNGs are
seeded here, as a user would. WordNet and the POS tagger load on first use,
so one warm-up call of each op runs before the loop's clock starts.
"""

import random
import sys

from augment_common import START, Variants, offline_nltk, read_sentences  # noqa: F401


def main():
    data_dir, sentences_path, out_path = sys.argv[1:4]
    offline_nltk(data_dir)
    sentences = read_sentences(sentences_path)
    out = Variants(out_path)
    import numpy as np
    import nlpaug.augmenter.char as nac
    import nlpaug.augmenter.word as naw

    random.seed(1)
    np.random.seed(1)
    ops = [
        ("synonym", naw.SynonymAug(aug_src="wordnet", aug_p=0.1)),
        ("char_substitute", nac.RandomCharAug(action="substitute")),
        ("keyboard", nac.KeyboardAug()),
    ]
    for _, aug in ops:
        aug.augment("The quick brown fox jumps over the lazy dog.")  # loads WordNet and the tagger
    out.loaded_now()
    for i, sentence in enumerate(sentences):
        for op, aug in ops:
            made = aug.augment(sentence, n=1)
            out.add(i, op, sentence, made[0] if made else sentence)
    out.finish(len(sentences), tool="nlpaug 1.1.11")


if __name__ == "__main__":
    main()
