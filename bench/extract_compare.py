"""Token F1 between ore's main text and trafilatura's on the same pages.

    python bench/extract_compare.py CRAWL_DIR [--pages 200]

CRAWL_DIR is an `ore crawl` output of the LibreOffice help site (make crawl);
each page's HTML is read back from datasets/sources/libreoffice-help-site/
(the served files), given to trafilatura.extract, and compared with the
`text` column. Tokens: each CJK character, each other run of letters/digits;
F1 over token multisets, averaged over pages (macro) and pooled (micro).
"""

import argparse
import collections
import json
import re
from pathlib import Path

import polars as pl
import trafilatura

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "datasets/sources/libreoffice-help-site"
TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\W\u4e00-\u9fff]+")


def tokens(text):
    return collections.Counter(TOKEN.findall((text or "").lower()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("crawl_dir")
    ap.add_argument("--pages", type=int, default=200)
    args = ap.parse_args()
    docs = pl.read_parquet(f"{args.crawl_dir}/part-*.parquet").sort("url")
    step = max(1, len(docs) // args.pages)
    rows = docs[::step].head(args.pages)
    f1s, both, n_ore, n_tra = [], 0, 0, 0
    for url, text in zip(rows["url"], rows["text"]):
        path = SITE / url.split("/", 3)[3]
        ref = trafilatura.extract(path.read_text(encoding="utf-8"), include_comments=False) or ""
        a, b = tokens(text), tokens(ref)
        common = sum((a & b).values())
        na, nb = sum(a.values()), sum(b.values())
        both, n_ore, n_tra = both + common, n_ore + na, n_tra + nb
        f1s.append(1.0 if na == nb == 0 else 2 * common / (na + nb) if na + nb else 0.0)
    micro = 2 * both / (n_ore + n_tra) if n_ore + n_tra else 1.0
    print(json.dumps({"pages": len(f1s), "macro_f1": sum(f1s) / len(f1s), "micro_f1": micro,
                      "ore_tokens": n_ore, "trafilatura_tokens": n_tra}))


if __name__ == "__main__":
    main()
