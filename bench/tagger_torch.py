"""The PyTorch side of the `tagger_*` bench pairs: the BiLSTM-CNN-CRF tagger
of `ore train --task tag` (Ma & Hovy 2016) written as a plain PyTorch
script, trained on the same `tokens` dataset with the same vocabularies,
shapes, batching scheme, optimiser and clipping.

    python bench/tagger_torch.py --input DIR [--epochs N] [--max-steps N]
                                 [--seed N] [--threads N] [--output DIR]

DIR is what `ore train --input` takes: a split folder (`DIR/train` and
`DIR/valid`) or one dataset whose validation slice is held out by a hash of
`source_id` (else of the row id, as ore does: `data.valid_fraction`).

The model, with ore's `[train]` defaults:
- words lower-cased, every numeric character as `0`; vocabulary of the
  training words with count >= min_count, at most max_vocab (ore's Vocab:
  `<pad> <unk> <bos> <eos>` first, then by count, ties by text); embedding
  128, N(0, 1);
- the first 20 characters of each word (case kept), vocabulary of the
  training characters; embedding 30, Conv1d(30 -> 50, width 3, padding 1),
  max over the character positions (pads included), no activation;
- [word ; char] -> dropout 0.2 -> BiLSTM 256 a direction over packed
  sequences -> dropout -> Linear(512 -> K), K = 1 + 2 * entity types (IOB2);
- a CRF (transitions [K, K], start and end [K]); loss: mean over sentences
  of log partition - gold path score, the forward algorithm over the batch
  with masks; Viterbi for `--accuracy`;
- Adam (lr 1e-3, betas 0.9 / 0.999), global gradient-norm clipping at 5.0,
  batches of 32 sentences cut from windows of 50 batches sorted by length
  (longest first), sentences and batches shuffled each epoch by ore's
  SplitMix64 from ore's epoch seed: with the same --seed both sides train
  on the same batches in the same order;
- the validation loss at each epoch end and at the last step (as ore with
  eval_every = 0), the best weights saved to --output if given.

Prints the loss every 50 steps on stderr, then one JSON object on stdout:
tokens_per_s (training words / seconds spent in training steps, validation
and saving left out), train_tokens, train_s, steps, epochs, startup_s
(process start, as the kernel records it, to the first training step:
interpreter, imports, data, vocabularies, model), peak_rss_mb
(ru_maxrss), wall_s (process start to the JSON line), losses.
"""

import os
import time

START = time.perf_counter()


def process_age_s():
    """Seconds since the kernel started this process (exec included, 10 ms ticks)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0  # counted from the script's first line


AGE_AT_START = process_age_s()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import unicodedata  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
PAD, UNK = 0, 1
MAX_WORD_CHARS = 20


def since_process_start():
    return AGE_AT_START + time.perf_counter() - START


# ---- data -----------------------------------------------------------------

def read_dataset(path):
    """(id, group, tokens, tags) of every row, part files in name order."""
    files = sorted(Path(path).glob("*.parquet"))
    if not files:
        sys.exit(f"error: no Parquet files in {path}")
    rows = []
    for f in files:
        schema = pq.read_schema(f)
        id_col = "example_id" if "example_id" in schema.names else "doc_id"
        cols = [id_col, "tokens", "entities"] + (["source_id"] if "source_id" in schema.names else [])
        t = pq.read_table(f, columns=cols)
        ids, toks, ents = (t.column(c).to_pylist() for c in (id_col, "tokens", "entities"))
        groups = t.column("source_id").to_pylist() if "source_id" in cols else ids
        for i, g, words, spans in zip(ids, groups, toks, ents):
            rows.append((i, g if g is not None else i, words, iob2(len(words), spans or [])))
    return rows


def iob2(n, spans):
    tags = ["O"] * n
    for s in spans:
        a, b, label = s["start"], s["end"], s["label"]
        tags[a] = "B-" + label
        for k in range(a + 1, b):
            tags[k] = "I-" + label
    return tags


def is_held_out(group, fraction):
    """ore_train::data::is_held_out: sha256(0u64 LE ++ id), first 8 bytes LE."""
    h = int.from_bytes(hashlib.sha256(struct.pack("<Q", 0) + group.encode()).digest()[:8], "little")
    return (h >> 11) / float(1 << 53) < fraction


def load_split(path, fraction):
    path = Path(path)
    if (path / "train").is_dir() and (path / "valid").is_dir():
        return read_dataset(path / "train"), read_dataset(path / "valid")
    rows = read_dataset(path)
    return [r for r in rows if not is_held_out(r[1], fraction)], [r for r in rows if is_held_out(r[1], fraction)]


def word_key(w):
    return "".join("0" if unicodedata.category(c)[0] == "N" else c for c in w.lower())


def vocab(units, min_count, max_size):
    counts = Counter(units)
    ranked = sorted(((u, n) for u, n in counts.items() if n >= min_count and u not in SPECIALS),
                    key=lambda x: (-x[1], x[0]))
    keep = max(max_size - len(SPECIALS), 0)
    return {u: i for i, u in enumerate(SPECIALS + [u for u, _ in ranked[:keep]])}


class Vocabs:
    def __init__(self, train, min_count, max_vocab):
        self.words = vocab((word_key(w) for _, _, ws, _ in train for w in ws), min_count, max_vocab)
        self.chars = vocab((c for _, _, ws, _ in train for w in ws for c in w[:MAX_WORD_CHARS]), 1, 1 << 62)
        types = sorted({t[2:] for _, _, _, ts in train for t in ts if t != "O"})
        self.tags = ["O"] + [f"{p}-{t}" for t in types for p in "BI"]
        self.tag_index = {t: i for i, t in enumerate(self.tags)}

    def encode(self, index, row):
        _, _, words, tags = row
        return (index,
                [self.words.get(word_key(w), UNK) for w in words],
                [[self.chars.get(c, UNK) for c in w[:MAX_WORD_CHARS]] for w in words],
                [self.tag_index.get(t, 0) for t in tags])


def make_batch(rows):
    """Padded tensors, longest sentence first (pack_padded_sequence wants it)."""
    rows = sorted(rows, key=lambda r: (-len(r[1]), r[0]))
    n, length = len(rows), len(rows[0][1])
    char_len = max(len(c) for r in rows for c in r[2])
    words = torch.zeros(n, length, dtype=torch.long)
    chars = torch.zeros(n, length, char_len, dtype=torch.long)
    tags = torch.zeros(n, length, dtype=torch.long)
    for i, (_, w, c, t) in enumerate(rows):
        words[i, : len(w)] = torch.tensor(w)
        tags[i, : len(t)] = torch.tensor(t)
        for j, cs in enumerate(c):
            chars[i, j, : len(cs)] = torch.tensor(cs)
    lengths = torch.tensor([len(r[1]) for r in rows])
    return words, chars, tags, lengths


MASK64 = (1 << 64) - 1


class SplitMix64:
    """ore_train::data::Rng, so that both sides cut the same batches."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.next_u64() % (i + 1)
            items[i], items[j] = items[j], items[i]


