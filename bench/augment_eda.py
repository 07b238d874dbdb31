"""Python side of the `augment_eda` bench pair: EDA's four operations
(synonym replacement, random insertion, random swap, random deletion; Wei &
Zou 2019) through textaugment's `EDA`, one variant of every sentence each.

    python bench/augment_eda.py DATA_DIR SENTENCES.txt OUT.tsv

The authors' own `eda.py` is a script in their repository, on no package
registry; textaugment (PyPI) implements the same algorithm on NLTK's
WordNet, and is what `pip install` gives a user who wants EDA. As in the
paper, with alpha = 0.1 for every op: n = max(1, int(0.1 * words)) words
replaced, inserted and swapped, and each word deleted with p = 0.1 (ore:
the `eda_*` ops at rate 0.1, bench/augment_eda.toml). textaugment seeds
Python's global RNG (`random_state=1`). WordNet loads on first use, so one
warm-up call runs before the loop's clock starts.
"""

import sys

from augment_common import START, Variants, offline_nltk, read_sentences  # noqa: F401

ALPHA = 0.1
# NLTK's English stop-word list is data NLTK downloads at run time; ore's
# built-in English list is of the same kind (function words).
STOP_WORDS = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves what which who whom this
that these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during before
after above below to from up down in out on off over under again further then once here there when
where why how all any both each few more most other some such no nor not only own same so than too
very s t can will just don should now""".split()


def main():
    data_dir, sentences_path, out_path = sys.argv[1:4]
    offline_nltk(data_dir)
    sentences = read_sentences(sentences_path)
    out = Variants(out_path)
    from textaugment import EDA

    eda = EDA(stop_words=STOP_WORDS, random_state=1)
    eda.synonym_replacement("The quick brown fox jumps over the lazy dog.")  # loads WordNet
    out.loaded_now()
    for i, sentence in enumerate(sentences):
        n = max(1, int(ALPHA * len(sentence.split())))
        out.add(i, "eda_sr", sentence, eda.synonym_replacement(sentence, n=n))
        out.add(i, "eda_ri", sentence, eda.random_insertion(sentence, n=n))
        out.add(i, "eda_rs", sentence, eda.random_swap(sentence, n=n))
        out.add(i, "eda_rd", sentence, eda.random_deletion(sentence, p=ALPHA))
    out.finish(len(sentences), tool="textaugment 3.0.0 EDA")


if __name__ == "__main__":
    main()
