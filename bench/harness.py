"""Benchmark harness: run ore against the tool a user would otherwise pick.

    python bench/harness.py [--only NAME...] [--runs N] [--out bench/results.md]
                            [--pairs bench/pairs.toml]

Each `[[pair]]` in bench/pairs.toml names two shell commands, `ore` and
`other`, run on the same input. Placeholders substituted in them:
    {root}         repository root
    {venv_python}  {root}/.venv/bin/python
    {data}         the pair's `data` path (relative to {root}, or absolute)
    {tmp}          a fresh temporary folder per run, removed afterwards
A pair whose `requires` paths are missing is skipped, naming its `fetch`
target (e.g. `make datasets`). A pair's optional `prepare` command runs once
before its runs (to build input files). A metric ending in `_per_s` that a
command does not print is computed as the pair's `items` / wall_s.

Per pair: one untimed warm-up run of each command, then `runs` runs
alternating ore, other, ore, other, ... so that machine noise hits both
alike. Each command prints a JSON object on its last stdout line holding the
pair's metrics. The harness adds wall_s and peak_rss_mb (ru_maxrss from
os.wait4: the largest single process of the command's tree).

The report gives, per metric, the median and min-max of each side and
"ore is N.NNx", where > 1 means ore is better. It is printed as a table and
written to --out (Markdown), rewritten after every pair. A failing command
is reported with its stderr tail; the harness goes on with the next pair and
exits 1 at the end. Timings are for people to read, never a pass/fail test.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
BUILD_HINTS = [  # where a missing executable lives -> how to get it
    (ROOT / "target", "build it with `make build`"),
    (ROOT / ".venv", "create the venv: python3 -m venv .venv && "
                     ".venv/bin/pip install -r python/requirements.txt"),
]
SIDES = ("ore", "other")


class PairError(Exception):
    pass


def check_pairs(pairs):
    """Fail early, before any run, on a malformed pairs file."""
    need = {"name": str, "what": str, "input": str, "ore": str, "other": str,
            "other_tool": str, "metric": list}
    for i, pair in enumerate(pairs):
        for key, kind in need.items():
            if not isinstance(pair.get(key), kind):
                sys.exit(f"pairs file: [[pair]] #{i + 1} ({pair.get('name', '?')}) needs `{key}` "
                         f"({kind.__name__})")
        for m in pair["metric"]:
            if not isinstance(m.get("name"), str) or not isinstance(m.get("higher_is_better"), bool):
                sys.exit(f"pairs file: pair {pair['name']}: each [[pair.metric]] needs "
                         "`name` and `higher_is_better = true|false`")


def run_once(pair, side, data):
    """Run one command; return its metrics plus wall_s and peak_rss_mb."""
    tmp = tempfile.mkdtemp(prefix=f"ore-bench-{pair['name']}-")
    try:
        cmd = pair[side]
        for key, value in {"root": ROOT, "venv_python": VENV_PYTHON, "data": data, "tmp": tmp}.items():
            cmd = cmd.replace("{" + key + "}", str(value))
        exe = shlex.split(cmd)[0]
        if "/" in exe and not Path(exe).exists():
            hint = next((h for d, h in BUILD_HINTS if Path(exe).is_relative_to(d)), "")
            raise PairError(f"{side} command not found: {exe}" + (f" ({hint})" if hint else ""))
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, shell=True, cwd=ROOT, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            wall_s = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        where = f"{side} command `{cmd}`"
        err_lines = stderr.strip().splitlines()
        if proc.returncode != 0:
            tail = "\n".join("    " + l for l in err_lines[-15:]) or "    (no stderr)"
            last = err_lines[-1][:200] if err_lines else "no stderr"
            raise PairError(f"{where} exited with {proc.returncode}: {last}\n  stderr tail:\n{tail}")
        lines = stdout.strip().splitlines()
        try:
            metrics = json.loads(lines[-1]) if lines else None
        except json.JSONDecodeError:
            metrics = None
        if not isinstance(metrics, dict):
            last = lines[-1][:200] if lines else "(no output)"
            raise PairError(f"{where} did not end its stdout with a JSON object; last line: {last}")
        result = {"wall_s": wall_s, "peak_rss_mb": usage.ru_maxrss / 1024}  # KiB on Linux
        for m in pair["metric"]:
            value = metrics.get(m["name"])
            if value is None and m["name"].endswith("_per_s") and "items" in pair:
                value = pair["items"] / wall_s  # whole command, start-up included
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise PairError(f"{where} printed no numeric metric {m['name']!r}: {lines[-1][:200]}")
            result[m["name"]] = float(value)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare(pair, data):
    """Run the pair's `prepare` command once (e.g. to build its input files)."""
    cmd = pair.get("prepare")
    if not cmd:
        return
    for key, value in {"root": ROOT, "venv_python": VENV_PYTHON, "data": data}.items():
        cmd = cmd.replace("{" + key + "}", str(value))
    proc = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-5:]
        raise PairError(f"prepare command `{cmd}` exited with {proc.returncode}: " + " | ".join(tail))


