"""The PyTorch side of the `train_*` bench pairs: the same encoder-decoder
as ore-train (embeddings, bidirectional LSTM encoder over packed sequences,
bridge to the decoder state, LSTM decoder with Luong "general" attention,
output layer), the same shapes, random data, Adam, gradient clipping and
cross-entropy with padding ignored. Prints one JSON object like
crates/ore-model/examples/train_bench.rs.

    python bench/train_torch.py [--threads N] [--steps N] [--vocab N] [--batch N] [--len N]
    python bench/train_torch.py --backtranslate N [--threads N]

`--backtranslate N`: N sentences of 30 words there and back through two
models of the same shapes, as a PyTorch script would do it: words to ids,
greedy batches of 64 (each row ends at its `<eos>`; `<pad>`, `<unk>` and
`<bos>` never chosen, as in ore), ids to words joined by spaces. Prints
sentences/s of the round trip, like train_bench --backtranslate.
"""

import argparse
import json
import time

START = time.perf_counter()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

PAD, BOS, EOS = 0, 2, 3


class Seq2Seq(nn.Module):
    def __init__(self, vocab, emb, hidden, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.encoder = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.bridge_h = nn.Linear(2 * hidden, hidden)
        self.bridge_c = nn.Linear(2 * hidden, hidden)
        self.decoder = nn.LSTM(emb, hidden, batch_first=True)
        self.attn_key = nn.Linear(2 * hidden, hidden, bias=False)
        self.combine = nn.Linear(3 * hidden, hidden, bias=False)
        self.project = nn.Linear(hidden, vocab)
        self.dropout = dropout

    def encode(self, src, lengths):
        emb = F.dropout(self.embedding(src), self.dropout, self.training)
        packed = pack_padded_sequence(emb, lengths, batch_first=True)
        out, (h, c) = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h0 = torch.tanh(self.bridge_h(torch.cat([h[-2], h[-1]], 1))).unsqueeze(0)
        c0 = self.bridge_c(torch.cat([c[-2], c[-1]], 1)).unsqueeze(0)
        pad = torch.arange(src.size(1)).unsqueeze(0) >= lengths.unsqueeze(1)
        return out, self.attn_key(out), pad, (h0.contiguous(), c0.contiguous())

    def attend(self, out, keys, pad, queries):
        scores = queries.bmm(keys.transpose(1, 2)).masked_fill(pad.unsqueeze(1), float("-inf"))
        context = scores.softmax(-1).bmm(out)
        return torch.tanh(self.combine(torch.cat([context, queries], -1)))

    def forward(self, src, lengths, tgt_in):
        out, keys, pad, state = self.encode(src, lengths)
        emb = F.dropout(self.embedding(tgt_in), self.dropout, self.training)
        dec, _ = self.decoder(emb, state)
        att = self.attend(out, keys, pad, dec)
        return self.project(F.dropout(att, self.dropout, self.training))

    @torch.no_grad()
    def greedy(self, src, lengths, max_len):
        out, keys, pad, state = self.encode(src, lengths)
        prev = torch.full((src.size(0),), BOS, dtype=torch.long)
        hyps = []
        for _ in range(max_len):
            emb = self.embedding(prev.unsqueeze(1))
            dec, state = self.decoder(emb, state)
            logp = self.project(self.attend(out, keys, pad, dec)).squeeze(1).log_softmax(-1)
            # Full length, as ore's side (min_len = max_len): no early <eos>.
            logp[:, EOS] = float("-inf")
            prev = logp.argmax(-1)
            hyps.append(prev)
        return torch.stack(hyps, 1)


@torch.no_grad()
def translate(model, words, index, texts, max_len, batch=64):
    """Greedy translation of texts, batch by batch, each row to its <eos>."""
    out = []
    for i in range(0, len(texts), batch):
        rows = [[index.get(w, 1) for w in t.split()] or [1] for t in texts[i : i + batch]]
        order = sorted(range(len(rows)), key=lambda r: -len(rows[r]))
        lengths = torch.tensor([len(rows[r]) for r in order])
        src = torch.zeros(len(rows), int(lengths[0]), dtype=torch.long)
        for j, r in enumerate(order):
            src[j, : len(rows[r])] = torch.tensor(rows[r])
        enc, keys, pad, state = model.encode(src, lengths)
        prev = torch.full((len(rows),), BOS, dtype=torch.long)
        done = torch.zeros(len(rows), dtype=torch.bool)
        hyps = []
        for _ in range(max_len):
            emb = model.embedding(prev.unsqueeze(1))
            dec, state = model.decoder(emb, state)
            logp = model.project(model.attend(enc, keys, pad, dec)).squeeze(1).log_softmax(-1)
            logp[:, :3] = float("-inf")
            prev = logp.argmax(-1)
            hyps.append(prev)
            done |= prev == EOS
            if bool(done.all()):
                break
        ids = torch.stack(hyps, 1).tolist()
        texts_out = [None] * len(rows)
        for j, r in enumerate(order):
            seq = ids[j]
            if EOS in seq:
                seq = seq[: seq.index(EOS)]
            texts_out[r] = " ".join(words[k] for k in seq)
        out.extend(texts_out)
    return out


def backtranslate(n, threads):
    torch.set_num_threads(threads)
    v, length = 8000, 30
    words = ["<pad>", "<unk>", "<bos>", "<eos>"] + [f"w{i}" for i in range(v - 4)]
    index = {w: i for i, w in enumerate(words)}
    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        models.append(Seq2Seq(v, 128, 256, 0.2).eval())
    gen = torch.Generator().manual_seed(5)
    texts = [" ".join(f"w{int(k)}" for k in torch.randint(0, v - 4, (length,), generator=gen)) for _ in range(n)]
    t = time.perf_counter()
    pivot = translate(models[0], words, index, texts, length)
    back = translate(models[1], words, index, pivot, length)
    secs = time.perf_counter() - t
    print(json.dumps({"backtranslate_sentences_per_s": n / secs, "sentences": n, "round_trip_s": secs,
                      "words_back": sum(len(b.split()) for b in back)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--len", type=int, default=30)
    ap.add_argument("--backtranslate", type=int, default=0)
    args = ap.parse_args()
    if args.backtranslate:
        return backtranslate(args.backtranslate, args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, n, v = args.batch, args.len, args.vocab
    model = Seq2Seq(v, 128, 256, 0.2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = []
    for _ in range(8):
        src = torch.randint(4, v, (b, n))
        tgt = torch.randint(4, v, (b, n - 1))
        tgt_in = torch.cat([torch.full((b, 1), BOS), tgt], 1)
        tgt_out = torch.cat([tgt, torch.full((b, 1), EOS)], 1)
        batches.append((src, torch.full((b,), n, dtype=torch.long), tgt_in, tgt_out))
    startup = time.perf_counter() - START

    def step(batch):
        src, lengths, tgt_in, tgt_out = batch
        opt.zero_grad()
        logits = model(src, lengths, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, v), tgt_out.reshape(-1), ignore_index=PAD)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    model.train()
    for batch in batches[:2]:
        step(batch)
    t = time.perf_counter()
    units = 0
    for i in range(args.steps):
        batch = batches[i % len(batches)]
        step(batch)
        units += batch[3].numel()
    train_s = time.perf_counter() - t

    model.eval()
    t = time.perf_counter()
    decoded = 0
    for src, lengths, _, _ in batches:
        model.greedy(src, lengths, n)
        decoded += src.size(0)
    decode_s = time.perf_counter() - t
    print(json.dumps({"train_tokens_per_s": units / train_s, "decode_sentences_per_s": decoded / decode_s,
                      "startup_s": startup, "steps": args.steps, "train_s": train_s, "decoded": decoded}))


if __name__ == "__main__":
    main()
