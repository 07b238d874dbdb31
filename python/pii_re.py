"""Personal information found with Python's `re`, the way data-juicer's
regex mappers (clean_email_mapper, clean_ip_mapper) and most Python PII
scripts find it: one pattern per kind with a lookbehind and a lookahead,
`finditer`, then a check of the digits where a kind has one.

This is the reference `ore clean`'s `[clean.pii]` (crates/ore-clean/src/pii.rs)
is compared with, match for match, and the peer of the `pii` bench pair.

    python pii_re.py --input lines.txt --output masked.txt   # mask every kind
    python pii_re.py --input lines.txt --output masked.txt --json   # + timing

The output has one masked line per input line; with --json the last stdout
line is {"lines", "mb", "seconds", "mb_s", "found": {kind: n}}.
"""

import argparse
import json
import re
import sys
import time

NUMBER_LEFT = r"(?<![0-9A-Za-z_])(?<![0-9]\.)"
NUMBER_RIGHT = r"(?![0-9A-Za-z_])(?!\.[0-9])"
OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
HEX = r"[0-9A-Fa-f]{1,4}"
# Card numbers by issuer prefix and length: Visa, Mastercard, American
# Express, JCB, UnionPay, Discover; and the first group of four of one
# written in groups.
CARD = r"(?:4[0-9]{12}(?:[0-9]{3}){0,2}|5[1-5][0-9]{14}|3[47][0-9]{13}|35[0-9]{14,17}|62[0-9]{14,17}|6011[0-9]{12,15}|65[0-9]{14,17})"
CARD4 = r"(?:4[0-9]{3}|5[1-5][0-9]{2}|35[0-9]{2}|62[0-9]{2}|6011|65[0-9]{2})"

# Kinds in priority order. Each pattern's group `p` is the part replaced.
PATTERNS = [
    (
        "url_credentials",
        r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://(?P<p>[^ \t\r\n/?#@:<>]+:[^ \t\r\n/?#@<>]*@)",
    ),
    (
        "email",
        r"(?<![A-Za-z0-9._%+\-_])(?P<p>[A-Za-z0-9][A-Za-z0-9._%+\-_]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24})(?![A-Za-z0-9_\-])",
    ),
    (
        "id_card",
        NUMBER_LEFT
        + r"(?P<p>[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx])"
        + NUMBER_RIGHT,
    ),
    (
        "bank_card",
        NUMBER_LEFT
        + r"(?P<p>" + CARD + "|" + CARD4 + r"(?:-[0-9]{4}){3}(?:-[0-9]{1,3})?|" + CARD4 + r"(?: [0-9]{4}){3}(?: [0-9]{1,3})?)"
        + NUMBER_RIGHT,
    ),
    (
        "phone",
        NUMBER_LEFT
        + r"(?P<p>"
        + r"(?:\+|00)86[ \-]?1[3-9][0-9](?:[0-9]{8}|-[0-9]{4}-[0-9]{4}| [0-9]{4} [0-9]{4})"
        + r"|1[3-9][0-9](?:-[0-9]{4}-[0-9]{4}| [0-9]{4} [0-9]{4})"
        + r"|(?:\(0[0-9]{2,3}\) ?|0[0-9]{2,3}-)[2-9][0-9]{6,7}"
        + r"|\([2-9][0-9]{2}\) ?[2-9][0-9]{2}-[0-9]{4}|[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}"
        + r"|\+[1-9][0-9]{0,2}(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,6}"
        + r")"
        + NUMBER_RIGHT,
    ),
    # A Chinese mobile as 11 bare digits, not in a row of numbers.
    ("phone", NUMBER_LEFT + r"(?<![0-9] )(?P<p>1[3-9][0-9]{9})" + NUMBER_RIGHT + r"(?! [0-9])"),
    ("ip", NUMBER_LEFT + r"(?P<p>(?:" + OCTET + r"\.){3}" + OCTET + ")" + NUMBER_RIGHT),
    (
        "ip",
        r"(?<![0-9A-Za-z_:])(?P<p>(?:" + HEX + r":){7}" + HEX + r"|(?:" + HEX + r":){1,6}:(?:" + HEX + r":){0,5}" + HEX + r")(?![0-9A-Za-z_:])",
    ),
]

KINDS = ["url_credentials", "email", "id_card", "bank_card", "phone", "ip"]

MASKS = {
    "url_credentials": "[CREDENTIALS]@",
    "email": "[EMAIL]",
    "id_card": "[ID_CARD]",
    "bank_card": "[BANK_CARD]",
    "phone": "[PHONE]",
    "ip": "[IP]",
}

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_card_valid(s):
    total = sum(int(d) * w for d, w in zip(s[:17], ID_WEIGHTS))
    return s[17].upper() == "10X98765432"[total % 11]


def luhn_valid(s):
    digits = [int(c) for c in s if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def phone_valid(s):
    if not s.startswith("+"):
        return True
    return 8 <= sum(c.isdigit() for c in s) <= 15


def ipv4_valid(s):
    return any(len(octet) > 1 for octet in s.split("."))


def ipv6_valid(s):
    return "::" not in s or len([g for g in s.split(":") if g]) <= 7


CHECKS = {
    "id_card": id_card_valid,
    "bank_card": luhn_valid,
    "phone": phone_valid,
}

COMPILED = [(kind, re.compile(p)) for kind, p in PATTERNS]


def find(text, kinds=KINDS):
    """(kind, start, end) of each match, in text order, without overlaps."""
    by_pattern = []
    for kind, rx in COMPILED:
        found = []
        by_pattern.append(found)
        if kind not in kinds:
            continue
        for m in rx.finditer(text):
            whole = m.group(0)
            if kind == "ip" and not (ipv6_valid(whole) if ":" in whole else ipv4_valid(whole)):
                continue
            check = CHECKS.get(kind)
            if check is not None and not check(whole):
                continue
            found.append((kind, m.start("p"), m.end("p")))
    # Patterns in order (their kinds in priority order): a match
    # overlapping one of an earlier pattern is dropped.
    taken = []
    for found in by_pattern:
        for m in found:
            if all(m[2] <= t[1] or m[1] >= t[2] for t in taken):
                taken.append(m)
    taken.sort(key=lambda m: m[1])
    return taken


def mask(text, kinds=KINDS):
    """The text with every match masked, and the matches."""
    matches = find(text, kinds)
    out, last = [], 0
    for kind, start, end in matches:
        out.append(text[last:start])
        out.append(MASKS[kind])
        last = end
    out.append(text[last:])
    return "".join(out), matches


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with open(args.input, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    found = {k: 0 for k in KINDS}
    start = time.perf_counter()
    masked = []
    for line in lines:
        text, matches = mask(line)
        masked.append(text)
        for kind, _, _ in matches:
            found[kind] += 1
    seconds = time.perf_counter() - start
    with open(args.output, "w", encoding="utf-8") as f:
        for line in masked:
            f.write(line + "\n")
    if args.json:
        mb = sum(len(l.encode("utf-8")) + 1 for l in lines) / 1e6
        print(json.dumps({"lines": len(lines), "mb": mb, "seconds": seconds, "mb_s": mb / seconds, "found": found}))


if __name__ == "__main__":
    sys.exit(main())
