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
    "$ore" inspect "$out/tokenize" --head 1
    "$ore" inspect "$out/align" --head 2
    "$ore" inspect "$out/headlines" --head 2
    "$ore" query "$out/split" "SELECT split, count(*) AS examples, count(DISTINCT source_id) AS pages FROM self GROUP BY 1 ORDER BY 2 DESC"
    "$ore" query "$out/augment/train" "SELECT coalesce(aug_op, 'original') AS op, count(*) AS rows FROM self GROUP BY 1 ORDER BY 2 DESC"
    "$ore" query "$out/augment/train" "SELECT aug_op, tgt, src FROM self WHERE aug_op = 'back_translation' LIMIT 3"
    "$ore" inspect "$out/train/log.parquet" --head 3
    "$ore" inspect "$out/eval" --head 3
    cat "$out/eval/_report/report.md"
    step "lineage of the first prediction (ore trace)"
    first=$("$ore" query "$out/eval" "SELECT example_id FROM self LIMIT 1" --json | sed -n 's/.*"example_id": *"\([^"]*\)".*/\1/p' | head -n 1)
    [ -n "$first" ] && "$ore" trace "$first" --config "$pipeline_file"
fi

step "where everything is"
echo "outputs:      $out/<stage>/ (open any with: $ore inspect PATH)"
echo "data report:  $out/_report/index.html (and report.md; rebuild with: make report)"
[ -d "$out/eval" ] && echo "scores:       $out/eval/_metrics.json, $out/eval/_report/report.md"
[ -d "$out/train" ] && echo "curves:       tensorboard --logdir $out/train"
echo "lineage:      $ore trace EXAMPLE_ID"
