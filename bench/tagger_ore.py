"""The ore side of the `tagger_*` bench pairs: run `ore train --task tag`
and report the figures of its model folder's `_manifest.json` summary.

    python bench/tagger_ore.py --input DIR --out TMP [--epochs N] [--max-steps N]
                               [--seed N] [--threads N] [-- MORE ORE ARGS]

Prints one JSON object on its last stdout line, as bench/tagger_torch.py
does: tokens_per_s (training words per second of training steps: the
summary's train_tokens / train_s, else its step_tokens_per_s, else its
tokens_per_s; `rate_from` names which), startup_s (the summary's: process
start, as the kernel records it, to the first training step), steps,
epochs, best_valid_loss, peak_rss_mb (ore's process) and wall_s (ore's
process, spawn to exit).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True, help="scratch folder; the model goes to OUT/model")
    ap.add_argument("--ore", default=str(ROOT / "target/release/ore"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("more", nargs="*", help="more `ore train` arguments (after --)")
    a = ap.parse_args()

    model = Path(a.out) / "model"
    cmd = [a.ore, "train", "--task", "tag", "--input", a.input, "--output", str(model),
           "--epochs", str(a.epochs), "--seed", str(a.seed), "--threads", str(a.threads)]
    if a.max_steps is not None:
        cmd += ["--max-steps", str(a.max_steps)]
    cmd += a.more
    env = dict(os.environ, ORE_NO_PROGRESS="1")
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-15:]
            sys.stderr.write("\n".join(tail) + "\n")
            sys.exit(f"error: `{' '.join(cmd)}` exited with {os.waitstatus_to_exitcode(status)}")

    summary = json.loads((model / "_manifest.json").read_text()).get("summary", {})
    if summary.get("train_tokens") and summary.get("train_s"):
        rate, rate_from = summary["train_tokens"] / summary["train_s"], "train_tokens/train_s"
    elif "step_tokens_per_s" in summary:
        rate, rate_from = summary["step_tokens_per_s"], "step_tokens_per_s"
    else:
        rate, rate_from = summary.get("tokens_per_s"), "tokens_per_s"
    print(json.dumps({
        "tokens_per_s": rate,
        "rate_from": rate_from,
        "train_tokens": summary.get("train_tokens"),
        "train_s": summary.get("train_s"),
        "steps": summary.get("steps"),
        "epochs": summary.get("epochs"),
        "startup_s": summary.get("startup_s"),
        "best_valid_loss": summary.get("best_valid_loss"),
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "wall_s": wall,
    }))


if __name__ == "__main__":
    main()
