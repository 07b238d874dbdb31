"""Reference scores for ore-eval's parity tests, from sacrebleu and rouge-score.

    python eval_reference.py CASES.json OUT.json

CASES.json: {"cases": [{"id", "lang", "tokenize", "lowercase", "stem",
"pairs": [{"hyp": str, "refs": [str, ...]}, ...]}, ...]}. For each case OUT.json
holds corpus BLEU (sacrebleu.BLEU defaults but tokenizer/lowercase), sentence
BLEU of every pair (sacrebleu.sentence_bleu: effective order), and ROUGE-1/2/L
of every pair (rouge_score.RougeScorer; `score_multi` for several references;
Chinese through a character tokenizer), plus `stems` for a word list.
"""

import json
import sys

import sacrebleu
from nltk.stem import porter
from rouge_score import rouge_scorer


class CharTokenizer:
    """Every non-whitespace character a token."""

    def tokenize(self, text):
        return [c for c in text if not c.isspace()]


def score_case(case):
    pairs = case["pairs"]
    hyps = [p["hyp"] for p in pairs]
    nrefs = len(pairs[0]["refs"])
    ref_sets = [[p["refs"][k] for p in pairs] for k in range(nrefs)]
    bleu = sacrebleu.BLEU(tokenize=case["tokenize"], lowercase=case["lowercase"])
    corpus = bleu.corpus_score(hyps, ref_sets)
    sentence = sacrebleu.BLEU(tokenize=case["tokenize"], lowercase=case["lowercase"], effective_order=True)
    tokenizer = CharTokenizer() if case["lang"] == "zh" else None
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=case["stem"], tokenizer=tokenizer)
    rouge = []
    for p in pairs:
        s = scorer.score(p["refs"][0], p["hyp"]) if nrefs == 1 else scorer.score_multi(p["refs"], p["hyp"])
        rouge.append([[s[k].precision, s[k].recall, s[k].fmeasure] for k in ("rouge1", "rouge2", "rougeL")])
    return {
        "bleu": {
            "score": corpus.score,
            "bp": corpus.bp,
            "precisions": corpus.precisions,
            "sys_len": corpus.sys_len,
            "ref_len": corpus.ref_len,
            "signature": str(bleu.get_signature()),
        },
        "sentence_bleu": [sentence.sentence_score(p["hyp"], p["refs"]).score for p in pairs],
        "rouge": rouge,
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    stemmer = porter.PorterStemmer()
    out = {
        "cases": {case["id"]: score_case(case) for case in request["cases"]},
        "stems": [stemmer.stem(w) for w in request.get("words", [])],
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
