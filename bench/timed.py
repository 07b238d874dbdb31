"""Run a command and report the UTF-8 MB of a dataset's text column it
processed per second of wall time (start-up, reading and writing included).

    python bench/timed.py DATASET -- COMMAND ARGS...

Prints {"mb_per_s": ..., "seconds": ..., "mb": ..., "cpu_s": ...} as its
last line; `e2e_mb_per_s` is the same rate, named as the end-to-end rate of
the Python side of the tokenize pairs (bench/tokenize_py.py). `cpu_s` is the
CPU time (user and system, every thread) of the command's processes, so
`cpu_s / seconds` is how many cores it kept busy on average.
"""

import json
import resource
import subprocess
import sys
import time

import pyarrow.dataset as ds


def main():
    sep = sys.argv.index("--")
    dataset, command = sys.argv[1], sys.argv[sep + 1:]
    texts = ds.dataset(dataset, format="parquet", exclude_invalid_files=True).to_table(columns=["text"])
    mb = sum(len(t.encode("utf-8")) for t in texts.column("text").to_pylist() if t is not None) / 1e6
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    print(json.dumps({"mb": mb, "seconds": seconds, "cpu_s": cpu_seconds(before),
                      "mb_per_s": mb / seconds,
                      "e2e_mb_per_s": mb / seconds}))


def cpu_seconds(before):
    """CPU time of the children waited for since `before` was taken."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    main()
