//! Builds the token columns (`tokens`, `token_starts`, `token_ends`, `pos`,
//! `entities`, `title_tokens`) row by row.
//!
//! The stage segments each text into a reused [`RowTokens`] (one buffer for
//! all the row's token text, no string per token) and appends it to a
//! [`TokenColumns`], which copies the bytes into the Arrow builders.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder, UInt32Builder};
use arrow_array::{ArrayRef, ListArray, StringArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field};
use ore_core::schema::{entities_type, tokens as col, u32_list_type, utf8_list_type};

use crate::entities::Entity;
use crate::segment::{Segmented, TokenSink};

/// One annotated row.
#[derive(Debug, Clone, Default)]
pub struct TokenRow {
    pub text: Segmented,
    /// `None` when POS tags were not computed (they are then null).
    pub has_pos: bool,
    pub entities: Vec<Entity>,
    pub title: Option<Vec<String>>,
}

/// The tokens of one text in reusable buffers: the token strings end to end
/// in one `String`, so segmenting a text allocates nothing once the buffers
/// have grown.
#[derive(Debug, Default)]
pub struct RowTokens {
    text: String,
    /// Bytes of the segmented text that hold the latest tokens, end to end,
    /// not yet copied to `text` (see [`TokenSink::text_token`]).
    pending: Option<Range<usize>>,
    /// Byte end of each token in `text`.
    bounds: Vec<usize>,
    starts: Vec<u32>,
    ends: Vec<u32>,
    pos: String,
    /// Byte end of each tag in `pos` (empty when tagging is off).
    pos_bounds: Vec<usize>,
}

impl RowTokens {
    /// Empties the buffers, keeping their capacity.
    pub fn clear(&mut self) {
        self.text.clear();
        self.pending = None;
        self.bounds.clear();
        self.starts.clear();
        self.ends.clear();
        self.pos.clear();
        self.pos_bounds.clear();
    }

    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The tokens, in order.
    pub fn tokens(&self) -> impl ExactSizeIterator<Item = &str> {
        slices(&self.text, &self.bounds)
    }

    /// The POS tags, in order (none when tagging is off).
    pub fn pos(&self) -> impl ExactSizeIterator<Item = &str> {
        slices(&self.pos, &self.pos_bounds)
    }

    /// Character offset of each token's start.
    pub fn starts(&self) -> &[u32] {
        &self.starts
    }

    /// Character offset of each token's end (exclusive).
    pub fn ends(&self) -> &[u32] {
        &self.ends
    }
}

fn slices<'a>(text: &'a str, bounds: &'a [usize]) -> impl ExactSizeIterator<Item = &'a str> {
    bounds.iter().enumerate().map(move |(i, &end)| {
        let start = if i == 0 { 0 } else { bounds[i - 1] };
        &text[start..end]
    })
}

impl TokenSink for RowTokens {
    #[inline]
    fn token(&mut self, word: &str, start: u32, end: u32, tag: Option<&str>) {
        debug_assert!(self.pending.is_none(), "a token before the flush");
        self.text.push_str(word);
        self.bounds.push(self.text.len());
        self.push_rest(start, end, tag);
    }

    /// Adjacent tokens extend one pending run of the text, copied when the
    /// next token is not adjacent or at the flush: one copy per run
    /// instead of one per token.
    #[inline]
    fn text_token(
        &mut self,
        text: &str,
        bytes: Range<usize>,
        start: u32,
        end: u32,
        tag: Option<&str>,
    ) {
        let run_len = match &mut self.pending {
            Some(run) if run.end == bytes.start => {
                run.end = bytes.end;
                run.len()
            }
            _ => {
                self.flush(text);
                self.pending.insert(bytes).len()
            }
        };
        self.bounds.push(self.text.len() + run_len);
        self.push_rest(start, end, tag);
    }

    fn flush(&mut self, text: &str) {
        if let Some(run) = self.pending.take() {
            self.text.push_str(&text[run]);
        }
    }
}

impl RowTokens {
    #[inline]
    fn push_rest(&mut self, start: u32, end: u32, tag: Option<&str>) {
        self.starts.push(start);
        self.ends.push(end);
        if let Some(tag) = tag {
            self.pos.push_str(tag);
            self.pos_bounds.push(self.pos.len());
        }
    }
}

/// The fields the stage appends, in order (`title_tokens` only with titles).
pub fn token_fields(with_title: bool) -> Vec<Field> {
    let mut fields = vec![
        Field::new(col::TOKENS, utf8_list_type(), false),
        Field::new(col::TOKEN_STARTS, u32_list_type(), false),
        Field::new(col::TOKEN_ENDS, u32_list_type(), false),
        Field::new(col::POS, utf8_list_type(), true),
        Field::new(col::ENTITIES, entities_type(), false),
    ];
    if with_title {
        fields.push(Field::new(col::TITLE_TOKENS, utf8_list_type(), true));
    }
    fields
}

