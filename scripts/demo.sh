#!/usr/bin/env bash
# The main job on a pipeline file: `ore run` runs its stages in dependency
# order (skipping those that are up to date), then each output is inspected.
# Called by `make demo` after `make build datasets`.
set -euo pipefail
cd "$(dirname "$0")/.."

pipeline_file=${1:-pipelines/demo.toml}
ore=target/release/ore
name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$pipeline_file" | head -n 1)
out=datasets/${name:?no name in $pipeline_file}

step() { printf '\n==> %s\n' "$*"; }

step "ore run $pipeline_file"
"$ore" run "$pipeline_file"

step "ore status $pipeline_file"
"$ore" status "$pipeline_file"

# A look at each output (any Parquet reader opens these folders as they are).
if [ "$name" = demo ]; then
    step "outputs"
    "$ore" inspect "$out/crawl" --head 2 --stats
    "$ore" inspect "$out/clean" --head 1
    "$ore" inspect "$out/tokenize" --head 2
    "$ore" inspect "$out/tokenize/_vocab" --head 10
    "$ore" inspect "$out/pd_tokens" --head 2
    "$ore" inspect "$out/examples" --head 2
    "$ore" inspect "$out/split/test" --head 2
    "$ore" query "$out/split" "SELECT split, count(*) AS examples, count(DISTINCT source_id) AS articles FROM self GROUP BY 1 ORDER BY 2 DESC"
    "$ore" query "$out/augment/train" "SELECT coalesce(aug_op, 'original') AS op, count(*) AS rows FROM self GROUP BY 1 ORDER BY 2 DESC"
    "$ore" query "$out/pd_aug" "SELECT aug_op, text FROM self WHERE aug_op IS NOT NULL LIMIT 4"
    "$ore" inspect "$out/train/log.parquet" --head 3
    "$ore" inspect "$out/eval" --head 3
    cat "$out/eval/_report/report.md"
fi

echo
echo "demo done: outputs under $out/ (open any of them with: $ore inspect PATH);"
echo "the eval report is $out/eval/_report/report.md, its scores $out/eval/_metrics.json"
