//! Translators for the back-translation op: the `http` backend here, the
//! `model` backend through [`ore_core::translate`] (registered by the
//! binary that links libtorch).

pub mod http;

pub use http::{HttpStats, HttpTranslator, HttpTranslatorConfig};
