//! Batched greedy and beam-search decoding, for one model or an ensemble
//! whose members' log-probabilities are averaged at every step.

use tch::{Device, Kind, Tensor};

use crate::data::{self, Example};
use crate::error::{ModelError, Result};
use crate::model::{Memory, State};
use crate::train::{Trained, batch_tensors};
use crate::vocab::{BOS_ID, EOS_ID};

/// How to decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// 1 is greedy.
    pub beam: usize,
    /// Longest output in units (`<eos>` not counted).
    pub max_len: usize,
    /// Finished beams are ranked by `score / length^alpha`.
    pub length_penalty: f64,
    /// Forbid repeating any n-gram of this size (0: off).
    pub no_repeat_ngram: usize,
    /// No `<eos>` before this many units (0: off).
    pub min_len: usize,
    pub batch_size: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            beam: 1,
            max_len: 30,
            length_penalty: 1.0,
            no_repeat_ngram: 0,
            min_len: 0,
            batch_size: 64,
        }
    }
}

/// Checks that ensemble members can be combined: same vocabularies and the
/// same units, so their distributions are over the same outputs.
pub fn check_members(models: &[&Trained], names: &[String]) -> Result<()> {
    let Some(first) = models.first() else {
        return Err(ModelError::config("no model to decode with".into()));
    };
    for (m, name) in models.iter().zip(names).skip(1) {
        if m.vocabs != first.vocabs {
            return Err(ModelError::config(format!(
                "ensemble members must share vocabularies: {name} has {}+{} units, {} has {}+{} (train them on the same data with the same data settings)",
                m.vocabs.src.len(),
                m.vocabs.tgt.len(),
                names[0],
                first.vocabs.src.len(),
                first.vocabs.tgt.len()
            )));
        }
        if m.meta.train.data.units != first.meta.train.data.units {
            return Err(ModelError::config(format!(
                "ensemble members must use the same units: {name} and {} differ (data.units)",
                names[0]
            )));
        }
    }
    Ok(())
}

/// Decodes every example; returns the output units of each, in order
/// (subword pieces glued back into tokens).
pub fn decode(
    models: &[&Trained],
    examples: &[Example],
    opts: &DecodeOptions,
    device: Device,
) -> Result<Vec<Vec<String>>> {
    let search = if opts.beam <= 1 {
        Search::Greedy
    } else {
        Search::Beam
    };
    run(models, examples, opts, device, search)
}

/// Decodes every example by drawing each unit from the models' averaged
/// distribution at `temperature` (`<= 0`: greedy): more varied outputs,
/// for back-translation. Example `i`'s draws come from `seeds[i]` alone,
/// so its output depends on its seed and its input, not on its batch.
pub fn decode_sampled(
    models: &[&Trained],
    examples: &[Example],
    opts: &DecodeOptions,
    seeds: &[u64],
    temperature: f64,
    device: Device,
) -> Result<Vec<Vec<String>>> {
    if seeds.len() != examples.len() {
        return Err(ModelError::config(format!(
            "{} seeds for {} examples",
            seeds.len(),
            examples.len()
        )));
    }
    run(
        models,
        examples,
        opts,
        device,
        Search::Sample { seeds, temperature },
    )
}

/// As [`decode`], through the beam-search code even for a beam of one (a
/// beam of one must give exactly the greedy output; tests check it).
pub fn decode_with_beam_search(
    models: &[&Trained],
    examples: &[Example],
    opts: &DecodeOptions,
    device: Device,
) -> Result<Vec<Vec<String>>> {
    run(models, examples, opts, device, Search::Beam)
}

/// How [`run`] picks each output unit.
#[derive(Debug, Clone, Copy)]
enum Search<'a> {
    Greedy,
    /// Beam search with `opts.beam` beams (one: the greedy output).
    Beam,
    /// Drawn at `temperature`, example `i` with its own `seeds[i]`.
    Sample {
        seeds: &'a [u64],
        temperature: f64,
    },
}

