"""The Python side of the `metrics_*` bench pairs: sacrebleu corpus BLEU and
rouge-score ROUGE-1/2/L (mean over pairs) on one hypothesis and one reference
file, as `ore metrics` computes them.

    python bench/eval_py.py --hyp FILE --ref FILE --lang zh|en

Timed from after the imports (so Python's start-up is not counted) to the
last score; prints {"pairs": N, "seconds": S, "pairs_per_s": N/S, "bleu": B}.
"""

import argparse
import json
import time

import sacrebleu
from rouge_score import rouge_scorer


class CharTokenizer:
    def tokenize(self, text):
        return [c for c in text if not c.isspace()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyp", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--lang", choices=["zh", "en"], required=True)
    args = ap.parse_args()
    start = time.perf_counter()
    with open(args.hyp, encoding="utf-8") as f:
        hyps = f.read().split("\n")[:-1]
    with open(args.ref, encoding="utf-8") as f:
        refs = f.read().split("\n")[:-1]
    bleu = sacrebleu.BLEU(tokenize="zh" if args.lang == "zh" else "13a").corpus_score(hyps, [refs])
    scorer = rouge_scorer.RougeScorer(
        ["rouge1", "rouge2", "rougeL"], tokenizer=CharTokenizer() if args.lang == "zh" else None)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for h, r in zip(hyps, refs):
        for k, s in scorer.score(r, h).items():
            totals[k] += s.fmeasure
    seconds = time.perf_counter() - start
    print(json.dumps({"pairs": len(hyps), "seconds": seconds, "pairs_per_s": len(hyps) / seconds,
                      "bleu": bleu.score, "rougeL": totals["rougeL"] / len(hyps)}))


if __name__ == "__main__":
    main()