fn entity_fields() -> arrow_schema::Fields {
    match entities_type() {
        DataType::List(item) => match item.data_type() {
            DataType::Struct(fields) => fields.clone(),
            _ => arrow_schema::Fields::empty(),
        },
        _ => arrow_schema::Fields::empty(),
    }
}

/// Builders of the [`token_fields`] columns, filled a row at a time.
#[derive(Debug)]
pub struct TokenColumns {
    tokens: WordLists,
    starts: ListBuilder<UInt32Builder>,
    ends: ListBuilder<UInt32Builder>,
    pos: ListBuilder<StringBuilder>,
    entities: ListBuilder<StructBuilder>,
    titles: Option<ListBuilder<StringBuilder>>,
}

impl TokenColumns {
    pub fn new(with_title: bool) -> Self {
        let fields = entity_fields();
        Self {
            tokens: WordLists::default(),
            starts: ListBuilder::new(UInt32Builder::new()).with_field(item(DataType::UInt32)),
            ends: ListBuilder::new(UInt32Builder::new()).with_field(item(DataType::UInt32)),
            pos: ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8)),
            entities: ListBuilder::new(StructBuilder::from_fields(fields.clone(), 0))
                .with_field(Arc::new(Field::new("item", DataType::Struct(fields), true))),
            titles: with_title
                .then(|| ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8))),
        }
    }

    /// Appends a row; its `pos` is null unless `has_pos`.
    ///
    /// Panics if `row` still holds tokens not copied (its
    /// [`TokenSink::flush`] was not called after the last token).
    pub fn push_row(&mut self, row: &RowTokens, has_pos: bool, entities: &[Entity]) {
        assert!(
            row.pending.is_none(),
            "RowTokens::flush must be called before its row is pushed"
        );
        self.tokens.push_joined(&row.text, &row.bounds);
        self.push_parts(&row.starts, &row.ends, has_pos.then(|| row.pos()), entities);
    }

    /// Appends a row given as owned strings (the importers' form).
    pub fn push_segmented(&mut self, row: &Segmented, has_pos: bool, entities: &[Entity]) {
        self.tokens.push(row.tokens.iter().map(String::as_str));
        self.push_parts(
            &row.starts,
            &row.ends,
            has_pos.then(|| row.pos.iter().map(String::as_str)),
            entities,
        );
    }

    /// The columns of a row after its `tokens`.
    fn push_parts<'a>(
        &mut self,
        starts: &[u32],
        ends: &[u32],
        pos: Option<impl Iterator<Item = &'a str>>,
        entities: &[Entity],
    ) {
        self.starts.values().append_slice(starts);
        self.starts.append(true);
        self.ends.values().append_slice(ends);
        self.ends.append(true);
        match pos {
            Some(tags) => {
                for p in tags {
                    self.pos.values().append_value(p);
                }
                self.pos.append(true);
            }
            None => self.pos.append_null(),
        }
        for e in entities {
            let s = self.entities.values();
            if let Some(b) = s.field_builder::<UInt32Builder>(0) {
                b.append_value(e.start);
            }
            if let Some(b) = s.field_builder::<UInt32Builder>(1) {
                b.append_value(e.end);
            }
            if let Some(b) = s.field_builder::<StringBuilder>(2) {
                b.append_value(&e.label);
            }
            s.append(true);
        }
        self.entities.append(true);
    }

    /// Appends the row's title tokens (null for a row without a title). Does
    /// nothing when the columns have no `title_tokens`.
    pub fn push_title<'a>(&mut self, title: Option<impl Iterator<Item = &'a str>>) {
        let Some(titles) = &mut self.titles else {
            return;
        };
        match title {
            Some(tokens) => {
                for t in tokens {
                    titles.values().append_value(t);
                }
                titles.append(true);
            }
            None => titles.append_null(),
        }
    }

    /// The arrays of [`token_fields`], in order.
    pub fn finish(mut self) -> Vec<ArrayRef> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.tokens.finish()),
            Arc::new(self.starts.finish()),
            Arc::new(self.ends.finish()),
            Arc::new(self.pos.finish()),
            Arc::new(self.entities.finish()),
        ];
        if let Some(mut titles) = self.titles {
            columns.push(Arc::new(titles.finish()));
        }
        columns
    }
}