fn run(
    models: &[&Trained],
    examples: &[Example],
    opts: &DecodeOptions,
    device: Device,
    search: Search<'_>,
) -> Result<Vec<Vec<String>>> {
    let names: Vec<String> = (0..models.len()).map(|i| format!("member {i}")).collect();
    check_members(models, &names)?;
    let first = models[0];
    let mut data_config = first.meta.train.data.clone();
    data_config.batch_size = opts.batch_size.max(1);
    let encoded = data::encode(examples, &first.vocabs, &data_config);
    let mut out = vec![Vec::new(); examples.len()];
    let beam = opts.beam.max(1);
    let progress = ore_core::Progress::new(Some(examples.len() as u64), "examples");
    progress.set_message(match search {
        Search::Sample { .. } => "sampling".into(),
        _ if beam > 1 => format!("beam {beam}"),
        _ => "greedy".into(),
    });
    tch::no_grad(|| {
        for b in data::batches(&encoded, &data_config, None) {
            let (src, lengths, _, _) = batch_tensors(&b, device);
            let encoded: Vec<(Memory, State)> = models
                .iter()
                .map(|m| m.model.encode(&src, &lengths, false))
                .collect();
            let ids = match search {
                Search::Sample { seeds, temperature } => {
                    let rngs = b
                        .index
                        .iter()
                        .map(|&i| crate::data::Rng::new(seeds[i]))
                        .collect();
                    sampled(models, encoded, rngs, temperature, opts, device)
                }
                Search::Greedy => greedy(models, encoded, b.rows(), opts, device),
                Search::Beam => beam_search(models, encoded, b.rows(), beam, opts, device),
            };
            for (row, hyp) in b.index.iter().zip(ids) {
                out[*row] = first.vocabs.tgt_tokens(
                    hyp.iter()
                        .map(|&id| first.vocabs.tgt.unit(id).to_string())
                        .collect(),
                );
            }
            progress.inc(b.rows() as u64);
        }
    });
    progress.finish();
    Ok(out)
}

/// Mean of the members' log-probabilities for `prev`; updates the states.
fn ensemble_step(
    models: &[&Trained],
    memories: &[Memory],
    states: &mut [State],
    prev: &Tensor,
) -> Tensor {
    let mut sum: Option<Tensor> = None;
    for ((m, memory), state) in models.iter().zip(memories).zip(states.iter_mut()) {
        let (logits, next) = m.model.step(memory, state, prev, false);
        *state = next;
        let lp = logits.log_softmax(-1, Kind::Float);
        sum = Some(match sum {
            Some(s) => s + lp,
            None => lp,
        });
    }
    let sum = sum.unwrap_or_else(|| Tensor::zeros([1], (Kind::Float, prev.device())));
    // `<pad>`, `<unk>` and `<bos>` are never an output: a model whose
    // training targets held `<unk>` still says the likeliest real unit.
    if sum.dim() == 2 {
        let _ = sum.narrow(1, 0, BOS_ID + 1).fill_(f64::NEG_INFINITY);
    }
    if models.len() == 1 {
        sum
    } else {
        sum / models.len() as f64
    }
}

/// Tokens that would repeat an n-gram already in `hyp`.
fn banned(hyp: &[i64], n: usize) -> Vec<i64> {
    if n == 0 || hyp.len() + 1 < n {
        return Vec::new();
    }
    let prefix = &hyp[hyp.len() + 1 - n..];
    hyp.windows(n)
        .filter(|w| &w[..n - 1] == prefix)
        .map(|w| w[n - 1])
        .collect()
}

fn apply_bans(logp: &Tensor, hyps: &[Vec<i64>], n: usize) {
    if n == 0 {
        return;
    }
    let vocab = logp.size()[1];
    let flat: Vec<i64> = hyps
        .iter()
        .enumerate()
        .flat_map(|(row, hyp)| {
            banned(hyp, n)
                .into_iter()
                .map(move |t| row as i64 * vocab + t)
        })
        .collect();
    if !flat.is_empty() {
        let index = Tensor::from_slice(&flat).to_device(logp.device());
        let _ = logp.view([-1]).index_fill_(0, &index, f64::NEG_INFINITY);
    }
}

/// The argmax of each row of `logp`.
fn argmax_ids(logp: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(&logp.argmax(-1, false).to_device(Device::Cpu)).unwrap_or_default()
}

fn greedy(
    models: &[&Trained],
    encoded: Vec<(Memory, State)>,
    rows: usize,
    opts: &DecodeOptions,
    device: Device,
) -> Vec<Vec<i64>> {
    unit_by_unit(models, encoded, rows, opts, device, argmax_ids)
}

