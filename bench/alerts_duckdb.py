"""Peer for the batch benchmark: DuckDB computing abs(pct_change(close, 1m)) > 1% per symbol
with an ASOF JOIN, and rising-edge firings with a window LAG, straight from Parquet.

usage: python alerts_duckdb.py FILE.parquet THREADS
"""
import sys
import time

import duckdb


def main(path, threads):
    con = duckdb.connect()
    con.execute(f"set threads = {int(threads)}")
    start = time.perf_counter()
    n, firings = con.execute(
        f"""
        with t as (select symbol, ts, close from read_parquet('{path}')),
        j as (
            select a.symbol, a.ts, a.close, b.close as ref
            from t a asof left join t b
              on a.symbol = b.symbol and a.ts - interval 60 second >= b.ts
        ),
        c as (
            select symbol, ts,
                   coalesce(abs((close - ref) / nullif(ref, 0)) > 0.01, false) as cond
            from j
        ),
        e as (
            select cond and not coalesce(lag(cond) over (partition by symbol order by ts), false) as fire
            from c
        )
        select count(*), count(*) filter (where fire) from e
        """
    ).fetchone()
    secs = time.perf_counter() - start
    print(f"duckdb asof ({threads} thread(s)): {n} rows, {firings} firings, {secs:.3f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