/// The `tokens` column: each row's words are appended as one copy of the
/// row's joined text and its word ends, where a `ListBuilder<StringBuilder>`
/// would take them word by word.
#[derive(Debug)]
struct WordLists {
    values: String,
    /// Byte end of each word in `values`, after a leading 0.
    value_offsets: Vec<i32>,
    /// Word count so far at the end of each row, after a leading 0.
    row_offsets: Vec<i32>,
}

impl Default for WordLists {
    fn default() -> Self {
        Self {
            values: String::new(),
            value_offsets: vec![0],
            row_offsets: vec![0],
        }
    }
}

impl WordLists {
    /// Appends a row whose words are `text` cut at the byte ends `bounds`.
    ///
    /// Panics unless `bounds` rise and each falls on a char boundary of
    /// `text` (one check a token): [`WordLists::finish`] relies on it.
    fn push_joined(&mut self, text: &str, bounds: &[usize]) {
        let mut previous = 0;
        for &end in bounds {
            assert!(
                end >= previous && text.is_char_boundary(end),
                "token bounds must rise and fall on char boundaries of the text (byte {end} of {})",
                text.len()
            );
            previous = end;
        }
        let base = self.values.len();
        self.values.push_str(text);
        self.value_offsets
            .extend(bounds.iter().map(|&end| offset(base + end)));
        self.end_row();
    }

    /// Appends a row of words.
    fn push<'a>(&mut self, words: impl Iterator<Item = &'a str>) {
        for word in words {
            self.values.push_str(word);
            self.value_offsets.push(offset(self.values.len()));
        }
        self.end_row();
    }

    fn end_row(&mut self) {
        self.row_offsets.push(offset(self.value_offsets.len() - 1));
    }

    fn finish(self) -> ListArray {
        let offsets = OffsetBuffer::new(self.value_offsets.into());
        // SAFETY: `values` is a `String`; every offset ends a `&str`
        // appended to it by `push`, or is a bound that `push_joined` checked
        // to rise and fall on a char boundary of the text it appended, so
        // each word is valid UTF-8. Validating the whole buffer again would
        // cost as much as appending word by word saves.
        #[allow(unsafe_code)]
        let words =
            unsafe { StringArray::new_unchecked(offsets, self.values.into_bytes().into(), None) };
        ListArray::new(
            item(DataType::Utf8),
            OffsetBuffer::new(self.row_offsets.into()),
            Arc::new(words),
            None,
        )
    }
}

/// An Arrow offset; like `StringBuilder`, a batch holds under 2 GiB of words.
fn offset(n: usize) -> i32 {
    i32::try_from(n).expect("a batch's words exceed 2 GiB")
}

/// The arrays of [`token_fields`] for `rows`.
pub fn token_columns(rows: &[TokenRow], with_title: bool) -> Vec<ArrayRef> {
    let mut columns = TokenColumns::new(with_title);
    for row in rows {
        columns.push_segmented(&row.text, row.has_pos, &row.entities);
        columns.push_title(row.title.as_ref().map(|t| t.iter().map(String::as_str)));
    }
    columns.finish()
}

fn item(dt: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", dt, true))
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    use super::*;

    fn tokens_of(columns: &[ArrayRef]) -> Vec<String> {
        let list = columns[0].as_list::<i32>();
        let words = list.value(0);
        words
            .as_string::<i32>()
            .iter()
            .map(|w| w.unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn adjacent_text_tokens_are_copied_as_one_run() {
        let text = "北京天安门";
        let mut row = RowTokens::default();
        row.text_token(text, 0..6, 0, 2, None);
        row.text_token(text, 6..15, 2, 5, None);
        row.flush(text);
        let mut columns = TokenColumns::new(false);
        columns.push_row(&row, false, &[]);
        let arrays = columns.finish();
        assert_eq!(arrays[0].len(), 1);
        assert_eq!(tokens_of(&arrays), ["北京", "天安门"]);
    }

    /// Safe code once could end a token inside a character and reach the
    /// unchecked UTF-8 array: it must panic instead.
    #[test]
    #[should_panic(expected = "char boundaries")]
    fn a_token_ending_inside_a_character_is_refused() {
        let text = "北京";
        let mut row = RowTokens::default();
        row.text_token(text, 0..2, 0, 1, None);
        row.text_token(text, 2..6, 1, 2, None);
        row.flush(text);
        TokenColumns::new(false).push_row(&row, false, &[]);
    }

    #[test]
    #[should_panic(expected = "flush")]
    fn a_row_pushed_before_its_flush_is_refused() {
        let text = "北京";
        let mut row = RowTokens::default();
        row.text_token(text, 0..6, 0, 2, None);
        TokenColumns::new(false).push_row(&row, false, &[]);
    }
}