/// As [`greedy`], each row's next unit drawn from `softmax(logp / T)`
/// with its own generator (`T <= 0`: the argmax).
fn sampled(
    models: &[&Trained],
    encoded: Vec<(Memory, State)>,
    mut rngs: Vec<crate::data::Rng>,
    temperature: f64,
    opts: &DecodeOptions,
    device: Device,
) -> Vec<Vec<i64>> {
    let rows = rngs.len();
    unit_by_unit(models, encoded, rows, opts, device, |logp| {
        if temperature <= 0.0 {
            return argmax_ids(logp);
        }
        let probs = (logp / temperature)
            .softmax(-1, Kind::Float)
            .to_device(Device::Cpu)
            .contiguous();
        let vocab = probs.size()[1] as usize;
        let flat: Vec<f32> = Vec::<f32>::try_from(probs.view([-1])).unwrap_or_default();
        (0..rows)
            .map(|i| {
                let row = &flat[i * vocab..(i + 1) * vocab];
                let total: f64 = row.iter().map(|&p| f64::from(p)).sum();
                let mut left = rngs[i].next_f64() * total;
                for (id, &p) in row.iter().enumerate() {
                    left -= f64::from(p);
                    if left <= 0.0 {
                        return id as i64;
                    }
                }
                EOS_ID
            })
            .collect()
    })
}

/// Decodes one unit per row and step, the unit chosen by `pick` from the
/// step's log-probabilities (bans and `min_len` applied), until every row
/// has ended or `max_len` is reached.
fn unit_by_unit(
    models: &[&Trained],
    encoded: Vec<(Memory, State)>,
    rows: usize,
    opts: &DecodeOptions,
    device: Device,
    mut pick: impl FnMut(&Tensor) -> Vec<i64>,
) -> Vec<Vec<i64>> {
    let (memories, mut states): (Vec<Memory>, Vec<State>) = encoded.into_iter().unzip();
    let mut hyps = vec![Vec::new(); rows];
    let mut done = vec![false; rows];
    let mut prev = Tensor::full([rows as i64], BOS_ID, (Kind::Int64, device));
    for t in 0..opts.max_len {
        let logp = ensemble_step(models, &memories, &mut states, &prev);
        apply_bans(&logp, &hyps, opts.no_repeat_ngram);
        if t < opts.min_len {
            let _ = logp.narrow(1, EOS_ID, 1).fill_(f64::NEG_INFINITY);
        }
        let ids = pick(&logp);
        for (i, &id) in ids.iter().enumerate() {
            if done[i] {
                continue;
            }
            if id == EOS_ID {
                done[i] = true;
            } else {
                hyps[i].push(id);
            }
        }
        if done.iter().all(|&d| d) {
            break;
        }
        prev = Tensor::from_slice(&ids).to_device(device);
    }
    hyps
}

/// A finished hypothesis: its normalised score and units.
type Finished = (f64, Vec<i64>);

fn normalised(score: f64, len: usize, alpha: f64) -> f64 {
    score / (len.max(1) as f64).powf(alpha)
}