def bench_pair(pair, runs, data):
    """Warm up each side once, then alternate timed runs; return lists per side."""
    prepare(pair, data)
    for side in SIDES:
        run_once(pair, side, data)
    results = {side: [] for side in SIDES}
    for i in range(runs):
        for side in SIDES:
            results[side].append(run_once(pair, side, data))
            print(f"  run {i + 1}/{runs} {side}: "
                  + " ".join(f"{k}={v:.4g}" for k, v in results[side][-1].items()), flush=True)
    return results


def num(v):
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}"


def summarise(pair, results):
    """Rows of (metric, ore, other, ratio) strings."""
    metrics = [(m["name"], m["higher_is_better"]) for m in pair["metric"]]
    metrics += [("wall_s", False), ("peak_rss_mb", False)]
    rows = []
    for name, higher in metrics:
        vals = {s: [r[name] for r in results[s]] for s in SIDES}
        med = {s: statistics.median(vals[s]) for s in SIDES}
        cell = {s: f"{num(med[s])} ({num(min(vals[s]))}–{num(max(vals[s]))})" for s in SIDES}
        num_, den = (med["ore"], med["other"]) if higher else (med["other"], med["ore"])
        ratio = f"ore is {num_ / den:.2f}x" if den > 0 else "n/a"
        rows.append((name + (" ↑" if higher else " ↓"), cell["ore"], cell["other"], ratio))
    return rows


def git_revision():
    """HEAD's short hash, marked when the tree has changes. Taken before the
    first pair runs: the report this harness rewrites would mark it later."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip() or "no commits"
        if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip():
            rev += " (uncommitted changes)"
    except OSError:
        rev = "unknown (no git)"
    return rev


def machine_header(runs_seen, rev):
    cpu = mem = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
        mem = f"{kib / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration):
        pass
    runs = ", ".join(str(r) for r in sorted(runs_seen)) or "-"
    return [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- git revision: {rev}",
        f"- machine: {len(os.sched_getaffinity(0))} CPUs ({cpu}), {mem} RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- runs: {runs} timed per command, alternating ore/other, after 1 warm-up each",
    ]


def aligned(header, rows):
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return [fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows)]


def report(done, skipped, failed, runs_seen, rev, markdown):
    header = ["pair", "metric", "ore median (min–max)", "other median (min–max)", "ratio"]
    rows = [(p["name"], *r) for p, rows in done for r in rows]
    b = (lambda s: f"**{s}**") if markdown else (lambda s: s)
    notes = [f"- {b(p['name'])}: {p['what']} Input: {p['input']}. Other tool: {p['other_tool']}."
             for p, _ in done]
    notes += [f"- {b(name)}: skipped, {why}" for name, why in skipped]
    notes += [f"- {b(name)}: FAILED, {why.splitlines()[0]}" for name, why in failed]
    if not markdown:
        return "\n".join((aligned(header, rows) + [""] if rows else []) + notes)
    lines = ["# ore benchmarks", "", *machine_header(runs_seen, rev), "",
             "↑ higher is better, ↓ lower is better; ratio > 1 means ore is better.",
             "This file is rewritten by every `make bench`; measurements made by hand and",
             "the analysis behind the figures are in bench/notes.md.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines + ["", *notes, ""])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these pairs")
    ap.add_argument("--runs", type=int, help="timed runs per command (overrides pairs.toml)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    ap.add_argument("--pairs", type=Path, default=ROOT / "bench" / "pairs.toml")
    args = ap.parse_args()
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be >= 1")

    with open(args.pairs, "rb") as f:
        pairs = tomllib.load(f).get("pair", [])
    check_pairs(pairs)
    names = [p["name"] for p in pairs]
    unknown = set(args.only or []) - set(names)
    if unknown:
        ap.error(f"unknown pair(s) {', '.join(sorted(unknown))}; known: {', '.join(names)}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    rev = git_revision()
    done, skipped, failed, runs_seen = [], [], [], set()
    for pair in pairs:
        if args.only and pair["name"] not in args.only:
            continue
        missing = [r for r in pair.get("requires", []) if not (ROOT / r).exists()]
        if missing:
            why = f"missing {', '.join(missing)} (fetch it with `{pair.get('fetch', 'make datasets')}`)"
            print(f"SKIP {pair['name']}: {why}", flush=True)
            skipped.append((pair["name"], why))
            continue
        runs = args.runs or pair.get("runs", 5)
        print(f"== {pair['name']}: {pair['what']} ({runs} runs each)", flush=True)
        try:
            results = bench_pair(pair, runs, ROOT / pair.get("data", ""))
            done.append((pair, summarise(pair, results)))
            runs_seen.add(runs)
        except PairError as e:
            print(f"ERROR in pair {pair['name']}: {e}", file=sys.stderr, flush=True)
            failed.append((pair["name"], str(e)))
        args.out.write_text(report(done, skipped, failed, runs_seen, rev, markdown=True))

    print()
    print(report(done, skipped, failed, runs_seen, rev, markdown=False))
    if not (done or skipped or failed):
        print("no pairs selected")
    args.out.write_text(report(done, skipped, failed, runs_seen, rev, markdown=True))
    print(f"\nwritten to {args.out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
