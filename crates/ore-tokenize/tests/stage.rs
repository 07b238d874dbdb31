//! The stage on a small dataset of many batches: rows keep their order and
//! their tokens whatever the thread count, and rows without text go to the
//! rejects.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ore_core::{Dataset, DatasetWriter, WriteOptions};
use ore_tokenize::{Segmenter, TokenizeConfig, Tokenizer};

const SENTENCES: [&str; 5] = [
    "我来到北京清华大学，看到了 LibreOffice 7.4 的新界面。",
    "“今天天气很好！”他说：“我们去公园吧。”",
    "1998年1月1日，江泽民发表新年讲话。",
    "Mixed text: 中文与English混排，数字３．１４也在。",
    "",
];

fn text_of(row: usize) -> Option<String> {
    (row % 17 != 7).then(|| SENTENCES[row % SENTENCES.len()].repeat(1 + row % 3))
}

fn write_input(dir: &Path, rows: usize) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, true),
    ]));
    let ids: Vec<String> = (0..rows).map(|i| format!("doc-{i:03}")).collect();
    let texts: Vec<Option<String>> = (0..rows).map(text_of).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(texts)),
        ],
    )
    .expect("batch");
    let mut writer = DatasetWriter::create(dir, schema, WriteOptions::default()).expect("create");
    writer.write(&batch).expect("write");
    writer.commit().expect("commit");
}

fn read(dir: &Path) -> Vec<RecordBatch> {
    Dataset::open(dir)
        .expect("open")
        .batches(1 << 16)
        .collect::<Result<_, _>>()
        .expect("read")
}

fn run(config: &TokenizeConfig, input: &Path, output: &Path, threads: usize) -> ore_core::Manifest {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
        .install(|| {
            Tokenizer::build_and_run(config, input, output, 0, WriteOptions::default())
                .expect("tokenize")
        })
}

#[test]
fn many_small_batches_keep_order_and_reject_null_texts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    let rows = 60;
    write_input(&input, rows);
    let config = TokenizeConfig {
        batch_rows: 5,
        ..TokenizeConfig::default()
    };
    let segmenter = Segmenter::build(&config).expect("segmenter");
    let mut outputs = Vec::new();
    for threads in [1, 3] {
        let output = tmp.path().join(format!("out{threads}"));
        let manifest = run(&config, &input, &output, threads);
        let nulls = (0..rows).filter(|&i| text_of(i).is_none()).count() as u64;
        assert_eq!(manifest.rows.input, rows as u64);
        assert_eq!(manifest.rows.rejected, nulls);
        assert_eq!(manifest.rows.output + manifest.rows.rejected, rows as u64);
        assert_eq!(
            manifest.rows.rejected_by_reason.get("null_text"),
            Some(&nulls)
        );

        let batches = read(&output);
        let mut expected_rows = (0..rows).filter(|&i| text_of(i).is_some());
        for batch in &batches {
            let ids = batch
                .column_by_name("doc_id")
                .expect("doc_id")
                .as_string::<i32>();
            let tokens = batch
                .column_by_name("tokens")
                .expect("tokens")
                .as_list::<i32>();
            for r in 0..batch.num_rows() {
                let row = expected_rows.next().expect("no more rows than kept");
                assert_eq!(ids.value(r), format!("doc-{row:03}"));
                let got: Vec<String> = tokens
                    .value(r)
                    .as_string::<i32>()
                    .iter()
                    .map(|t| t.unwrap_or_default().to_string())
                    .collect();
                let text = text_of(row).unwrap_or_default();
                assert_eq!(got, segmenter.segment(&text).tokens, "row {row}");
            }
        }
        assert!(expected_rows.next().is_none(), "rows missing");
        let rejects = read(&output.join("_rejects"));
        let rejected: usize = rejects.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rejected as u64, nulls);
        outputs.push(batches);
    }
    let concat = |b: &[RecordBatch]| {
        arrow_select::concat::concat_batches(&b[0].schema(), b).expect("concat")
    };
    assert_eq!(concat(&outputs[0]), concat(&outputs[1]));
}

/// Writes `batch` into `dir` as another tool would: zstd at level 9, row
/// groups of `group_rows`, a dictionary on every column.
fn foreign_input(dir: &Path, batch: &RecordBatch, group_rows: usize) {
    use parquet::basic::{Compression, ZstdLevel};

    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(9).expect("level")))
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let file = std::fs::File::create(dir.join("part-00000.parquet")).expect("create");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props))
        .expect("arrow writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
}