def epoch_seed(seed, epoch):
    """ore_model::train::fit's seed of epoch `epoch` (0-based)."""
    return (seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15)) & MASK64


def batches(data, batch_size, bucket_batches, seed):
    """ore's tag_batches: shuffle the sentences, sort windows of
    `bucket_batches` batches by length (longest first), cut them into
    batches, shuffle the batches; without a seed (validation), in order."""
    order = list(data)
    rng = SplitMix64(seed) if seed is not None else None
    if rng:
        rng.shuffle(order)
    window = batch_size * max(bucket_batches, 1)
    cut = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda r: (-len(r[1]), r[0]))
        cut += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    if rng:
        rng.shuffle(cut)
    return [make_batch(b) for b in cut]


# ---- model ----------------------------------------------------------------

class CRF(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.transitions = nn.Parameter(torch.empty(k, k).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.empty(k).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(k).uniform_(-0.1, 0.1))

    def nll(self, emissions, tags, lengths):
        """Per sentence: log partition - gold path score. emissions [B, T, K]."""
        b, t, _ = emissions.shape
        mask = torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
        maskf = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        gold = (self.start[tags[:, 0]] + (emit * maskf).sum(1)
                + (trans * maskf[:, 1:]).sum(1) + self.end[last])
        alpha = self.start + emissions[:, 0]
        for i in range(1, t):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.transitions + emissions[:, i].unsqueeze(1), 1)
            alpha = torch.where(mask[:, i].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end, 1) - gold

    @torch.no_grad()
    def viterbi(self, emissions, lengths):
        b, t, _ = emissions.shape
        mask = torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)
        score, back = self.start + emissions[:, 0], []
        for i in range(1, t):
            best, arg = (score.unsqueeze(2) + self.transitions).max(1)
            back.append(arg)
            score = torch.where(mask[:, i].unsqueeze(1), best + emissions[:, i], score)
        score = score + self.end
        paths = []
        for r in range(b):
            tag = int(score[r].argmax())
            path = [tag]
            for i in range(int(lengths[r]) - 1, 0, -1):
                tag = int(back[i - 1][r, tag])
                path.append(tag)
            paths.append(path[::-1])
        return paths


