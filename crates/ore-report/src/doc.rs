//! The report as a document: sections of paragraphs, tables and charts,
//! rendered to HTML and Markdown by [`crate::render`], and the figures of
//! each section, which become `report.json`.

use serde::Serialize;

use crate::diff::Piece;

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A whole number.
    Int(u64),
    /// A number with this many decimals.
    Num(f64, usize),
    /// A diff, shown with `<del>`/`<ins>`.
    Diff(Vec<Piece>),
    /// Text shown in a monospace font (ids, hashes, paths).
    Code(String),
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Self {
        Cell::Text(t.into())
    }

    pub fn code(t: impl Into<String>) -> Self {
        Cell::Code(t.into())
    }

    /// `Num`, or an en dash for `None`.
    pub fn opt(v: Option<f64>, decimals: usize) -> Self {
        v.map_or_else(|| Cell::text("–"), |v| Cell::Num(v, decimals))
    }
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A subsection heading.
    Heading(String),
    Para(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
    /// An inline SVG chart; `numbers` is what Markdown shows instead.
    Chart {
        title: String,
        svg: String,
        numbers: String,
    },
}

/// One numbered section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Key in `report.json` and HTML anchor.
    pub id: &'static str,
    pub title: String,
    #[serde(skip)]
    pub blocks: Vec<Block>,
    /// The section's measured figures.
    pub figures: serde_json::Value,
}

impl Section {
    pub fn new(id: &'static str, title: impl Into<String>) -> Self {
        Self {
            id,
            title: title.into(),
            blocks: Vec::new(),
            figures: serde_json::Value::Null,
        }
    }

    pub fn heading(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Heading(text.into()));
    }

    pub fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }

    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<Cell>>) {
        self.blocks.push(Block::Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        });
    }

    pub fn chart(&mut self, title: impl Into<String>, svg: String, numbers: impl Into<String>) {
        self.blocks.push(Block::Chart {
            title: title.into(),
            svg,
            numbers: numbers.into(),
        });
    }

    /// How many charts the section holds.
    pub fn charts(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| matches!(b, Block::Chart { .. }))
            .count()
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The pipeline's name.
    pub pipeline: String,
    /// The pipeline file, as given.
    pub pipeline_file: String,
    pub sections: Vec<Section>,
}

impl Report {
    /// `report.json`: the pipeline, the number of charts, and each
    /// section's figures under its id.
    pub fn json(&self) -> serde_json::Value {
        let mut sections = serde_json::Map::new();
        for s in &self.sections {
            sections.insert(
                s.id.to_string(),
                serde_json::json!({"title": s.title, "charts": s.charts(), "figures": s.figures}),
            );
        }
        serde_json::json!({
            "pipeline": self.pipeline,
            "pipeline_file": self.pipeline_file,
            "charts": self.sections.iter().map(Section::charts).sum::<usize>(),
            "sections": sections,
        })
    }
}
