"""Known zh-CN/en-US pairs of the LibreOffice help, for the align test.

    python tests/python/help_pairs.py SITE_ROOT FOLDER N > tests/fixtures/align/help_pairs.tsv

Reads the help pages of FOLDER (e.g. text/shared/optionen) in both
languages with Python's html.parser, independently of ore, and prints N
pairs (file, element id, zh, en) sampled evenly: the `<p id=...>`
paragraphs that both pages have once, not hidden, whose text is plain (no nested
blocks, line breaks, links or OS-switch spans), at least 8 characters of
Chinese that is not a copy of the English. Whitespace runs become one
space, as a browser shows them.
"""

import html.parser
import sys
from pathlib import Path

BLOCK = {"p", "div", "table", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
         "br", "pre", "dl", "tr", "td", "th", "section"}
VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "area", "base", "col", "embed",
        "source", "track"}


class Paragraphs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # [tag, id or None, parts, plain, hidden]
        self.found = {}  # id -> text or None when not plain or repeated

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.stack and (tag in BLOCK or tag == "a" or "switch" in (a.get("class") or "")):
            for frame in self.stack:
                frame[3] = False
        if tag in VOID:
            return
        pid = a.get("id") if tag == "p" else None
        # What a browser hides (the OS-specific blocks shown by script).
        hidden = "hidden" in a or bool(self.stack and self.stack[-1][4])
        self.stack.append([tag, pid, [], True, hidden])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            t, pid, parts, plain, hidden = self.stack.pop()
            if pid and not hidden:
                text = " ".join("".join(parts).split())
                self.found[pid] = text if plain and pid not in self.found else None
            if self.stack:
                self.stack[-1][2].extend(parts)
                self.stack[-1][3] = self.stack[-1][3] and plain
            if t == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


def paragraphs(path):
    p = Paragraphs()
    p.feed(path.read_text(encoding="utf-8"))
    return {k: v for k, v in p.found.items() if v}


def main():
    root, folder, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    pairs = []
    for zh_file in sorted((root / "zh-CN" / folder).glob("*.html")):
        en_file = root / "en-US" / folder / zh_file.name
        if not en_file.exists():
            continue
        zh, en = paragraphs(zh_file), paragraphs(en_file)
        for pid, z in zh.items():
            e = en.get(pid)
            han = sum("\u4e00" <= c <= "\u9fff" for c in z)
            if e and z != e and han >= 8:
                pairs.append((zh_file.name, pid, z, e))
    step = max(1, len(pairs) // n)
    for row in pairs[::step][:n]:
        assert all("\t" not in f for f in row)
        print("\t".join(row))


if __name__ == "__main__":
    main()
