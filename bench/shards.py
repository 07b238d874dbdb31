"""Scaling of sharded runs: the demo's clean and tokenize over N = 1, 2, 4
and 8 shards of the same input, against one unsharded run of each.

    python bench/shards.py [--copies 4] [--out bench/shards.md]

Input: every LibreOffice help page, Chinese and English (bench/clean_data.py),
16 times over (bench/repeat_dataset.py; copy k's doc_id suffixed `#k`, so
clean finds the copies as exact duplicates, as a crawl of mirrors would), in
row groups of 4,096 rows.
Tokenize reads the same input. Every process runs with `--threads 1`, one
after another, and is measured by its own CPU seconds (user + system, from
the kernel's rusage of the child), so the figures do not depend on how many
cores the machine has or on what else runs on it, and N shards cost what N
machines would spend together. The commit's CPU is the merge's cost.

Sharding overhead = (CPU of N shards + commits) / CPU of one run - 1. The
outputs of every N are checked to hold the rows of the one run.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORE = ROOT / "target/release/ore"
PY = sys.executable


def cpu(args, cwd):
    """Runs `args` and returns its CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ, ORE_NO_PROGRESS="1")
    done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, args))}\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def manifest(path):
    return json.loads((Path(path) / "_manifest.json").read_text())


def stage(kind, inp, out):
    return [str(ORE), kind, "--config", str(ROOT / "pipelines/demo.toml"), "--input", str(inp),
            "--output", str(out), "--threads", "1"]


def sharded(kind, inp, out, n, steps, cwd):
    """CPU of the shards and of the commits of every step."""
    shards = commits = 0.0
    for step in steps:
        for k in range(n):
            shards += cpu(stage(kind, inp, out) + ["--shard", f"{k}/{n}", "--step", step], cwd)
        commits += cpu([str(ORE), "commit", str(out), "--step", step], cwd)
    return shards, commits


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=16)
    ap.add_argument("--shards", default="1,2,4,8")
    ap.add_argument("--out", default=str(ROOT / "bench/shards.md"))
    args = ap.parse_args()
    counts = [int(n) for n in args.shards.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="ore-bench-shards-"))
    try:
        pages = tmp / "pages"
        subprocess.run([PY, str(ROOT / "bench/clean_data.py"), str(pages)], check=True)
        data = tmp / "input"
        subprocess.run([PY, str(ROOT / "bench/repeat_dataset.py"), str(pages), str(data), str(args.copies),
                        "4096"], check=True)
        one_clean = cpu(stage("clean", data, tmp / "clean"), tmp)
        one_tok = cpu(stage("tokenize", data, tmp / "tokenize"), tmp)
        rows = manifest(tmp / "clean")["rows"]
        tok_rows = manifest(tmp / "tokenize")["rows"]
        table = []
        for n in counts:
            c_shards, c_commit = sharded("clean", data, tmp / f"clean{n}", n, ["lines", "rows"], tmp)
            t_shards, t_commit = sharded("tokenize", data, tmp / f"tok{n}", n, ["rows"], tmp)
            got = manifest(tmp / f"clean{n}")["rows"]
            assert (got["in"], got["out"], got["rejected_by_reason"]) == (rows["in"], rows["out"], rows["rejected_by_reason"]), (n, got, rows)
            got = manifest(tmp / f"tok{n}")["rows"]
            assert (got["in"], got["out"]) == (tok_rows["in"], tok_rows["out"]), (n, got)
            table.append((n, c_shards, c_commit, t_shards, t_commit))
            print(f"N={n}: clean {c_shards:.2f} + {c_commit:.2f} s, tokenize {t_shards:.2f} + {t_commit:.2f} s", flush=True)
        lines = [
            "# Sharded runs: CPU seconds against one run",
            "",
            f"Input: the LibreOffice help, zh-CN and en-US, {args.copies} times over: {rows['in']:,} pages in, "
            f"{rows['out']:,} kept by clean (the demo's [clean] and [tokenize] configs). "
            "Each process single-threaded, measured by its own CPU time (bench/shards.py).",
            "",
            f"One run: clean {one_clean:.2f} s, tokenize {one_tok:.2f} s.",
            "",
            "| N | clean shards | clean commits | clean overhead | tokenize shards | tokenize commit | tokenize overhead | both overhead |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n, cs, cc, ts, tc in table:
            co = (cs + cc) / one_clean - 1
            to = (ts + tc) / one_tok - 1
            bo = (cs + cc + ts + tc) / (one_clean + one_tok) - 1
            lines.append(f"| {n} | {cs:.2f} s | {cc:.2f} s | {co:+.1%} | {ts:.2f} s | {tc:.2f} s | {to:+.1%} | {bo:+.1%} |")
        text = "\n".join(lines) + "\n"
        Path(args.out).write_text(text)
        print(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
