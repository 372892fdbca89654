"""Independent read-back of a local lake written by `stkc run pipelines/demo.stk`: DuckDB reads
the hive-partitioned Parquet and checks row counts, uniqueness, the partition layout and the
schema, without any stkc code.

usage: python lake_check.py LAKE_DIR EXPECTED_ROWS
"""
import sys

import duckdb


def main(lake, expected):
    con = duckdb.connect()
    src = f"read_parquet('{lake}/lake/**/*.parquet', hive_partitioning = true)"
    rows, unique, symbols, days = con.execute(
        f"select count(*), count(distinct (symbol, ts)), count(distinct symbol), count(distinct date) from {src}"
    ).fetchone()
    types = dict(con.execute(f"select column_name, column_type from (describe select * from {src})").fetchall())
    wrong_partition = con.execute(
        f"select count(*) from {src} where strftime(ts at time zone 'UTC', '%Y-%m-%d') <> cast(date as varchar)"
    ).fetchone()[0]
    problems = []
    if rows != expected:
        problems.append(f"{rows} rows, expected {expected}")
    if unique != rows:
        problems.append(f"{rows - unique} duplicated (symbol, ts)")
    if (symbols, days) != (4, 1):
        problems.append(f"{symbols} symbols over {days} days, expected 4 over 1")
    if wrong_partition:
        problems.append(f"{wrong_partition} rows in the wrong date= partition")
    for col, ty in {"ts": "TIMESTAMP WITH TIME ZONE", "close": "DOUBLE", "volume": "BIGINT", "symbol": "VARCHAR"}.items():
        if types.get(col) != ty:
            problems.append(f"column {col} is {types.get(col)}, expected {ty}")
    if problems:
        print("lake check FAILED: " + "; ".join(problems))
        sys.exit(1)
    print(f"lake check: {rows} rows, unique, 4 symbol partitions, types as the schema says (DuckDB)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