class Tagger(nn.Module):
    def __init__(self, words, chars, k, a):
        super().__init__()
        self.word_emb = nn.Embedding(words, a.embedding)  # N(0, 1)
        self.char_emb = nn.Embedding(chars, a.char_embedding)
        self.char_cnn = nn.Conv1d(a.char_embedding, a.char_filters, a.char_width, padding=1)
        rnn = nn.LSTM if a.cell == "lstm" else nn.GRU
        self.encoder = rnn(a.embedding + a.char_filters, a.hidden, num_layers=a.layers,
                           bidirectional=True, batch_first=True,
                           dropout=a.dropout if a.layers > 1 else 0.0)
        self.project = nn.Linear(2 * a.hidden, k)
        self.crf = CRF(k) if a.crf else None
        self.dropout = a.dropout

    def emissions(self, words, chars, lengths):
        b, t, c = chars.shape
        ch = self.char_emb(chars.view(b * t, c)).transpose(1, 2)  # [B*T, E, C]
        ch = self.char_cnn(ch).max(2).values.view(b, t, -1)
        x = F.dropout(torch.cat([self.word_emb(words), ch], 2), self.dropout, self.training)
        out, _ = self.encoder(pack_padded_sequence(x, lengths, batch_first=True))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        return self.project(F.dropout(out, self.dropout, self.training))

    def loss(self, words, chars, tags, lengths):
        e = self.emissions(words, chars, lengths)
        if self.crf is not None:
            return self.crf.nll(e, tags, lengths).mean()
        mask = torch.arange(e.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        return F.cross_entropy(e[mask], tags[mask])


# ---- training -------------------------------------------------------------

@torch.no_grad()
def valid_loss(model, valid):
    model.eval()
    total, n = 0.0, 0
    for words, chars, tags, lengths in valid:
        total += float(model.loss(words, chars, tags, lengths)) * len(lengths)
        n += len(lengths)
    model.train()
    return total / max(n, 1)


@torch.no_grad()
def accuracy(model, valid):
    model.eval()
    right = n = 0
    for words, chars, tags, lengths in valid:
        e = model.emissions(words, chars, lengths)
        paths = model.crf.viterbi(e, lengths) if model.crf else [r[: int(l)] for r, l in zip(e.argmax(2).tolist(), lengths)]
        for r, p in enumerate(paths):
            right += sum(int(a == b) for a, b in zip(p, tags[r, : len(p)].tolist()))
            n += len(p)
    model.train()
    return right / max(n, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", help="save the best weights here (state_dict)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--bucket-batches", type=int, default=50)
    ap.add_argument("--valid-fraction", type=float, default=0.1)
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--max-vocab", type=int, default=30000)
    ap.add_argument("--embedding", type=int, default=128)
    ap.add_argument("--char-embedding", type=int, default=30)
    ap.add_argument("--char-filters", type=int, default=50)
    ap.add_argument("--char-width", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--no-crf", dest="crf", action="store_false")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip-norm", type=float, default=5.0)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--accuracy", action="store_true", help="Viterbi tag accuracy on valid at the end (untimed)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)

    train_rows, valid_rows = load_split(a.input, a.valid_fraction)
    v = Vocabs(train_rows, a.min_count, a.max_vocab)
    train = [v.encode(i, r) for i, r in enumerate(train_rows) if r[2]]
    valid = batches([v.encode(i, r) for i, r in enumerate(valid_rows) if r[2]], a.batch_size, a.bucket_batches, None)
    model = Tagger(len(v.words), len(v.chars), len(v.tags), a)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999))
    per_epoch = -(-len(train) // a.batch_size)
    total = min(a.max_steps or 1 << 62, per_epoch * a.epochs)
    print(f"{len(train)} training sentences, {sum(len(b[3]) for b in valid)} valid; "
          f"{len(v.words)} words, {len(v.chars)} chars, {len(v.tags)} tags; "
          f"{sum(p.numel() for p in model.parameters())} parameters; {total} steps", file=sys.stderr)

    model.train()
    step = epoch = 0
    train_s = 0.0
    train_tokens = 0
    startup = None
    best, losses, window = None, [], []
    while step < total:
        epoch_batches = batches(train, a.batch_size, a.bucket_batches, epoch_seed(a.seed, step // per_epoch))
        for words, chars, tags, lengths in epoch_batches:
            t = time.perf_counter()
            if startup is None:
                startup = since_process_start()
            opt.zero_grad()
            loss = model.loss(words, chars, tags, lengths)
            loss.backward()
            if a.clip_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
            opt.step()
            value = loss.item()
            train_s += time.perf_counter() - t
            train_tokens += int(lengths.sum())
            step += 1
            window.append(value)
            if step % a.log_every == 0:
                losses.append(sum(window) / len(window))
                print(f"step {step}: loss {losses[-1]:.4f} ({train_tokens / train_s:.0f} words/s)", file=sys.stderr)
                window = []
            at_end = step == total or step % per_epoch == 0
            if at_end:
                vl = valid_loss(model, valid)
                print(f"step {step}: valid loss {vl:.4f}", file=sys.stderr)
                if best is None or vl < best:
                    best = vl
                    if a.output:
                        os.makedirs(a.output, exist_ok=True)
                        torch.save(model.state_dict(), os.path.join(a.output, "weights.pt"))
            if step >= total:
                break
    epoch = step // per_epoch
    if window:
        losses.append(sum(window) / len(window))
    result = {
        "tokens_per_s": train_tokens / train_s,
        "train_tokens": train_tokens,
        "train_s": train_s,
        "steps": step,
        "epochs": epoch,
        "startup_s": startup,
        "best_valid_loss": best,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_sentences": len(train),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if a.accuracy:
        result["valid_tag_accuracy"] = accuracy(model, valid)
    result["wall_s"] = since_process_start()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
