#!/usr/bin/env python3
"""Serve the LibreOffice help site (fetched by `make datasets`) on 127.0.0.1.

    python3 scripts/serve_help.py [--port 8765] [--port-file FILE] [--root DIR]

The three Debian packages under datasets/sources/ (libreoffice-help-common,
-zh-cn and -en-us) each hold part of usr/share/libreoffice/help/; they are
laid over one another as hard links (or copies across file systems) in one
git-ignored web root, datasets/sources/libreoffice-help-site/, built once.
The server is Python's own static server (threaded, HTTP/1.1 keep-alive,
directory listings for folders without index.html), so `/zh-CN/` lists the
whole Chinese site. It prints `serving http://127.0.0.1:PORT/` and, with
--port-file, writes the port there once it is listening (--port 0 picks a
free port). It stops on SIGINT/SIGTERM.
"""

import argparse
import fcntl
import functools
import http.server
import os
import shutil
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "datasets" / "sources"
PACKAGES = ["libreoffice-help-common", "libreoffice-help-zh-cn", "libreoffice-help-en-us"]
SITE = SOURCES / "libreoffice-help-site"


def build_site(site: Path) -> Path:
    done = site / ".built"
    if done.exists():
        return site
    missing = [p for p in PACKAGES if not (SOURCES / p / "usr/share/libreoffice/help").is_dir()]
    if missing:
        sys.exit(f"error: {SOURCES / missing[0]} is missing: run `make datasets`")
    # Several servers may start at once (parallel tests): one builds, the
    # others wait for it and then serve the finished tree.
    site.parent.mkdir(parents=True, exist_ok=True)
    with open(site.with_name(site.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            _build(site)
    return site


def _build(site: Path) -> None:
    tmp = site.with_name(f"{site.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for package in PACKAGES:
        src = SOURCES / package / "usr/share/libreoffice/help"
        for dirpath, _dirs, files in os.walk(src):
            rel = Path(dirpath).relative_to(src)
            (tmp / rel).mkdir(parents=True, exist_ok=True)
            for name in files:
                target = tmp / rel / name
                if target.exists():
                    target.unlink()
                try:
                    os.link(Path(dirpath) / name, target)
                except OSError:
                    shutil.copy2(Path(dirpath) / name, target)
    (tmp / ".built").touch()
    shutil.rmtree(site, ignore_errors=True)
    tmp.rename(site)


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the crawler reports every URL
        pass


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A crawler that stops reading a body it does not want (not HTML,
        # too large) closes the connection; that is not a server error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--port-file")
    ap.add_argument("--root", default=str(SITE))
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    site = build_site(Path(args.root))
    if args.build_only:
        print(site)
        return
    handler = functools.partial(Handler, directory=str(site))
    try:
        server = Server(("127.0.0.1", args.port), handler)
    except OSError as e:
        sys.exit(f"error: cannot listen on 127.0.0.1:{args.port}: {e}")
    port = server.server_address[1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.port_file:
        Path(args.port_file).write_text(f"{port}\n")
    print(f"serving http://127.0.0.1:{port}/ from {site}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
