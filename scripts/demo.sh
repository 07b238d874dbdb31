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

# Until the crawl stage lands, the pages enter the pipeline straight from
# disk: every zh-CN help page as a row (doc_id, url, raw HTML) of a dataset
# written through ore-core (zstd part files, atomic commit).
echo "==> pages: $help -> $out/pages"
target/release/examples/parquet_io --input "$help" --out "$out/pages" \
    --row-group-rows 4096 --rows-per-file 1024 --zstd-level 3 >/dev/null
"$ore" inspect "$out/pages" --head 3 --stats
echo
echo "demo done: outputs under $out/ (open any of them with: $ore inspect PATH)"
