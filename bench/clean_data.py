"""Build the input of the `clean_dedup_*` bench pairs: every LibreOffice help
page, Chinese and English, as rows (doc_id, url, text) of a Parquet dataset.

    python bench/clean_data.py OUT_DIR

Text is the page with tags removed (lines kept); idempotent.
"""

import hashlib
import html
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
HELP = [
    ROOT / "datasets/sources/libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN/text",
    ROOT / "datasets/sources/libreoffice-help-en-us/usr/share/libreoffice/help/en-US/text",
]


def main():
    out = Path(sys.argv[1])
    if (out / "part-00000.parquet").exists():
        return
    rows = {"doc_id": [], "url": [], "text": []}
    for base in HELP:
        for page in sorted(base.rglob("*.html")):
            url = "http://help.example/" + page.relative_to(base.parent).as_posix()
            text = html.unescape(re.sub(r"<[^>]*>", "\n", page.read_text(encoding="utf-8", errors="replace")))
            rows["doc_id"].append(hashlib.sha256(url.encode()).hexdigest()[:32])
            rows["url"].append(url)
            rows["text"].append(text)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), out / "part-00000.parquet", compression="zstd")


if __name__ == "__main__":
    main()
