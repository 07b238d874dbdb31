"""One side of the `crawl` bench pair: crawl the LibreOffice zh-CN help site,
served by scripts/serve_help.py on a free 127.0.0.1 port, with ore or Scrapy.

    python bench/crawl_bench.py --side ore|scrapy --out DIR [--concurrency 16]

Both sides: same server, same concurrency (global and per host), robots.txt
off, no delay, the same seed (the `/zh-CN/` directory listing) and scope;
directory listings are followed but not counted. Scrapy writes url + title +
text as JSON lines. The crawler runs as a child process timed on its own
(server start-up excluded); the last stdout line is
{"pages_per_s": pages / crawl seconds, "crawler_rss_mb": the crawler's peak RSS}.
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
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=["ore", "scrapy"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port_file = out / "port"
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts/serve_help.py"), "--port", "0",
                               "--port-file", str(port_file)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(1200):
            if port_file.exists() and port_file.read_text().strip():
                break
            if server.poll() is not None:
                sys.exit("error: the help site server did not start")
            time.sleep(0.05)
        port = int(port_file.read_text())
        prefix = f"http://127.0.0.1:{port}/zh-CN/"
        c = str(args.concurrency)
        if args.side == "ore":
            cmd = [str(ROOT / "target/release/ore"), "crawl", "--seed", prefix,
                   "--include", "^" + prefix.replace(".", r"\."), "--link-only", "/$",
                   "--ignore-robots", "--concurrency", c, "--per-host-concurrency", c,
                   "--output", str(out / "ore")]
        else:
            cmd = [sys.executable, str(ROOT / "bench/scrapy_help.py"), "--start", prefix,
                   "--concurrency", c, "--out", str(out / "scrapy.jsonl")]
        env = dict(os.environ, ORE_NO_PROGRESS="1")
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"error: {args.side} crawl failed: {proc.stderr.read().decode()[-500:]}")
        if args.side == "ore":
            pages = json.loads((out / "ore/_manifest.json").read_text())["rows"]["out"]
        else:
            pages = sum(1 for line in open(out / "scrapy.jsonl", encoding="utf-8")
                        if not json.loads(line)["url"].endswith("/"))
        print(json.dumps({"pages": pages, "pages_per_s": pages / seconds,
                          "crawler_rss_mb": usage.ru_maxrss / 1024}))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
