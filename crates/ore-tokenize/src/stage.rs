//! The stage: read a dataset with a text column, append the token columns,
//! write the `tokens` dataset with its `_vocab/`, `_rejects/` and manifest.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use ore_core::dataset::CopySource;
use ore_core::schema::tokens as col;
use ore_core::{
    Dataset, InOrder, Manifest, Progress, StageInfo, StageOutput, StrColumn, WriteOptions,
};

use crate::columns::{RowTokens, TokenColumns, TokenRow, token_fields};
use crate::config::TokenizeConfig;
use crate::entities::EntityTagger;
use crate::error::{Result, TokenizeError};
use crate::segment::Segmenter;
use crate::vocab::{VOCAB_DIR, VocabCounter, vocab_batch};

/// Reason recorded for rows without text.
pub const NULL_TEXT: &str = "null_text";

/// A ready-to-run tokenizer: segmenter, entity tagger and config.
#[derive(Debug)]
pub struct Tokenizer {
    config: TokenizeConfig,
    segmenter: Segmenter,
    tagger: Option<EntityTagger>,
}

impl Tokenizer {
    /// Validates the config and loads dictionaries, stop words and gazetteers.
    pub fn build(config: &TokenizeConfig) -> Result<Self> {
        if config.batch_rows == 0 {
            return Err(TokenizeError::Config(
                "batch_rows must be at least 1".into(),
            ));
        }
        let mut segmenter = Segmenter::build(config)?;
        let tagger = if config.entities {
            Some(EntityTagger::build(config, &mut segmenter)?)
        } else {
            None
        };
        Ok(Self {
            config: config.clone(),
            segmenter,
            tagger,
        })
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    /// Tokenizes and annotates rows `rows` of `batch` (whose texts are all
    /// present) into their token columns; one job of the stage's pipeline.
    fn annotate_chunk(
        &self,
        batch: &RecordBatch,
        with_title: bool,
        input: &Path,
        rows: Range<usize>,
    ) -> Result<Chunk> {
        let texts = StrColumn::of(batch, &self.config.text_column, input)?;
        let titles = if with_title {
            Some(StrColumn::of(batch, &self.config.title_column, input)?)
        } else {
            None
        };
        Ok(self.annotate_rows(&texts, titles.as_ref(), rows))
    }

    /// Tokenizes and annotates rows `rows` of a batch (whose texts are all
    /// present) into their token columns.
    fn annotate_rows(
        &self,
        texts: &StrColumn<'_>,
        titles: Option<&StrColumn<'_>>,
        rows: Range<usize>,
    ) -> Chunk {
        let mut columns = TokenColumns::new(titles.is_some());
        let mut vocab = self.config.vocab.enabled.then(VocabCounter::default);
        let (mut row, mut title_row) = (RowTokens::default(), RowTokens::default());
        let (mut tokens, mut chars) = (0u64, 0u64);
        for i in rows {
            row.clear();
            self.segmenter
                .segment_into(texts.get(i).unwrap_or_default(), &mut row);
            let mut entities = Vec::new();
            if self.tagger.is_some() || vocab.is_some() {
                let words: Vec<&str> = row.tokens().collect();
                if let Some(tagger) = &self.tagger {
                    let pos: Vec<&str> = row.pos().collect();
                    entities = tagger.tag(&words, &pos);
                }
                if let Some(vocab) = &mut vocab {
                    vocab.add_document(&words);
                }
            }
            columns.push_row(&row, self.config.pos, &entities);
            match titles.and_then(|t| t.get(i)) {
                Some(title) => {
                    title_row.clear();
                    self.segmenter.segment_into(title, &mut title_row);
                    columns.push_title(Some(title_row.tokens()));
                }
                None => columns.push_title(None::<std::iter::Empty<&str>>),
            }
            tokens += row.len() as u64;
            chars += u64::from(row.ends().last().copied().unwrap_or(0));
        }
        Chunk {
            columns: columns.finish(),
            vocab,
            tokens,
            chars,
        }
    }

    /// Tokenizes and annotates one text (and its title).
    pub fn annotate(&self, text: &str, title: Option<&str>) -> TokenRow {
        let segmented = self.segmenter.segment(text);
        let entities = match &self.tagger {
            Some(tagger) => tagger.tag(&segmented.tokens, &segmented.pos),
            None => Vec::new(),
        };
        TokenRow {
            has_pos: self.config.pos,
            entities,
            title: title.map(|t| self.segmenter.segment(t).tokens),
            text: segmented,
        }
    }

    /// Builds the tokenizer for `config` and runs the stage from `input` to
    /// `output`. Loading the dictionaries (about 0.1 s for jieba's) happens
    /// on a thread of its own while the input is opened, checked and read
    /// ahead, so a bad input is reported at once and the first batches are
    /// decoded by the time the segmenter is ready.
    pub fn build_and_run(
        config: &TokenizeConfig,
        input: &Path,
        output: &Path,
        seed: u64,
        opts: WriteOptions,
    ) -> Result<Manifest> {
        std::thread::scope(|scope| {
            let mut building = Some(scope.spawn(|| Tokenizer::build(config)));
            let built = std::sync::OnceLock::new();
            let tokenizer = || -> Result<&Tokenizer> {
                if let Some(handle) = building.take() {
                    let tokenizer = handle.join().unwrap_or_else(|_| {
                        Err(TokenizeError::Config(
                            "loading the dictionaries panicked".into(),
                        ))
                    })?;
                    // Only this closure sets it, once.
                    let _ = built.set(tokenizer);
                }
                built
                    .get()
                    .ok_or_else(|| TokenizeError::Config("the dictionaries failed to load".into()))
            };
            run_stage(config, tokenizer, input, output, seed, opts)
        })
    }
}

/// The tokenize stage of the Stage contract. [`ore_core::Stage::build`]
/// checks the config and that every file it names can be read; the
/// dictionaries load when the stage runs, on a thread of their own while
/// the input is opened and read ahead (see [`Tokenizer::build_and_run`]).
#[derive(Debug, Clone)]
pub struct TokenizeStage {
    config: TokenizeConfig,
}

impl ore_core::StageDef for TokenizeStage {
    const KIND: &'static str = "tokenize";
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec::dataset(&["clean"])];
    const SEEDED: bool = false;
    type Config = TokenizeConfig;
}

