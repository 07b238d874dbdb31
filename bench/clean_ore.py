"""The ore side of the `clean_dedup_*` bench pairs: run `ore clean`, time it,
and report documents/s, its CPU seconds (`cpu_s`, every thread) and the
duplicate clusters from its manifest.

    python bench/clean_ore.py ORE INPUT OUTPUT THREADS
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds

from timed import cpu_seconds


def main():
    ore, data, out, threads = sys.argv[1:5]
    docs = ds.dataset(data, format="parquet").count_rows()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([ore, "clean", "--config", str(Path(__file__).parent / "clean_dedup.toml"),
                    "--input", data, "--output", out, "--threads", threads],
                   check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    manifest = json.loads((Path(out) / "_manifest.json").read_text())
    print(json.dumps({"docs": docs, "seconds": seconds, "cpu_s": cpu_seconds(before),
                      "docs_per_s": docs / seconds,
                      "clusters": manifest["summary"]["duplicate_clusters"]}))


if __name__ == "__main__":
    main()
