"""seqeval 1.2.2's entity scores of a predictions file, as JSON on stdout.

    python python/seqeval_score.py PREDICTIONS [--gold-column tags] [--predicted-column predicted_tags]

PREDICTIONS is a Parquet file or a dataset folder (its part files; names
starting with `_` or `.` are skipped, as pyarrow skips them) with two
list<utf8> columns: the gold tags (`tags`) and the predicted ones
(`predicted_tags`), one row a sentence. A `.json` file holding
{"tags": [[...], ...], "predicted_tags": [[...], ...]} is read too (the
parity test of ore_eval::ner uses it).

Prints seqeval's default (not strict) mode figures, zero division as 0:

    {"precision": P, "recall": R, "f1": F,
     "per_label": {"PER": {"precision": ..., "recall": ..., "f1": ..., "support": N}, ...}}

`precision`, `recall` and `f1` are the micro averages (`precision_score`,
`recall_score`, `f1_score`); `per_label` is `classification_report`'s rows
for the entity types.
"""

import argparse
import json
import sys
import warnings

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score


def read(path, gold_column, predicted_column):
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data[gold_column], data[predicted_column]
    import pyarrow.dataset as ds

    table = ds.dataset(path, format="parquet").to_table(columns=[gold_column, predicted_column])
    return table.column(gold_column).to_pylist(), table.column(predicted_column).to_pylist()


def scores(gold, predicted):
    # Tags seqeval does not recognise only warn; the figures are what count.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(gold, predicted, output_dict=True, zero_division=0)
        out = {
            "precision": float(precision_score(gold, predicted, zero_division=0)),
            "recall": float(recall_score(gold, predicted, zero_division=0)),
            "f1": float(f1_score(gold, predicted, zero_division=0)),
        }
    averages = {"micro avg", "macro avg", "weighted avg"}
    out["per_label"] = {
        label: {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        for label, row in report.items()
        if label not in averages
    }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", help="Parquet file or dataset folder (or a .json file)")
    parser.add_argument("--gold-column", default="tags")
    parser.add_argument("--predicted-column", default="predicted_tags")
    args = parser.parse_args()
    gold, predicted = read(args.predictions, args.gold_column, args.predicted_column)
    if any(g is None or p is None for g, p in zip(gold, predicted)):
        sys.exit("error: a row has null tags")
    json.dump(scores(gold, predicted), sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