impl ore_core::Stage for TokenizeStage {
    type Error = TokenizeError;

    fn build(config: TokenizeConfig) -> Result<Self> {
        if config.batch_rows == 0 {
            return Err(TokenizeError::Config(
                "batch_rows must be at least 1".into(),
            ));
        }
        let files = config
            .user_dicts
            .iter()
            .chain(&config.stop_word_files)
            .chain(config.gazetteers.iter().flat_map(|g| &g.files));
        for file in files {
            std::fs::metadata(file).map_err(|e| TokenizeError::io(file, e))?;
        }
        Ok(Self { config })
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        Tokenizer::build_and_run(
            &self.config,
            ctx.input("input")?,
            &ctx.output,
            ctx.seed,
            ctx.write.clone(),
        )
    }
}

/// Batches read ahead of segmentation: enough to keep the reader busy while
/// the dictionaries load (a few megabytes of text at the default batch size).
const READ_AHEAD: usize = 8;

/// The largest input row group (uncompressed, by its footer) whose kept
/// columns are copied: the new columns of a copied group are held, encoded,
/// until the group ends, so a larger one is encoded in ore-sized groups.
const COPY_GROUP_BYTES: u64 = 256 << 20;

/// What the stage hands to its output, in input order.
enum Piece {
    /// Rows of a batch, segmented.
    Chunk(RecordBatch, Range<usize>, Result<Chunk>),
    /// An output row group for an input one starts, copying the kept
    /// columns that have a source.
    GroupStart(Vec<Option<CopySource>>),
    GroupEnd,
}

/// The reader gave a batch across the input's row groups, which
/// [`ore_core::dataset::Batches::aligned_to_row_groups`] rules out.
fn misaligned(input: &Path) -> TokenizeError {
    TokenizeError::Input {
        path: input.to_path_buf(),
        message: "a batch of rows straddles the input's row groups".into(),
    }
}

