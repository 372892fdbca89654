"""Peer for the streaming benchmark: a plain Python loop computing
abs(pct_change(close, 1m)) > 1% per symbol with rising-edge firing, over records already
decoded into Python lists (decoding is not timed, as for stkc).

usage: python alerts_python.py FILE.parquet
"""
import collections
import sys
import time

import duckdb


def main(path):
    rows = duckdb.sql(f"select symbol, epoch_us(ts) as ts, close from read_parquet('{path}')").fetchall()
    window = 60_000_000
    state = {}
    firings = 0
    start = time.perf_counter()
    for symbol, ts, close in rows:
        s = state.get(symbol)
        if s is None:
            s = state[symbol] = [collections.deque(), False]
        prior = s[0]
        cutoff = ts - window
        while len(prior) >= 2 and prior[1][0] <= cutoff:
            prior.popleft()
        ref = prior[0][1] if prior and prior[0][0] <= cutoff else None
        prior.append((ts, close))
        cond = ref is not None and ref != 0 and abs((close - ref) / ref) > 0.01
        if cond and not s[1]:
            firings += 1
        s[1] = cond
    secs = time.perf_counter() - start
    print(f"python loop: {len(rows)} records, {firings} firings, {secs:.3f} s, {len(rows) / secs / 1e6:.2f} M records/s")


if __name__ == "__main__":
    main(sys.argv[1])
