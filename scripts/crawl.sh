#!/usr/bin/env bash
# `make crawl`: stage `crawl` of a pipeline file, into OUT (default: the
# pipeline's datasets/<name>/crawl). A pipeline whose seeds are on
# 127.0.0.1:8765 crawls the LibreOffice help site, which this script serves
# (scripts/serve_help.py) for the duration of the crawl.
set -euo pipefail
cd "$(dirname "$0")/.."

pipeline_file=${1:-pipelines/demo.toml}
out=${2:-}
ore=target/release/ore
py=.venv/bin/python
[ -x "$py" ] || py=python3

if grep -q '127\.0\.0\.1:8765' "$pipeline_file"; then
    port_file=$(mktemp)
    "$py" scripts/serve_help.py --port 8765 --port-file "$port_file" &
    server=$!
    trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$port_file"' EXIT
    for _ in $(seq 1 600); do
        [ -s "$port_file" ] && break
        kill -0 "$server" 2>/dev/null || { echo "error: the help site server did not start" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$port_file" ] || { echo "error: the help site server did not start within 60 s" >&2; exit 1; }
fi

args=(crawl --config "$pipeline_file")
[ -n "$out" ] && args+=(--output "$out")
"$ore" "${args[@]}"