/// The stage, with the tokenizer asked for when the first batch is ready.
fn run_stage<'t>(
    config: &TokenizeConfig,
    mut tokenizer: impl FnMut() -> Result<&'t Tokenizer>,
    input: &Path,
    output: &Path,
    seed: u64,
    opts: WriteOptions,
) -> Result<Manifest> {
    let dataset = Dataset::open(input)?;
    let schema = dataset.schema().clone();
    let text_field =
        schema
            .field_with_name(&config.text_column)
            .map_err(|_| TokenizeError::Input {
                path: input.to_path_buf(),
                message: format!(
                    "no `{}` column to tokenize (columns: {}); set tokenize.text_column",
                    config.text_column,
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
    if !matches!(
        text_field.data_type(),
        arrow_schema::DataType::Utf8
            | arrow_schema::DataType::LargeUtf8
            | arrow_schema::DataType::Utf8View
    ) {
        return Err(TokenizeError::Input {
            path: input.to_path_buf(),
            message: format!(
                "column `{}` is {}, not text",
                config.text_column,
                text_field.data_type()
            ),
        });
    }
    let with_title = schema.field_with_name(&config.title_column).is_ok();
    // Columns this stage writes are replaced, so rerunning on its own
    // output works.
    let kept: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !col::ALL.contains(&schema.field(i).name().as_str()))
        .collect();
    let mut fields: Vec<Field> = kept.iter().map(|&i| schema.field(i).clone()).collect();
    fields.extend(token_fields(with_title));
    let out_schema: SchemaRef = Arc::new(Schema::new(fields));

    let info = StageInfo::new("tokenize", config, seed);
    let max_group_rows = opts.row_group_rows.max(1) as u64;
    let mut out = StageOutput::create(output, out_schema.clone(), info, opts)?;
    out.add_input(&dataset)?;
    let progress = Progress::new(Some(dataset.num_rows()), "rows");
    progress.set_message("tokenize");
    let mut vocab = VocabCounter::default();
    let (mut tokens_total, mut chars_total) = (0u64, 0u64);

    // Columns this stage replaces are not even decoded.
    let kept_names: Vec<&str> = kept
        .iter()
        .map(|&i| schema.field(i).name().as_str())
        .collect();
    // Writes a segmented chunk: the rows' kept columns and their tokens.
    let mut in_group = false;
    let mut emit = |out: &mut StageOutput, piece: Piece| -> Result<()> {
        let (batch, rows, chunk) = match piece {
            Piece::GroupStart(copies) => {
                in_group = true;
                return Ok(out.start_group(copies)?);
            }
            Piece::GroupEnd => {
                in_group = false;
                return Ok(out.end_group()?);
            }
            Piece::Chunk(batch, rows, chunk) => (batch, rows, chunk?),
        };
        let mut columns = batch.slice(rows.start, rows.len()).columns().to_vec();
        columns.extend(chunk.columns);
        let batch = RecordBatch::try_new(out_schema.clone(), columns)?;
        if in_group {
            out.write_in_group(&batch)?;
        } else {
            out.write(&batch)?;
        }
        if let Some(partial) = chunk.vocab {
            vocab.merge(partial);
        }
        tokens_total += chunk.tokens;
        chars_total += chunk.chars;
        progress.inc(rows.len() as u64);
        Ok(())
    };
    // With `copy_columns`, each row group of the input becomes one of the
    // output, which copies the kept columns where the group's text has no
    // nulls (no row is dropped) and the group is at most COPY_GROUP_BYTES;
    // other groups are cut at ore's row bound. The batches are read so that
    // none straddles two input groups.
    let mut groups = dataset
        .row_groups()
        .into_iter()
        .filter(|&(_, _, rows)| rows > 0);
    let (mut group_left, mut group_rows, mut copying) = (0u64, 0u64, false);
    // Reading (decompressing, validating UTF-8) runs ahead on its own
    // thread. Each batch is cut into chunks that the pool segments while
    // this thread reads the next batch and writes finished chunks in order:
    // no thread waits for a batch's last chunk before starting the next.
    let max_queued = 2 * chunks_per_batch() as u64;
    let mut order: InOrder<Piece> = InOrder::default();
    let mut batches = dataset
        .batches_of(&kept_names, config.batch_rows)?
        .read_ahead(READ_AHEAD);
    if config.copy_columns {
        batches = batches.aligned_to_row_groups();
    }
    rayon::in_place_scope(|scope| -> Result<()> {
        batches.for_each_prefetched(|batch| -> Result<()> {
            let n = batch.num_rows();
            let first_row = out.counts().input;
            if config.copy_columns {
                if group_left == 0 {
                    let (file, group, rows) = groups.next().ok_or_else(|| misaligned(input))?;
                    group_left = rows;
                    copying = dataset.null_count(file, group, &config.text_column) == Some(0)
                        && dataset
                            .row_group_bytes(file, group)
                            .is_some_and(|bytes| bytes <= COPY_GROUP_BYTES);
                    let copies = if copying {
                        dataset.copy_sources(file, group, &kept_names)?
                    } else {
                        Vec::new()
                    };
                    order.submit().send(Piece::GroupStart(copies));
                    group_rows = 0;
                } else if !copying && group_rows + n as u64 > max_group_rows {
                    // A group that is encoded anyway closes at ore's bound.
                    order.submit().send(Piece::GroupEnd);
                    order.submit().send(Piece::GroupStart(Vec::new()));
                    group_rows = 0;
                }
                group_left = group_left
                    .checked_sub(n as u64)
                    .ok_or_else(|| misaligned(input))?;
                group_rows += n as u64;
            }
            out.count_input(n as u64);
            let texts = StrColumn::of(&batch, &config.text_column, input)?;
            let has_text: BooleanArray = (0..n).map(|i| Some(texts.get(i).is_some())).collect();
            let batch = if has_text.true_count() < n {
                let no_text: BooleanArray = (0..n).map(|i| Some(texts.get(i).is_none())).collect();
                let missing = arrow_select::filter::filter_record_batch(&batch, &no_text)?;
                out.reject_all(
                    &missing,
                    NULL_TEXT,
                    Some(&format!("`{}` is null", config.text_column)),
                )?;
                progress.inc(missing.num_rows() as u64);
                arrow_select::filter::filter_record_batch(&batch, &has_text)?
            } else {
                batch
            };
            let tokenizer = tokenizer()?;
            for rows in chunk_ranges(batch.num_rows()) {
                let (batch, ticket) = (batch.clone(), order.submit());
                scope.spawn(move |_| {
                    let chunk = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        tokenizer.annotate_chunk(&batch, with_title, input, rows.clone())
                    }))
                    .unwrap_or_else(|_| {
                        Err(TokenizeError::Input {
                            path: input.to_path_buf(),
                            message: format!(
                                "segmenting input rows {first_row}..{} panicked",
                                first_row + n as u64
                            ),
                        })
                    });
                    ticket.send(Piece::Chunk(batch, rows, chunk));
                });
            }
            if config.copy_columns && group_left == 0 {
                order.submit().send(Piece::GroupEnd);
            }
            // Write what is done; wait only while two batches are queued.
            while let Some(piece) = order.next(order.pending() > max_queued) {
                emit(&mut out, piece)?;
            }
            Ok(())
        })?;
        while let Some(piece) = order.next(true) {
            emit(&mut out, piece)?;
        }
        Ok(())
    })?;
    progress.finish();
    // An input without batches still checks the dictionaries.
    tokenizer()?;

    if config.vocab.enabled {
        let entries = vocab.finish(&config.vocab);
        out.set_summary("vocab_size", serde_json::json!(entries.len()));
        out.write_side(VOCAB_DIR, &vocab_batch(&entries)?)?;
    }
    out.set_summary("tokens", serde_json::json!(tokens_total));
    out.set_summary("chars_tokenized", serde_json::json!(chars_total));
    Ok(out.commit()?)
}

/// The token columns of a run of rows, with what the manifest and the
/// vocabulary need from them.
struct Chunk {
    columns: Vec<ArrayRef>,
    vocab: Option<VocabCounter>,
    tokens: u64,
    chars: u64,
}

/// Chunks a batch is cut into: a few per thread, so that a run of long
/// texts does not hold up the others and the writer gets rows early.
fn chunks_per_batch() -> usize {
    4 * rayon::current_num_threads()
}

/// Rows `0..n` cut into [`chunks_per_batch`] chunks. The output is the same
/// whatever the cut.
fn chunk_ranges(n: usize) -> Vec<Range<usize>> {
    let size = n.div_ceil(chunks_per_batch()).max(1);
    // An empty batch still makes one (empty) chunk, so it is written.
    (0..n.max(1))
        .step_by(size)
        .map(|s| s..(s + size).min(n))
        .collect()
}
