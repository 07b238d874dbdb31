"""Write a dataset made of N copies of another one, for the bench pairs that
measure a stage on a larger input than the corpus itself (the fixed start-up
costs, such as loading jieba's dictionary, then weigh as they would on a real
corpus). Copy k > 0 of a row gets `doc_id` + `#k`, so ids stay unique.

    python bench/repeat_dataset.py INPUT OUTPUT N [ROW_GROUP_ROWS]
"""

import os
import shutil
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def main():
    src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    group_rows = int(sys.argv[4]) if len(sys.argv) > 4 else None
    table = ds.dataset(src, format="parquet", exclude_invalid_files=True).to_table()
    parts = []
    for k in range(copies):
        copy = table
        if k > 0 and "doc_id" in table.column_names:
            ids = pc.binary_join_element_wise(table.column("doc_id"), pa.scalar(f"{k}"), "#")
            copy = table.set_column(table.schema.get_field_index("doc_id"),
                                    table.schema.field("doc_id"), ids.cast(pa.string()))
        parts.append(copy)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    pq.write_table(pa.concat_tables(parts), os.path.join(out, "part-00000.parquet"),
                   compression="zstd", row_group_size=group_rows)


if __name__ == "__main__":
    main()
