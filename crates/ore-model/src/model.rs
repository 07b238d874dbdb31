//! The encoder-decoder: embeddings, a bidirectional LSTM or GRU encoder over
//! packed sequences (so padding never changes a sentence's encoding), an
//! LSTM or GRU decoder with Luong ("general") or Bahdanau (additive) attention, and an
//! output layer optionally tied to the target embeddings.
//!
//! Parameter names follow PyTorch's (`weight_ih_l0_reverse`, …), so a
//! checkpoint's tensors can be read by anyone who knows the architecture.

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::config::{Attention, Cell, ModelConfig};

/// A recurrent layer stack (LSTM or GRU) whose dropout follows a per-call
/// `train` flag (tch's own `LSTM` fixes it at construction, which would
/// leave dropout on while decoding).
#[derive(Debug)]
pub(crate) struct Rnn {
    weights: Vec<Tensor>,
    cell: Cell,
    hidden: i64,
    layers: i64,
    bidirectional: bool,
    dropout: f64,
}

impl Rnn {
    pub(crate) fn new(
        vs: nn::Path<'_>,
        cell: Cell,
        input: i64,
        hidden: i64,
        layers: i64,
        bidirectional: bool,
        dropout: f64,
    ) -> Self {
        // PyTorch's initialisation: every weight and bias U(-1/√h, 1/√h).
        let k = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -k, up: k };
        let dirs = if bidirectional { 2 } else { 1 };
        let gates = match cell {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        };
        let mut weights = Vec::new();
        for layer in 0..layers {
            for dir in 0..dirs {
                let input = if layer == 0 { input } else { hidden * dirs };
                let suffix = if dir == 1 { "_reverse" } else { "" };
                weights.push(vs.var(
                    &format!("weight_ih_l{layer}{suffix}"),
                    &[gates * hidden, input],
                    init,
                ));
                weights.push(vs.var(
                    &format!("weight_hh_l{layer}{suffix}"),
                    &[gates * hidden, hidden],
                    init,
                ));
                weights.push(vs.var(
                    &format!("bias_ih_l{layer}{suffix}"),
                    &[gates * hidden],
                    init,
                ));
                weights.push(vs.var(
                    &format!("bias_hh_l{layer}{suffix}"),
                    &[gates * hidden],
                    init,
                ));
            }
        }
        Self {
            weights,
            cell,
            hidden,
            layers,
            bidirectional,
            dropout,
        }
    }

    fn dirs(&self) -> i64 {
        if self.bidirectional { 2 } else { 1 }
    }

    fn zeros(&self, batch: i64, device: Device) -> Tensor {
        Tensor::zeros(
            [self.layers * self.dirs(), batch, self.hidden],
            (Kind::Float, device),
        )
    }

    /// `[B, T, in]` padded input with lengths (sorted, longest first) →
    /// `[B, T, dirs·H]` outputs (zeros past each length) and the final
    /// state (`c` only for an LSTM).
    pub(crate) fn packed(&self, input: &Tensor, lengths: &Tensor, train: bool) -> (Tensor, State) {
        let steps = input.size()[1];
        let (data, batch_sizes) = input.internal_pack_padded_sequence(lengths, true);
        let h0 = self.zeros(input.size()[0], input.device());
        let weights: Vec<&Tensor> = self.weights.iter().collect();
        let (out, state) = match self.cell {
            Cell::Lstm => {
                let (out, h, c) = Tensor::lstm_data(
                    &data,
                    &batch_sizes,
                    &[&h0, &h0],
                    &weights,
                    true,
                    self.layers,
                    self.dropout,
                    train,
                    self.bidirectional,
                );
                (out, State { h, c: Some(c) })
            }
            Cell::Gru => {
                let (out, h) = Tensor::gru_data(
                    &data,
                    &batch_sizes,
                    &h0,
                    &weights,
                    true,
                    self.layers,
                    self.dropout,
                    train,
                    self.bidirectional,
                );
                (out, State { h, c: None })
            }
        };
        let (padded, _) =
            Tensor::internal_pad_packed_sequence(&out, &batch_sizes, true, 0.0, steps);
        (padded, state)
    }

    /// `[B, T, in]` from `state` (each `[layers, B, H]`).
    fn run(&self, input: &Tensor, state: &State, train: bool) -> (Tensor, State) {
        let weights: Vec<&Tensor> = self.weights.iter().collect();
        match (self.cell, &state.c) {
            (Cell::Lstm, Some(c)) => {
                let (out, h, c) = input.lstm(
                    &[&state.h, c],
                    &weights,
                    true,
                    self.layers,
                    self.dropout,
                    train,
                    self.bidirectional,
                    true,
                );
                (out, State { h, c: Some(c) })
            }
            (Cell::Lstm, None) => unreachable!("an LSTM state has a cell state"),
            (Cell::Gru, _) => {
                let (out, h) = input.gru(
                    &state.h,
                    &weights,
                    true,
                    self.layers,
                    self.dropout,
                    train,
                    self.bidirectional,
                    true,
                );
                (out, State { h, c: None })
            }
        }
    }
}

