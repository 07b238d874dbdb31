//! Property test of the stage's row balance on arbitrary small inputs:
//! every row read is written or rejected with a reason, whatever the mix of
//! null, short, exact and near-duplicate texts, the batch size and the
//! input's row groups.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ore_clean::{CleanConfig, Cleaner, RunPaths};
use ore_core::{Dataset, DatasetWriter, WriteOptions};
use proptest::prelude::*;

/// Texts that pass, fail a quality rule, or repeat one another exactly or
/// nearly (a word changed).
const POOL: [&str; 8] = [
    "LibreOffice Writer 是一个功能齐全的文字处理程序，可以用来创建和编辑各种文档。它支持多种文件格式。",
    "LibreOffice Writer 是一个功能齐全的文字处理程序，可以用来创建和编辑各种文档。它支持多种文件格式！",
    "Calc is the spreadsheet program you have always wanted. Newcomers find it intuitive and easy to learn.",
    "Calc is the spreadsheet program you have always wanted. Newcomers find it intuitive and easy to learn!",
    "短",
    "",
    "1234567890 %%%% #### ---- 1234567890",
    "Impress is a truly outstanding tool for creating effective multimedia presentations with ease.",
];

fn texts() -> impl Strategy<Value = Vec<Option<String>>> {
    prop::collection::vec(
        prop::option::weighted(
            0.85,
            prop::sample::select(POOL.to_vec()).prop_map(String::from),
        ),
        0..40,
    )
}

fn ids(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let ids = b
                .column_by_name("doc_id")
                .expect("doc_id")
                .as_string::<i32>();
            (0..b.num_rows())
                .map(|i| ids.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The batches of a dataset; none where the folder was not written (a
/// stage that rejects nothing writes no `_rejects/`).
fn read(dir: &std::path::Path) -> Vec<RecordBatch> {
    if !dir.exists() {
        return Vec::new();
    }
    Dataset::open(dir)
        .expect("open")
        .batches(1024)
        .collect::<Result<_, _>>()
        .expect("read")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn rows_in_are_rows_out_plus_rejected(
        texts in texts(),
        group_rows in 1usize..10,
        batch_rows in 1usize..10,
        near: bool,
        seed in 0u64..4,
    ) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (input, output) = (tmp.path().join("in"), tmp.path().join("out"));
        let schema = Arc::new(Schema::new(vec![
            Field::new("doc_id", DataType::Utf8, false),
            Field::new("url", DataType::Utf8, true),
            Field::new("text", DataType::Utf8, true),
        ]));
        let doc_ids: Vec<String> = (0..texts.len()).map(|i| format!("doc-{i:03}")).collect();
        let urls: Vec<String> =
            (0..texts.len()).map(|i| format!("https://example.org/{}", i % 3)).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(doc_ids.clone())),
                Arc::new(StringArray::from(urls)),
                Arc::new(StringArray::from(texts.clone())),
            ],
        )
        .expect("batch");
        let opts = WriteOptions { row_group_rows: group_rows, ..WriteOptions::default() };
        let mut writer = DatasetWriter::create(&input, schema, opts).expect("create");
        writer.write(&batch).expect("write");
        writer.commit().expect("commit");

        let mut config = CleanConfig { batch_rows, ..CleanConfig::default() };
        config.dedup.near = near;
        let paths = RunPaths { input: &input, output: &output, index: None };
        let manifest = Cleaner::build(&config)
            .expect("config")
            .run(&paths, seed, WriteOptions::default())
            .expect("clean");
        let rows = &manifest.rows;
        prop_assert_eq!(rows.input, texts.len() as u64);
        prop_assert_eq!(rows.input, rows.output + rows.rejected);
        prop_assert_eq!(rows.rejected_by_reason.values().sum::<u64>(), rows.rejected);
        let nulls = texts.iter().filter(|t| t.is_none()).count() as u64;
        prop_assert_eq!(rows.rejected_by_reason.get("null_text").copied().unwrap_or(0), nulls);

        // What the files hold: each input row once, kept or rejected, the
        // kept ones in input order.
        let kept = ids(&read(&output));
        let rejected = ids(&read(&output.join("_rejects")));
        prop_assert_eq!(kept.len() as u64, rows.output);
        prop_assert_eq!(rejected.len() as u64, rows.rejected);
        let mut all: Vec<String> = kept.iter().chain(&rejected).cloned().collect();
        all.sort();
        prop_assert_eq!(&all, &doc_ids);
        let mut in_order = kept.clone();
        in_order.sort();
        prop_assert_eq!(kept, in_order);
    }
}
