"""How much the bare jieba-rs loop slows down when the machine's other core is
busy: the cost a stage pays for running its reader and writer beside the
segmenting thread, which the `tokenize_overhead` pair's raw loop, alone on
the machine, never pays.

    python bench/interference.py RAW_CUT DATASET [--runs N]

RAW_CUT is crates/ore-tokenize/examples/raw_cut (built with
`cargo build --release -p ore-tokenize --example raw_cut`); its own timer
covers loading jieba's dictionary and cutting every text. Each round runs
it three times, alternating: alone; beside a process compressing the same
texts with zstd level 3 in a loop (what the stage's writer does); beside a
second raw_cut loop (what a second segmenting thread does). Prints the
median rate of each and its ratio to the rate alone.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

# The neighbour that compresses: pyarrow's zstd on the dataset's texts, over
# and over, until killed.
ZSTD_LOOP = """
import sys
import pyarrow as pa
import pyarrow.dataset as ds
texts = ds.dataset(sys.argv[1], format="parquet").to_table(columns=["text"]).column("text")
text = "\\n".join(t for t in texts.to_pylist() if t is not None).encode("utf-8")
# Larger than the last-level cache, and compressed a page (1 MiB) at a
# time, as a writer streams through new data.
data = text * (64_000_000 // len(text) + 1)
codec = pa.Codec("zstd", compression_level=3)
while True:
    for at in range(0, len(data), 1 << 20):
        codec.compress(data[at:at + (1 << 20)])
"""


def rate(raw_cut, dataset):
    out = subprocess.run([raw_cut, dataset], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["mb_per_s"]


def beside(neighbour, raw_cut, dataset):
    # A session of its own, so that killing it stops the loop's children too.
    proc = subprocess.Popen(neighbour, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        time.sleep(0.5)  # past the neighbour's start-up
        return rate(raw_cut, dataset)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw_cut")
    parser.add_argument("dataset")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    neighbours = {
        "zstd -3 beside": [sys.executable, "-c", ZSTD_LOOP, args.dataset],
        "raw_cut beside": ["bash", "-c", 'while :; do "$0" "$1" >/dev/null; done',
                           args.raw_cut, args.dataset],
    }
    rates = {"alone": []} | {name: [] for name in neighbours}
    for _ in range(args.runs):
        rates["alone"].append(rate(args.raw_cut, args.dataset))
        for name, command in neighbours.items():
            rates[name].append(beside(command, args.raw_cut, args.dataset))
    alone = statistics.median(rates["alone"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:15s} {median:6.1f} MB/s (min {min(values):.1f}, max {max(values):.1f}), "
              f"{median / alone:.2f} of alone")


if __name__ == "__main__":
    main()
