"""The other side of the `split_*` bench pairs: a grouped 80/10/10 split
with pandas + scikit-learn's GroupShuffleSplit, as a user would write it:
read the Parquet with pyarrow into pandas, split train from the rest by
source_id, split the rest into valid and test by source_id, write the three
splits as zstd Parquet files.

    python bench/split_sklearn.py DATASET OUT

GroupShuffleSplit sizes its splits in groups, not rows (scikit-learn issue
#9297), so its row fractions miss the ratios; the realised train fraction is
printed. Timed as a whole process by the harness (imports included, as for
ore); prints {"rows", "train_fraction"}.
"""

import json
import os
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sklearn.model_selection import GroupShuffleSplit


def main():
    src, out = sys.argv[1], sys.argv[2]
    frame = ds.dataset(src, format="parquet").to_table().to_pandas()
    groups = frame["source_id"].to_numpy()
    first = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=42)
    train_idx, rest_idx = next(first.split(frame, groups=groups))
    rest = frame.iloc[rest_idx]
    second = GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=42)
    valid_idx, test_idx = next(second.split(rest, groups=rest["source_id"].to_numpy()))
    parts = {"train": frame.iloc[train_idx], "valid": rest.iloc[valid_idx], "test": rest.iloc[test_idx]}
    for name, part in parts.items():
        os.makedirs(f"{out}/{name}", exist_ok=True)
        part = part.assign(split=name)
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       f"{out}/{name}/part-00000.parquet", compression="zstd")
    print(json.dumps({"rows": len(frame), "train_fraction": len(train_idx) / len(frame)}))


if __name__ == "__main__":
    main()