/// What the decoder attends over, computed once a batch.
#[derive(Debug)]
pub struct Memory {
    /// Encoder outputs `[N, S, 2H]`.
    pub outputs: Tensor,
    /// Attention keys `[N, S, H]` (the outputs through `W_a` or `W_k`).
    pub keys: Tensor,
    /// `true` on padding, `[N, S]`.
    pub pad: Tensor,
}

impl Memory {
    /// Rows `index` (beam search expands and reorders).
    pub fn select(&self, index: &Tensor) -> Memory {
        Memory {
            outputs: self.outputs.index_select(0, index),
            keys: self.keys.index_select(0, index),
            pad: self.pad.index_select(0, index),
        }
    }
}

/// The decoder's recurrent state, each `[layers, N, H]`; `c` is the LSTM's
/// cell state (a GRU has none).
#[derive(Debug)]
pub struct State {
    pub h: Tensor,
    pub c: Option<Tensor>,
}

impl State {
    pub fn select(&self, index: &Tensor) -> State {
        State {
            h: self.h.index_select(1, index),
            c: self.c.as_ref().map(|c| c.index_select(1, index)),
        }
    }
}

/// The model. Build it inside a `VarStore`; load weights with the store.
#[derive(Debug)]
pub struct Seq2Seq {
    config: ModelConfig,
    src_embedding: Tensor,
    tgt_embedding: Tensor,
    encoder: Rnn,
    bridge_h: nn::Linear,
    /// LSTM only: the decoder's first cell state.
    bridge_c: Option<nn::Linear>,
    decoder: Rnn,
    attn_key: nn::Linear,
    attn_query: Option<nn::Linear>,
    attn_score: Option<nn::Linear>,
    combine: nn::Linear,
    /// Tied: `H → E`, then the embedding matrix; else `H → V`.
    project: nn::Linear,
    out_bias: Option<Tensor>,
    tgt_vocab: i64,
}