/// Row groups of the input whose `text` has no null are written as row
/// groups of their own that copy `doc_id` and `text` as the input encodes
/// them (here with a dictionary, which ore's writer leaves off them); the
/// one with a null text is encoded, and the rows are the same as with
/// copying off.
#[test]
fn unchanged_columns_are_copied_from_row_groups_without_null_texts() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).expect("input folder");
    let rows = 60;
    let text = |row: usize| (row != 27).then(|| SENTENCES[row % 4].repeat(1 + row % 3));
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(
                (0..rows).map(|i| format!("doc-{i:03}")).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from((0..rows).map(text).collect::<Vec<_>>())),
        ],
    )
    .expect("batch");
    foreign_input(&input, &batch, 20);

    // Rows and whether `text` has a dictionary page, per row group.
    let text_chunks = |output: &Path| -> Vec<(i64, bool)> {
        let file = std::fs::File::open(output.join("part-00000.parquet")).expect("part");
        let reader = SerializedFileReader::new(file).expect("parquet");
        reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| {
                let text = g
                    .columns()
                    .iter()
                    .find(|c| c.column_path().string() == "text")
                    .expect("text column");
                (g.num_rows(), text.dictionary_page_offset().is_some())
            })
            .collect()
    };
    let mut outputs = Vec::new();
    for copy_columns in [true, false] {
        let config = TokenizeConfig {
            batch_rows: 7,
            copy_columns,
            ..TokenizeConfig::default()
        };
        let output = tmp.path().join(format!("out-{copy_columns}"));
        let manifest = run(&config, &input, &output, 2);
        assert_eq!(manifest.rows.output, 59);
        assert_eq!(manifest.rows.rejected, 1);
        let chunks = text_chunks(&output);
        if copy_columns {
            assert_eq!(chunks, [(20, true), (19, false), (20, true)]);
        } else {
            assert!(
                chunks.iter().all(|(_, dictionary)| !dictionary),
                "{chunks:?}"
            );
        }
        outputs.push((read(&output), read(&output.join("_rejects"))));
    }
    let concat = |b: &[RecordBatch]| {
        arrow_select::concat::concat_batches(&b[0].schema(), b).expect("concat")
    };
    assert_eq!(concat(&outputs[0].0), concat(&outputs[1].0));
    assert_eq!(concat(&outputs[0].1), concat(&outputs[1].1));

    // A group that is encoded keeps the input's bounds but also closes at
    // the writer's row bound (19 rows kept of 20: 8 + 8 + 3); copied
    // groups keep the input's rows.
    let config = TokenizeConfig {
        batch_rows: 7,
        ..TokenizeConfig::default()
    };
    let output = tmp.path().join("out-bound");
    let opts = WriteOptions {
        row_group_rows: 8,
        ..WriteOptions::default()
    };
    Tokenizer::build_and_run(&config, &input, &output, 0, opts).expect("tokenize");
    let rows: Vec<i64> = text_chunks(&output).iter().map(|(n, _)| *n).collect();
    assert_eq!(rows, [20, 8, 8, 3, 20]);
    assert_eq!(concat(&read(&output)), concat(&outputs[0].0));

    // A row group whose texts are all null leaves no empty group behind.
    let nulls = tmp.path().join("nulls");
    std::fs::create_dir(&nulls).expect("input folder");
    let batch = RecordBatch::try_new(
        batch.schema(),
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
            Arc::new(StringArray::from(vec![
                None,
                None,
                Some("我们"),
                Some("你好"),
            ])),
        ],
    )
    .expect("batch");
    foreign_input(&nulls, &batch, 2);
    let output = tmp.path().join("out-nulls");
    let manifest = run(&TokenizeConfig::default(), &nulls, &output, 1);
    assert_eq!((manifest.rows.output, manifest.rows.rejected), (2, 2));
    assert_eq!(text_chunks(&output), [(2, true)]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const POOL: [&str; 8] = [
        "我来到北京清华大学",
        "LibreOffice 7.4 的 Writer",
        "１９９７年，ＡＢＣ",
        "",
        "   ",
        "emoji 😀 e\u{301}",
        "\u{0}\u{1f}控制",
        "“你好！”——再见……",
    ];

    fn texts() -> impl Strategy<Value = Vec<Option<String>>> {
        prop::collection::vec(
            prop::option::weighted(
                0.8,
                prop::sample::select(POOL.to_vec()).prop_map(String::from),
            ),
            0..30,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the input's row groups, the batch size, copying or
        /// not: rows in = rows out + rejected, the rejects are exactly the
        /// null texts, and the kept rows come out in order.
        #[test]
        fn rows_in_are_rows_out_plus_rejected(
            texts in texts(),
            group_rows in 1usize..8,
            batch_rows in 1usize..8,
            copy_columns: bool,
        ) {
            let tmp = tempfile::tempdir().expect("tempdir");
            let (input, output) = (tmp.path().join("in"), tmp.path().join("out"));
            let schema = Arc::new(Schema::new(vec![
                Field::new("doc_id", DataType::Utf8, false),
                Field::new("text", DataType::Utf8, true),
            ]));
            let ids: Vec<String> = (0..texts.len()).map(|i| format!("doc-{i:03}")).collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(ids.clone())),
                    Arc::new(StringArray::from(texts.clone())),
                ],
            )
            .expect("batch");
            let opts = WriteOptions { row_group_rows: group_rows, ..WriteOptions::default() };
            let mut writer = DatasetWriter::create(&input, schema, opts).expect("create");
            writer.write(&batch).expect("write");
            writer.commit().expect("commit");

            let config = TokenizeConfig { batch_rows, copy_columns, ..TokenizeConfig::default() };
            let manifest = run(&config, &input, &output, 2);
            let nulls = texts.iter().filter(|t| t.is_none()).count() as u64;
            let rows = &manifest.rows;
            prop_assert_eq!(rows.input, texts.len() as u64);
            prop_assert_eq!(rows.input, rows.output + rows.rejected);
            prop_assert_eq!(rows.rejected, nulls);
            let kept: Vec<String> = read(&output)
                .iter()
                .flat_map(|b| {
                    let ids = b.column_by_name("doc_id").expect("doc_id").as_string::<i32>();
                    (0..b.num_rows()).map(|i| ids.value(i).to_string()).collect::<Vec<_>>()
                })
                .collect();
            let expected: Vec<String> = ids
                .iter()
                .zip(&texts)
                .filter(|(_, t)| t.is_some())
                .map(|(id, _)| id.clone())
                .collect();
            prop_assert_eq!(kept, expected);
            let rejected = ore_core::stage::reject_counts(&output).expect("rejects");
            prop_assert_eq!(rejected.values().sum::<u64>(), nulls);
        }
    }
}