fn beam_search(
    models: &[&Trained],
    encoded: Vec<(Memory, State)>,
    rows: usize,
    k: usize,
    opts: &DecodeOptions,
    device: Device,
) -> Vec<Vec<i64>> {
    // Every row's memory and state repeated k times: row r, beam j at r·k+j.
    let expand = Tensor::arange(rows as i64, (Kind::Int64, device))
        .repeat_interleave_self_int(k as i64, 0, None);
    let (memories, mut states): (Vec<Memory>, Vec<State>) = encoded
        .into_iter()
        .map(|(m, s)| (m.select(&expand), s.select(&expand)))
        .unzip();
    let mut hyps: Vec<Vec<i64>> = vec![Vec::new(); rows * k];
    // Only beam 0 is alive at the start, so the first step does not pick the
    // same unit k times.
    let mut scores: Vec<f64> = (0..rows * k)
        .map(|i| if i % k == 0 { 0.0 } else { f64::NEG_INFINITY })
        .collect();
    let mut finished: Vec<Vec<Finished>> = vec![Vec::new(); rows];
    let mut done = vec![false; rows];
    let mut prev = Tensor::full([(rows * k) as i64], BOS_ID, (Kind::Int64, device));
    let alpha = opts.length_penalty;
    for t in 0..opts.max_len {
        let logp = ensemble_step(models, &memories, &mut states, &prev);
        apply_bans(&logp, &hyps, opts.no_repeat_ngram);
        if t < opts.min_len {
            let _ = logp.narrow(1, EOS_ID, 1).fill_(f64::NEG_INFINITY);
        }
        let vocab = logp.size()[1];
        let base = Tensor::from_slice(&scores)
            .to_device(device)
            .to_kind(Kind::Float)
            .unsqueeze(1);
        let cand = (logp + base).view([rows as i64, k as i64 * vocab]);
        let (top_scores, top_index) = cand.topk((2 * k) as i64, -1, true, true);
        let top_scores: Vec<f64> = Vec::<f64>::try_from(
            &top_scores
                .to_kind(Kind::Double)
                .to_device(Device::Cpu)
                .view([-1]),
        )
        .unwrap_or_default();
        let top_index: Vec<i64> =
            Vec::<i64>::try_from(&top_index.to_device(Device::Cpu).view([-1])).unwrap_or_default();

        let mut reorder = Vec::with_capacity(rows * k);
        let mut next_tokens = Vec::with_capacity(rows * k);
        let mut next_hyps = Vec::with_capacity(rows * k);
        let mut next_scores = Vec::with_capacity(rows * k);
        for r in 0..rows {
            let mut alive: Vec<(usize, i64, f64)> = Vec::with_capacity(k);
            if !done[r] {
                for c in 0..2 * k {
                    let (s, idx) = (top_scores[r * 2 * k + c], top_index[r * 2 * k + c]);
                    if !s.is_finite() {
                        continue;
                    }
                    let (beam, token) = ((idx / vocab) as usize, idx % vocab);
                    let from = r * k + beam;
                    if token == EOS_ID {
                        // An <eos> counts only while it ranks among the top k.
                        if c < k {
                            finished[r].push((
                                normalised(s, hyps[from].len() + 1, alpha),
                                hyps[from].clone(),
                            ));
                        }
                    } else {
                        alive.push((from, token, s));
                    }
                    if alive.len() == k {
                        break;
                    }
                }
                if finished[r].len() >= k || alive.is_empty() {
                    done[r] = true;
                }
            }
            // Finished rows keep dead placeholders so shapes stay fixed.
            for j in 0..k {
                match alive.get(j) {
                    Some(&(from, token, s)) if !done[r] => {
                        reorder.push(from as i64);
                        next_tokens.push(token);
                        let mut h = hyps[from].clone();
                        h.push(token);
                        next_hyps.push(h);
                        next_scores.push(s);
                    }
                    _ => {
                        reorder.push((r * k) as i64);
                        next_tokens.push(EOS_ID);
                        next_hyps.push(Vec::new());
                        next_scores.push(f64::NEG_INFINITY);
                    }
                }
            }
        }
        if done.iter().all(|&d| d) {
            break;
        }
        let index = Tensor::from_slice(&reorder).to_device(device);
        states = states.iter().map(|s| s.select(&index)).collect();
        hyps = next_hyps;
        scores = next_scores;
        prev = Tensor::from_slice(&next_tokens).to_device(device);
    }
    (0..rows)
        .map(|r| {
            let mut options = finished[r].clone();
            if options.len() < k {
                for j in 0..k {
                    let s = scores[r * k + j];
                    if s.is_finite() {
                        options.push((
                            normalised(s, hyps[r * k + j].len(), alpha),
                            hyps[r * k + j].clone(),
                        ));
                    }
                }
            }
            options
                .into_iter()
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, h)| h)
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::banned;

    #[test]
    fn no_repeat_bans_the_tokens_that_close_a_seen_ngram() {
        assert_eq!(banned(&[5, 6, 7, 5], 2), vec![6]);
        assert_eq!(banned(&[5, 6, 7, 5, 6], 3), vec![7]);
        assert!(banned(&[5], 2).is_empty() || banned(&[5], 2) == Vec::<i64>::new());
        assert_eq!(banned(&[4, 4], 1), vec![4, 4]);
        assert!(banned(&[1, 2, 3], 0).is_empty());
    }
}
