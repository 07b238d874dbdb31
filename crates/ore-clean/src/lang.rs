//! Language identification with whatlang, reported as ISO 639-1 codes where
//! one exists (`zh`, `en`, `ja`, …) and ISO 639-3 otherwise.

/// The language of a text and whatlang's confidence (0–1); `und` when
/// nothing could be detected.
pub fn detect(text: &str) -> (String, f64) {
    // The first few hundred characters decide; long documents cost no more.
    let sample: String = text.chars().take(400).collect();
    match whatlang::detect(&sample) {
        Some(info) => (iso639_1(info.lang().code()).to_string(), info.confidence()),
        None => ("und".to_string(), 0.0),
    }
}

fn iso639_1(code: &'static str) -> &'static str {
    match code {
        "cmn" => "zh",
        "eng" => "en",
        "jpn" => "ja",
        "kor" => "ko",
        "fra" => "fr",
        "deu" => "de",
        "spa" => "es",
        "por" => "pt",
        "rus" => "ru",
        "ita" => "it",
        "nld" => "nl",
        "ara" => "ar",
        "vie" => "vi",
        "tha" => "th",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english() {
        let (zh, conf) = detect("今天天气很好，我们一起去公园散步吧。");
        assert_eq!(zh, "zh");
        assert!(conf > 0.5);
        assert_eq!(
            detect("The quick brown fox jumps over the lazy dog and keeps running.").0,
            "en"
        );
        assert_eq!(detect("").0, "und");
    }
}
