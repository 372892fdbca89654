"""The peers of `compact_bench run`: the same NDJSON file to the same partitioned, zstd Parquet
lake (date=YYYY-MM-DD/symbol=X/), with the same validation as pipelines/stocks.stk (symbol
pattern, close > 0 and price > 0, high >= low), in pyarrow, polars and DuckDB.

    python bench/compact_peers.py ENGINE FILE THREADS OUTDIR

Set the thread count before the engine is imported (polars reads POLARS_MAX_THREADS then).
Prints one line like compact_bench: rows, files, seconds, records/s.
"""

import os
import sys
import time

engine, path, threads, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.environ["POLARS_MAX_THREADS"] = str(threads)
PATTERN = r"^[A-Z0-9.^=-]{1,12}$"


def count_files(root):
    return sum(len(f) for _, _, f in os.walk(root))


def run_pyarrow():
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.json as pj

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    schema = pa.schema(
        [
            ("symbol", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("price", pa.float64()),
            ("open", pa.float64()),
            ("high", pa.float64()),
            ("low", pa.float64()),
            ("close", pa.float64()),
            ("volume", pa.int64()),
            ("currency", pa.string()),
        ]
    )
    t = pj.read_json(
        path,
        read_options=pj.ReadOptions(use_threads=threads > 1),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )
    ok = pc.and_(
        pc.and_(pc.match_substring_regex(t["symbol"], PATTERN), pc.greater(t["close"], 0)),
        pc.and_(pc.greater(t["price"], 0), pc.fill_null(pc.greater_equal(t["high"], t["low"]), True)),
    )
    t = t.filter(ok)
    t = t.append_column("date", pc.strftime(t["ts"], format="%Y-%m-%d"))
    ds.write_dataset(
        t,
        out,
        format="parquet",
        partitioning=["date", "symbol"],
        partitioning_flavor="hive",
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
        use_threads=threads > 1,
        existing_data_behavior="overwrite_or_ignore",
    )
    return t.num_rows


def run_polars():
    import polars as pl

    schema = {
        "symbol": pl.String,
        "ts": pl.String,
        "price": pl.Float64,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
        "currency": pl.String,
    }
    df = pl.read_ndjson(path, schema=schema)
    df = df.with_columns(pl.col("ts").str.to_datetime(time_unit="us", time_zone="UTC")).filter(
        pl.col("symbol").str.contains(PATTERN)
        & (pl.col("close") > 0)
        & (pl.col("price") > 0)
        & (pl.col("high") >= pl.col("low")).fill_null(True)
    )
    df = df.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("date"))
    df.write_parquet(out, compression="zstd", partition_by=["date", "symbol"])
    return df.height


def run_duckdb():
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    # COPY answers with the number of rows it wrote.
    return con.execute(
        f"""
        COPY (
          SELECT *, strftime(ts, '%Y-%m-%d') AS date FROM read_json(?, format = 'newline_delimited',
            columns = {{symbol: 'VARCHAR', ts: 'TIMESTAMPTZ', price: 'DOUBLE', open: 'DOUBLE',
                        high: 'DOUBLE', low: 'DOUBLE', close: 'DOUBLE', volume: 'BIGINT',
                        currency: 'VARCHAR'}})
          WHERE regexp_full_match(symbol, '{PATTERN[1:-1]}') AND close > 0 AND price > 0
            AND coalesce(high >= low, true)
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date, symbol))
        """,
        [path],
    ).fetchone()[0]


start = time.perf_counter()
rows = {"pyarrow": run_pyarrow, "polars": run_polars, "duckdb": run_duckdb}[engine]()
secs = time.perf_counter() - start
print(
    f"{engine:<13} threads={threads} rows={rows} files={count_files(out)} {secs:.3f} s "
    f"{rows / secs:.0f} records/s"
)
