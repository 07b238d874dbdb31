//! Builds the token columns (`tokens`, `token_starts`, `token_ends`, `pos`,
//! `entities`, `title_tokens`) from per-row results.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder, UInt32Builder};
use arrow_schema::{DataType, Field};
use ore_core::schema::{entities_type, tokens as col, u32_list_type, utf8_list_type};

use crate::entities::Entity;
use crate::segment::Segmented;

/// One annotated row.
#[derive(Debug, Clone, Default)]
pub struct TokenRow {
    pub text: Segmented,
    /// `None` when POS tags were not computed (they are then null).
    pub has_pos: bool,
    pub entities: Vec<Entity>,
    pub title: Option<Vec<String>>,
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

/// The arrays of [`token_fields`] for `rows`.
pub fn token_columns(rows: &[TokenRow], with_title: bool) -> Vec<ArrayRef> {
    let mut tokens = ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8));
    let mut starts = ListBuilder::new(UInt32Builder::new()).with_field(item(DataType::UInt32));
    let mut ends = ListBuilder::new(UInt32Builder::new()).with_field(item(DataType::UInt32));
    let mut pos = ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8));
    let fields = entity_fields();
    let mut entities = ListBuilder::new(StructBuilder::from_fields(fields.clone(), 0))
        .with_field(Arc::new(Field::new("item", DataType::Struct(fields), true)));
    let mut titles = ListBuilder::new(StringBuilder::new()).with_field(item(DataType::Utf8));
    for row in rows {
        for t in &row.text.tokens {
            tokens.values().append_value(t);
        }
        tokens.append(true);
        starts.values().append_slice(&row.text.starts);
        starts.append(true);
        ends.values().append_slice(&row.text.ends);
        ends.append(true);
        if row.has_pos {
            for p in &row.text.pos {
                pos.values().append_value(p);
            }
            pos.append(true);
        } else {
            pos.append_null();
        }
        for e in &row.entities {
            let s = entities.values();
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
        entities.append(true);
        match &row.title {
            Some(title) => {
                for t in title {
                    titles.values().append_value(t);
                }
                titles.append(true);
            }
            None => titles.append_null(),
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(tokens.finish()),
        Arc::new(starts.finish()),
        Arc::new(ends.finish()),
        Arc::new(pos.finish()),
        Arc::new(entities.finish()),
    ];
    if with_title {
        columns.push(Arc::new(titles.finish()));
    }
    columns
}

fn item(dt: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", dt, true))
}
