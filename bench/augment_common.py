"""What the Python sides of the `augment_*` bench pairs share: reading the
sentences, keeping NLTK offline, writing the variants, and the JSON line.

Every peer makes one variant per sentence per op (as ore's `combine = "each"`,
`n_aug = 1`), writes them to OUT as `index<TAB>op<TAB>variant` lines, and
prints {"sentences", "variants", "changed", "load_s", "augment_s",
"aug_sentences_per_s"}: `load_s` is imports plus thesaurus/model loading,
`augment_s` the loop alone, `aug_sentences_per_s` = sentences / augment_s.
The harness's `sentences_per_s` is the whole process (items / wall time).
`changed` counts variants that differ from their sentence (whitespace
aside): a tool that finds nothing to change returns the sentence itself.
"""

import json
import os
import sys
import time
from pathlib import Path

START = time.perf_counter()  # as near to process start as a module can be


def read_sentences(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def offline_nltk(data_dir):
    """Point NLTK at the data augment_data.py built, and make any download
    attempt an error instead of a network call (nlpaug and textaugment call
    nltk.download when a resource is missing, or unconditionally)."""
    nltk_data = Path(data_dir) / "nltk_data"
    if not (nltk_data / "corpora" / "wordnet" / "lexnames").exists():
        sys.exit(f"{nltk_data} is missing: run `python bench/augment_data.py {data_dir} en`")
    os.environ["NLTK_DATA"] = str(nltk_data)  # read when nltk.data is imported
    import nltk

    if str(nltk_data) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_data))

    def no_download(resource=None, *args, **kwargs):
        if resource in ("wordnet", "stopwords", "omw-1.4"):
            return True  # textaugment asks for these every time; wordnet is there, stopwords are passed in
        raise RuntimeError(f"NLTK resource {resource!r} missing offline; see bench/augment_data.py")

    nltk.download = no_download
    return nltk


def same(a, b):
    return "".join(a.split()) == "".join(b.split())


class Variants:
    """Collects variants, writes them to OUT, and prints the JSON line."""

    def __init__(self, out):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        self.file = open(out, "w", encoding="utf-8")
        self.variants = self.changed = 0
        self.loaded = None

    def loaded_now(self):
        self.loaded = time.perf_counter()

    def add(self, index, op, original, variant):
        variant = variant.replace("\n", " ").replace("\t", " ")
        self.file.write(f"{index}\t{op}\t{variant}\n")
        self.variants += 1
        self.changed += not same(original, variant)

    def finish(self, sentences, **extra):
        end = time.perf_counter()
        self.file.close()
        augment_s = end - self.loaded
        print(json.dumps({"sentences": sentences, "variants": self.variants, "changed": self.changed,
                          "load_s": round(self.loaded - START, 3), "augment_s": round(augment_s, 3),
                          "aug_sentences_per_s": round(sentences / augment_s, 1), **extra}))