impl Seq2Seq {
    /// Creates the parameters under `root`. With `shared_embeddings` the
    /// source and target use one matrix (one vocabulary for both).
    pub fn new(
        root: &nn::Path<'_>,
        config: &ModelConfig,
        src_vocab: i64,
        tgt_vocab: i64,
        shared_embeddings: bool,
    ) -> Self {
        let (e, h) = (config.embedding, config.hidden);
        let emb_init = nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        let src_embedding = (root / "src_embedding").var("weight", &[src_vocab, e], emb_init);
        let tgt_embedding = if shared_embeddings {
            src_embedding.shallow_clone()
        } else {
            (root / "tgt_embedding").var("weight", &[tgt_vocab, e], emb_init)
        };
        let encoder = Rnn::new(
            root / "encoder",
            config.cell,
            e,
            h,
            config.encoder_layers,
            true,
            inter_layer(config, config.encoder_layers),
        );
        let decoder_input = match config.attention {
            Attention::Luong => e,
            Attention::Bahdanau => e + 2 * h,
        };
        let decoder = Rnn::new(
            root / "decoder",
            config.cell,
            decoder_input,
            h,
            config.decoder_layers,
            false,
            inter_layer(config, config.decoder_layers),
        );
        let bridge_h = nn::linear(root / "bridge_h", 2 * h, h, Default::default());
        let bridge_c = (config.cell == Cell::Lstm)
            .then(|| nn::linear(root / "bridge_c", 2 * h, h, Default::default()));
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        let (attn_key, attn_query, attn_score) = match config.attention {
            Attention::Luong => (nn::linear(root / "attn_key", 2 * h, h, no_bias), None, None),
            Attention::Bahdanau => (
                nn::linear(root / "attn_key", 2 * h, h, Default::default()),
                Some(nn::linear(root / "attn_query", h, h, no_bias)),
                Some(nn::linear(root / "attn_score", h, 1, no_bias)),
            ),
        };
        let combine = nn::linear(root / "combine", 3 * h, h, no_bias);
        let (project, out_bias) = if config.tie_embeddings {
            (
                nn::linear(root / "project", h, e, Default::default()),
                Some(root.zeros("out_bias", &[tgt_vocab])),
            )
        } else {
            (
                nn::linear(root / "project", h, tgt_vocab, Default::default()),
                None,
            )
        };
        Self {
            config: config.clone(),
            src_embedding,
            tgt_embedding,
            encoder,
            bridge_h,
            bridge_c,
            decoder,
            attn_key,
            attn_query,
            attn_score,
            combine,
            project,
            out_bias,
            tgt_vocab,
        }
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn tgt_vocab(&self) -> i64 {
        self.tgt_vocab
    }

    /// The embedding matrices (the fast gradient method perturbs these).
    pub fn embeddings(&self) -> Vec<&Tensor> {
        if self.src_embedding.data_ptr() == self.tgt_embedding.data_ptr() {
            vec![&self.src_embedding]
        } else {
            vec![&self.src_embedding, &self.tgt_embedding]
        }
    }

    /// Encodes `src` `[N, S]` with `lengths` `[N]` (int64 on the CPU, sorted
    /// longest first): the memory and the decoder's first state.
    pub fn encode(&self, src: &Tensor, lengths: &Tensor, train: bool) -> (Memory, State) {
        let p = self.config.dropout;
        let emb = Tensor::embedding(&self.src_embedding, src, -1, false, false).dropout(p, train);
        let (outputs, last_state) = self.encoder.packed(&emb, lengths, train);
        // Last layer's forward and backward final states → decoder's first.
        let layers = self.config.encoder_layers;
        let last = |t: &Tensor| Tensor::cat(&[t.get(2 * layers - 2), t.get(2 * layers - 1)], 1);
        let d = self.config.decoder_layers;
        let stack = |t: Tensor| t.unsqueeze(0).repeat([d, 1, 1]).contiguous();
        let h0 = self.bridge_h.forward(&last(&last_state.h)).tanh();
        let c0 = match (&self.bridge_c, &last_state.c) {
            (Some(bridge), Some(c)) => Some(stack(bridge.forward(&last(c)))),
            _ => None,
        };
        let state = State {
            h: stack(h0),
            c: c0,
        };
        let steps = src.size()[1];
        let device = src.device();
        let positions = Tensor::arange(steps, (Kind::Int64, device)).unsqueeze(0);
        let pad = positions.ge_tensor(&lengths.to_device(device).unsqueeze(1));
        let keys = self.attn_key.forward(&outputs);
        (Memory { outputs, keys, pad }, state)
    }

    /// Luong attention for queries `[N, T, H]`: the attentional states `[N, T, H]`.
    fn luong(&self, memory: &Memory, queries: &Tensor) -> Tensor {
        let scores = queries
            .bmm(&memory.keys.transpose(1, 2))
            .masked_fill(&memory.pad.unsqueeze(1), f64::NEG_INFINITY);
        let weights = scores.softmax(-1, Kind::Float);
        let context = weights.bmm(&memory.outputs);
        self.combine
            .forward(&Tensor::cat(&[&context, queries], -1))
            .tanh()
    }

    fn logits(&self, attentional: &Tensor, train: bool) -> Tensor {
        let x = self
            .project
            .forward(&attentional.dropout(self.config.dropout, train));
        match &self.out_bias {
            Some(bias) => x.matmul(&self.tgt_embedding.transpose(0, 1)) + bias,
            None => x,
        }
    }

    /// Teacher-forced logits `[N, T, V]` for decoder inputs `[N, T]`. Luong
    /// runs the whole target at once; Bahdanau (whose context feeds the LSTM)
    /// and `teacher_forcing < 1` step through it.
    pub fn forward(
        &self,
        memory: &Memory,
        state: State,
        tgt_in: &Tensor,
        train: bool,
        teacher_forcing: f64,
    ) -> Tensor {
        if self.config.attention == Attention::Luong && teacher_forcing >= 1.0 {
            let emb = Tensor::embedding(&self.tgt_embedding, tgt_in, -1, false, false)
                .dropout(self.config.dropout, train);
            let (out, _) = self.decoder.run(&emb, &state, train);
            return self.logits(&self.luong(memory, &out), train);
        }
        let steps = tgt_in.size()[1];
        let mut state = state;
        let mut outputs = Vec::with_capacity(steps as usize);
        let mut prev = tgt_in.select(1, 0);
        for t in 0..steps {
            let (logits, next) = self.step(memory, &state, &prev, train);
            state = next;
            if t + 1 < steps {
                let gold = tgt_in.select(1, t + 1);
                prev = if teacher_forcing >= 1.0 {
                    gold
                } else {
                    let predicted = logits.detach().argmax(-1, false);
                    let keep_gold = Tensor::rand([gold.size()[0]], (Kind::Float, gold.device()))
                        .lt(teacher_forcing);
                    gold.where_self(&keep_gold, &predicted)
                };
            }
            outputs.push(logits);
        }
        Tensor::stack(&outputs, 1)
    }

    /// One decoder step for the previous units `[N]`: logits `[N, V]` and the
    /// next state.
    pub fn step(
        &self,
        memory: &Memory,
        state: &State,
        prev: &Tensor,
        train: bool,
    ) -> (Tensor, State) {
        let p = self.config.dropout;
        let emb = Tensor::embedding(&self.tgt_embedding, &prev.unsqueeze(1), -1, false, false)
            .dropout(p, train);
        match self.config.attention {
            Attention::Luong => {
                let (out, next) = self.decoder.run(&emb, state, train);
                let logits = self.logits(&self.luong(memory, &out), train).squeeze_dim(1);
                (logits, next)
            }
            Attention::Bahdanau => {
                let (query, score) = match (&self.attn_query, &self.attn_score) {
                    (Some(q), Some(s)) => (q, s),
                    _ => unreachable!("Bahdanau layers exist for Bahdanau models"),
                };
                let top = state.h.get(self.config.decoder_layers - 1);
                let energy = (&memory.keys + query.forward(&top).unsqueeze(1)).tanh();
                let scores = score
                    .forward(&energy)
                    .squeeze_dim(-1)
                    .masked_fill(&memory.pad, f64::NEG_INFINITY);
                let weights = scores.softmax(-1, Kind::Float);
                let context = weights.unsqueeze(1).bmm(&memory.outputs);
                let input = Tensor::cat(&[&emb, &context], -1);
                let (out, next) = self.decoder.run(&input, state, train);
                let attentional = self
                    .combine
                    .forward(&Tensor::cat(&[&context, &out], -1))
                    .tanh();
                (self.logits(&attentional, train).squeeze_dim(1), next)
            }
        }
    }
}

/// Dropout between stacked LSTM layers (none with one layer).
fn inter_layer(config: &ModelConfig, layers: i64) -> f64 {
    if layers > 1 { config.dropout } else { 0.0 }
}
