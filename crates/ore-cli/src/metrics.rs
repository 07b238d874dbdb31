//! `ore metrics`: BLEU and ROUGE of a hypothesis file against reference
//! files, one sentence a line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ore_eval::{
    BleuTokenize, EvalConfig, Lang, RougeTokenizer, evaluate, paired_bootstrap_bleu, rouge,
};
use serde_json::json;

/// Arguments of `ore metrics`.
#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// System output: one UTF-8 sentence a line.
    #[arg(long, value_name = "FILE")]
    hyp: PathBuf,

    /// Reference file, as many lines as --hyp. Repeat for several references
    /// per sentence (BLEU clips against all; ROUGE takes the best).
    #[arg(long = "ref", value_name = "FILE", required = true)]
    refs: Vec<PathBuf>,

    /// Language of the text: `zh` uses BLEU tokenizer `zh` and ROUGE over
    /// characters; `en` uses `13a` and rouge-score's default tokenizer.
    #[arg(long, value_name = "LANG", default_value = "zh")]
    lang: Lang,

    /// Override the BLEU tokenizer: 13a, zh, char or none.
    #[arg(long, value_name = "TOK")]
    tokenize: Option<BleuTokenize>,

    /// Lowercase before BLEU (sacrebleu's `-lc`).
    #[arg(long)]
    lowercase: bool,

    /// Porter-stem English words for ROUGE (rouge-score's `use_stemmer`).
    #[arg(long)]
    stem: bool,

    /// Also report a bootstrap confidence interval for ROUGE with this many
    /// resamples (rouge-score's BootstrapAggregator uses 1000).
    #[arg(long, value_name = "N")]
    bootstrap: Option<usize>,

    /// Compare with a baseline system's output by paired bootstrap
    /// resampling of BLEU (as sacrebleu's --paired-bs).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,

    /// Resamples for --baseline.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    paired_samples: usize,

    /// Seed for the resampling.
    #[arg(long, value_name = "N", default_value_t = 12345)]
    seed: u64,

    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Reads one sentence a line; a final newline does not add an empty line.
fn read_lines(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            bail!("{}: line {line}: not valid UTF-8", path.display());
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    Ok(lines)
}

pub(crate) fn run(args: &MetricsArgs) -> Result<String> {
    let hyps = read_lines(&args.hyp)?;
    let mut refs = Vec::with_capacity(args.refs.len());
    for path in &args.refs {
        let lines = read_lines(path)?;
        if lines.len() != hyps.len() {
            bail!(
                "{} has {} lines but {} has {}: hypotheses and references must align line by line",
                args.hyp.display(),
                hyps.len(),
                path.display(),
                lines.len()
            );
        }
        refs.push(lines);
    }
    let mut config = EvalConfig::for_lang(args.lang);
    if let Some(tokenize) = args.tokenize {
        config.bleu.tokenize = tokenize;
    }
    config.bleu.lowercase = args.lowercase;
    if args.stem {
        match config.rouge {
            RougeTokenizer::Default { .. } => config.rouge = RougeTokenizer::Default { stem: true },
            RougeTokenizer::Chars => {
                bail!("--stem applies to English (--lang en); Chinese ROUGE uses characters")
            }
        }
    }
    let report = evaluate(&config, &hyps, &refs)?;
    let interval = match args.bootstrap {
        Some(n) => {
            let scores = ore_eval::rouge_scores(config.rouge, &hyps, &refs)?;
            Some(rouge::bootstrap(&scores, n, 0.95, args.seed))
        }
        None => None,
    };
    let paired = match &args.baseline {
        Some(path) => {
            let baseline = read_lines(path)?;
            if baseline.len() != hyps.len() {
                bail!(
                    "{} has {} lines but {} has {}",
                    path.display(),
                    baseline.len(),
                    args.hyp.display(),
                    hyps.len()
                );
            }
            Some(paired_bootstrap_bleu(
                &config.bleu,
                &baseline,
                &hyps,
                &refs,
                args.paired_samples,
                args.seed,
            )?)
        }
        None => None,
    };

    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(ci) = &interval {
            value["rouge_bootstrap"] = json!({"confidence": 0.95, "samples": args.bootstrap, "low": ci.low, "mid": ci.mid, "high": ci.high});
        }
        if let Some(p) = &paired {
            value["paired_bootstrap"] = serde_json::to_value(p)?;
        }
        let mut text = serde_json::to_string_pretty(&value)?;
        text.push('\n');
        return Ok(text);
    }

    let b = &report.bleu;
    let precisions: Vec<String> = b.precisions.iter().map(|p| format!("{p:.1}")).collect();
    let ratio = if b.ref_len > 0 {
        b.sys_len as f64 / b.ref_len as f64
    } else {
        0.0
    };
    let mut out = format!(
        "{} sentences, {} reference set{}\n\nBLEU = {:.2} {} (BP = {:.3} ratio = {ratio:.3} hyp_len = {} ref_len = {})\n  {}\n\n",
        hyps.len(),
        refs.len(),
        if refs.len() == 1 { "" } else { "s" },
        b.score,
        precisions.join("/"),
        b.bp,
        b.sys_len,
        b.ref_len,
        b.signature
    );
    out.push_str("          precision  recall     F1\n");
    for (name, s) in [
        ("ROUGE-1", report.rouge1),
        ("ROUGE-2", report.rouge2),
        ("ROUGE-L", report.rouge_l),
    ] {
        out.push_str(&format!(
            "{name}   {:.4}     {:.4}     {:.4}\n",
            s.precision, s.recall, s.fmeasure
        ));
    }
    if let Some(ci) = interval {
        out.push_str(&format!(
            "\nROUGE F1, 95% bootstrap interval ({} resamples):\n",
            args.bootstrap.unwrap_or(0)
        ));
        for (name, lo, mid, hi) in [
            ("ROUGE-1", ci.low.rouge1, ci.mid.rouge1, ci.high.rouge1),
            ("ROUGE-2", ci.low.rouge2, ci.mid.rouge2, ci.high.rouge2),
            ("ROUGE-L", ci.low.rouge_l, ci.mid.rouge_l, ci.high.rouge_l),
        ] {
            out.push_str(&format!(
                "{name}   {:.4} [{:.4}, {:.4}]\n",
                mid.fmeasure, lo.fmeasure, hi.fmeasure
            ));
        }
    }
    if let Some(p) = paired {
        out.push_str(&format!(
            "\nPaired bootstrap ({} resamples) against {}:\n  baseline BLEU {:.2}, system BLEU {:.2} (μ = {:.2} ± {:.2}), p = {:.4}{}\n",
            p.n_samples,
            args.baseline.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default(),
            p.baseline,
            p.system,
            p.system_mean,
            p.system_ci,
            p.p_value,
            if p.p_value < 0.05 { " (significant at 0.05)" } else { "" }
        ));
    }
    Ok(out)
}
