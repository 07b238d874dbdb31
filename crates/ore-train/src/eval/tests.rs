use super::*;

fn example(id: usize, src: &str, tgt: &str) -> Example {
    let chars = |s: &str| s.chars().map(String::from).collect::<Vec<_>>();
    Example {
        example_id: format!("e{id}"),
        source_id: format!("doc{id}"),
        src: chars(src),
        tgt: chars(tgt),
        tgt_text: tgt.to_string(),
        src_text: src.to_string(),
    }
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(String::from).collect()
}

#[test]
fn detokenize_joins_chinese_directly_and_spaces_latin_runs() {
    assert_eq!(detokenize(&words("我 爱 北京"), Lang::Zh), "我爱北京");
    assert_eq!(
        detokenize(&words("用 LibreOffice 7 打开"), Lang::Zh),
        "用LibreOffice 7打开"
    );
    assert_eq!(
        detokenize(&words("Open the file ."), Lang::En),
        "Open the file."
    );
    assert_eq!(detokenize(&[], Lang::Zh), "");
    assert_eq!(
        detokenize(&words("Choose Tools - Options ( all ) ."), Lang::En),
        "Choose Tools - Options (all)."
    );
    assert_eq!(
        detokenize(&words("it 's <unk> done ,"), Lang::En),
        "it's done,"
    );
    assert_eq!(
        detokenize(&words("Choose \" Handouts \" or \" Notes \" ."), Lang::En),
        "Choose \"Handouts\" or \"Notes\"."
    );
    assert_eq!(
        detokenize(&words("选 择 Writer 10 。"), Lang::Zh),
        "选择Writer 10。"
    );
}

#[test]
fn language_is_detected_from_the_references_script() {
    assert_eq!(detect_lang(&["人民日报社论", "新年献词"]), Lang::Zh);
    assert_eq!(detect_lang(&["The quick brown fox"]), Lang::En);
    // A third Han letters is enough: headlines mix in Latin names.
    assert_eq!(detect_lang(&["WTO 成员国"]), Lang::Zh);
    assert_eq!(resolve_lang("en", &["人民"]).expect("en"), Lang::En);
    assert!(resolve_lang("fr", &["x"]).is_err());
}

#[test]
fn held_out_rows_are_scored_and_never_tuned_on() {
    let all: Vec<Example> = (0..500)
        .map(|i| example(i, "今天天气很好", "天气"))
        .collect();
    let (eval, tune) = held_out_rows(all.clone(), 0.1);
    assert!(
        !eval.is_empty() && eval.len() < 100,
        "{} held out",
        eval.len()
    );
    let scored: std::collections::BTreeSet<&str> =
        eval.iter().map(|e| e.example_id.as_str()).collect();
    assert!(tune.iter().all(|e| !scored.contains(e.example_id.as_str())));
    assert_eq!(eval.len() + tune.len(), all.len());
    // The same rows as the model held out for validation.
    assert!(eval.iter().all(|e| data::is_held_out(&e.source_id, 0.1)));
}

#[test]
fn tuning_rows_are_capped_and_spread_over_the_training_rows() {
    let all: Vec<Example> = (0..5000).map(|i| example(i, "甲乙", "甲")).collect();
    let (_, tune) = held_out_rows(all, 0.1);
    assert!(tune.len() <= MAX_TUNE_ROWS, "{}", tune.len());
    assert!(tune.len() > MAX_TUNE_ROWS / 2, "{}", tune.len());
    let last: usize = tune.last().expect("rows").example_id[1..]
        .parse()
        .expect("id");
    assert!(last > 4000, "tuning rows reach the end of the data: {last}");
}

#[test]
fn lead_takes_the_first_k_units() {
    let rows = [example(0, "北京今天下雨", "下雨"), example(1, "短", "短")];
    assert_eq!(lead(&rows, 2, Units::Chars, Lang::Zh), ["北京", "短"]);
}

#[test]
fn lead_length_is_tuned_on_the_tuning_rows_only() {
    let metrics = ore_eval::EvalConfig::for_lang(Lang::Zh);
    // Targets are the first four characters of the source in the tuning
    // rows, and the first one in the scored rows: tuning must see only the
    // former.
    let tune: Vec<Example> = (0..40)
        .map(|i| example(i, "人民日报社论新年献词", "人民日报"))
        .collect();
    let scored: Vec<Example> = (0..40)
        .map(|i| example(100 + i, "人民日报社论新年献词", "人"))
        .collect();
    assert_eq!(
        tune_lead(&metrics, &tune, Units::Chars, Lang::Zh).expect("k"),
        4
    );
    assert_eq!(
        tune_lead(&metrics, &scored, Units::Chars, Lang::Zh).expect("k"),
        1
    );
}

#[test]
fn predictions_follow_the_schema() {
    let rows = [example(0, "源文本", "目标")];
    let scores = [ExampleScores {
        bleu: 12.5,
        rouge1: 0.5,
        rouge2: 0.25,
        rouge_l: 0.5,
    }];
    let batch = predictions_batch(&rows, &["目".to_string()], &scores).expect("batch");
    assert_eq!(batch.schema(), ore_core::schema::predictions_schema());
    assert_eq!(batch.num_rows(), 1);
}

#[test]
fn config_rejects_unknown_languages_and_zero_batches() {
    EvalConfig::default().validate().expect("default");
    let bad = EvalConfig {
        lang: "de".into(),
        ..EvalConfig::default()
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("lang `de`")
    );
    let bad = EvalConfig {
        batch_size: 0,
        ..EvalConfig::default()
    };
    assert!(bad.validate().is_err());
}
