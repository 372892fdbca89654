#!/usr/bin/env python3
"""Independent oracle for `stkc backtest`: alert firings checked against DuckDB's ASOF JOIN.

Generates (deterministically) a JSONL file of quotes for 20 random symbols -- irregular
timestamps, random-walk prices with jumps, null and zero closes, duplicate (symbol, ts) records
with other prices and late records -- plus one scripted symbol of edge cases (a move of exactly
1%, a firing exactly at the end of a cooldown), and a pipeline with

    alert move { when = abs(pct_change(close, 1m)) > 1%  per = symbol  cooldown = 5m }

then computes the expected firings without any stkc code:

  1. admission: per symbol, in arrival order, a record is admitted iff its ts is greater than
     the ts of every earlier arrival of that symbol (equal: duplicate, first wins; lower: late).
     Done twice, in plain Python and in DuckDB SQL (a running max over arrival order), and the
     two must agree;
  2. reference: `ASOF LEFT JOIN` of the admitted records with themselves on
     `a.symbol = b.symbol AND a.ts - INTERVAL 60 SECOND >= b.ts` (the latest record at least a
     minute older); pct = (close - ref) / ref, null when close or ref is null or ref is 0;
  3. firing: per symbol in ts order, a rising edge of `abs(pct) > 0.01` (null is not true)
     fires unless within 5 minutes of the last notification (the edge is then used up).

It runs `stkc backtest --format json` with `--engine batch` and `--engine streaming` and
requires each to produce exactly the expected (alert, symbol, ts) set, with `value` (the
condition's left-hand side, abs(pct)) equal within 1e-9 relative.

Usage: python alerts_oracle.py [--records N] [--seed S] [--keep DIR]
The stkc binary is $STKC, else $CARGO_TARGET_DIR/debug/stkc, else
~/.cache/stkc-target/debug/stkc. Needs `duckdb` (tests/oracle/setup-venv.sh installs it).
Exit 0 when both engines match, 1 on a mismatch (the first 20 per engine are printed) or when
stkc fails, 2 when it cannot run (no binary, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb

ALERT = "move"
WINDOW_S = 60
THRESHOLD = 0.01  # 1%
COOLDOWN_S = 300
REL_TOL = 1e-9

PIPELINE = """\
pipeline oracle {
  region = "eu-west-1"
}

source s: yahoo {
  symbols = ["AAA"]
  every = 5s
}

schema q {
  symbol: string required
  ts: timestamp required
  close: float64
  currency: string required
}

alert move {
  when = abs(pct_change(close, 1m)) > 1%
  per = symbol
  cooldown = 5m
}
"""

START = int(datetime(2026, 11, 27, 14, 30, tzinfo=timezone.utc).timestamp())


def stkc_path() -> str:
    if os.environ.get("STKC"):
        return os.environ["STKC"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/stkc-target")
    return os.path.join(target, "debug", "stkc")


def rfc3339(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s: str) -> int:
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if d.microsecond:
        raise ValueError(f"unexpected sub-second ts {s!r}")
    return int(d.timestamp())


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def scripted() -> list[tuple[int, int, float | None]]:
    """Edge cases random data rarely hits, as (arrival key, ts, close) of one symbol: a move of
    exactly 1% (not > 1%), a rising edge suppressed by the cooldown, a firing exactly at
    t0 + cooldown, a duplicate of that firing record and a late record that would change a
    later reference if it were admitted."""
    t0 = START
    out: list[tuple[int, int, float | None]] = [(t0, t0, 100.0), (t0 + 60, t0 + 60, 101.0)]
    out.append((t0 + 70, t0 + 70, 98.99))  # ref 100 at t0: -1.01%, fires (t0 + 70)
    for dt in range(80, 361, 10):
        out.append((t0 + dt, t0 + dt, 102.0 if dt == 200 else 100.0))  # edge at 200: suppressed
    out.append((t0 + 370, t0 + 370, 102.0))  # edge exactly at t0 + 70 + 5m: fires
    out.append((t0 + 370, t0 + 370, 100.0))  # duplicate: ignored
    out.append((t0 + 380, t0 + 380, 100.0))
    out.append((t0 + 380, t0 + 320, 50.0))  # late (the ref of t0 + 380): ignored
    for dt in range(390, 800, 7):
        out.append((t0 + dt, t0 + dt, 100.0 + (dt % 3)))
    return out


def generate(n_records: int, seed: int) -> list[tuple[str, int, float | None]]:
    """Records (symbol, ts epoch seconds, close) in arrival order, exactly n_records of them."""
    rng = random.Random(seed)
    symbols = [chr(65 + i) * 3 for i in range(20)]  # AAA .. TTT, random
    edge = scripted()
    share = (n_records - len(edge)) // len(symbols)
    rest = n_records - len(edge) - share * len(symbols)
    per_symbol: list[list[tuple[int, int, float | None]]] = []  # (arrival key, ts, close)
    for i, _sym in enumerate(symbols):
        count = share + (1 if i < rest else 0)
        out: list[tuple[int, int, float | None]] = []
        ts = START + rng.randint(0, 30)
        newest = ts
        price = rng.uniform(20.0, 500.0)
        vol = rng.uniform(0.0006, 0.0018)  # per-record log-return volatility
        emitted: list[int] = []  # ts of the normal records so far
        while len(out) < count:
            r = rng.random()
            if out and r < 0.006:
                # Duplicate of the newest record, arriving before any newer one: same
                # (symbol, ts), another price (a 2-4% move, so a wrong winner shows).
                other = price * (1 + rng.choice((-1, 1)) * rng.uniform(0.02, 0.04))
                out.append((newest, newest, round(other, 4)))
                continue
            if out and r < 0.012:
                # Late: older than the newest of the symbol; half of them hit the ts of an
                # earlier record exactly, half fall in between. Prices far off.
                if rng.random() < 0.5 and len(emitted) > 1:
                    late_ts = rng.choice(emitted[-30:-1])
                else:
                    late_ts = newest - rng.randint(1, 180)
                other = price * (1 + rng.choice((-1, 1)) * rng.uniform(0.02, 0.06))
                out.append((newest, late_ts, round(other, 4)))
                continue
            # A normal record: the next step of the walk.
            if emitted:
                gap = rng.randint(60, 900) if rng.random() < 0.01 else rng.randint(1, 20)
                ts = newest + gap
            newest = ts
            price *= math.exp(rng.gauss(0.0, vol))
            if rng.random() < 0.004:
                price *= 1 + rng.choice((-1, 1)) * rng.uniform(0.01, 0.03)
            u = rng.random()
            if u < 0.01:
                close: float | None = None
            elif u < 0.0105:
                close = 0.0  # a zero reference makes pct_change null
            else:
                close = round(price, 4)
            out.append((ts, ts, close))
            emitted.append(ts)
        per_symbol.append(out)
    symbols.append("ZZZ")
    per_symbol.append(edge)
    merged = []
    for i, (sym, rows) in enumerate(zip(symbols, per_symbol)):
        for seq, (arrival, ts, close) in enumerate(rows):
            merged.append((arrival, i, seq, sym, ts, close))
    merged.sort(key=lambda r: (r[0], r[1], r[2]))  # keeps each symbol's own order
    assert len(merged) == n_records
    return [(sym, ts, close) for (_a, _i, _s, sym, ts, close) in merged]


def write_jsonl(path: Path, records: list[tuple[str, int, float | None]]) -> None:
    with path.open("w") as f:
        for sym, ts, close in records:
            f.write(
                json.dumps({"symbol": sym, "ts": rfc3339(ts), "close": close, "currency": "USD"})
                + "\n"
            )


# ---------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------


def admit_python(records: list[tuple[str, int, float | None]]) -> list[bool]:
    newest: dict[str, int] = {}
    out = []
    for sym, ts, _close in records:
        n = newest.get(sym)
        ok = n is None or ts > n  # == n: duplicate (first wins); < n: late
        if ok:
            newest[sym] = ts
        out.append(ok)
    return out


def expected_firings(records: list[tuple[str, int, float | None]]):
    """Expected firings {(alert, symbol, ts): value} plus per-record details and counts."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE raw AS SELECT * FROM (SELECT unnest($1) AS idx, unnest($2) AS symbol,"
        " make_timestamp(unnest($3)::BIGINT * 1000000) AS ts, unnest($4)::DOUBLE AS close)",
        [
            list(range(len(records))),
            [r[0] for r in records],
            [r[1] for r in records],
            [r[2] for r in records],
        ],
    )
    # Admission in SQL: admitted iff ts > max(ts) of the earlier arrivals of the symbol.
    con.execute(
        """
        CREATE TABLE arrivals AS
        SELECT idx, symbol, ts, close,
               max(ts) OVER (PARTITION BY symbol ORDER BY idx
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max
        FROM raw
        """
    )
    sql_admitted = {
        i
        for (i,) in con.execute(
            "SELECT idx FROM arrivals WHERE prev_max IS NULL OR ts > prev_max"
        ).fetchall()
    }
    py_admitted = {i for i, ok in enumerate(admit_python(records)) if ok}
    if sql_admitted != py_admitted:
        raise SystemExit("oracle: internal error: SQL and Python admission disagree")
    counts = con.execute(
        """
        SELECT count(*) FILTER (WHERE prev_max IS NULL OR ts > prev_max),
               count(*) FILTER (WHERE ts = prev_max),
               count(*) FILTER (WHERE ts < prev_max),
               count(*) FILTER (WHERE close IS NULL)
        FROM arrivals
        """
    ).fetchone()
    con.execute(
        "CREATE TABLE admitted AS SELECT idx, symbol, ts, close FROM arrivals"
        " WHERE prev_max IS NULL OR ts > prev_max"
    )
    rows = con.execute(
        f"""
        SELECT a.symbol, epoch(a.ts)::BIGINT AS t, a.close, b.close AS ref,
               epoch(b.ts)::BIGINT AS ref_t,
               CASE WHEN a.close IS NULL OR b.close IS NULL OR b.close = 0 THEN NULL
                    ELSE (a.close - b.close) / b.close END AS pct
        FROM admitted a
        ASOF LEFT JOIN admitted b
          ON a.symbol = b.symbol AND a.ts - INTERVAL {WINDOW_S} SECOND >= b.ts
        ORDER BY a.symbol, a.ts
        """
    ).fetchall()
    con.close()

    expected: dict[tuple[str, str, int], float] = {}
    detail: dict[tuple[str, int], tuple] = {}
    prev_sym = None
    prev_true = False
    last_sent: int | None = None
    for sym, t, close, ref, ref_t, pct in rows:
        if sym != prev_sym:
            prev_sym, prev_true, last_sent = sym, False, None
        cond = None if pct is None else abs(pct) > THRESHOLD
        now_true = cond is True
        detail[(sym, t)] = (close, ref, ref_t, pct, cond)
        if now_true and not prev_true:
            # A rising edge: used up whether or not the cooldown lets it through.
            if last_sent is None or t >= last_sent + COOLDOWN_S:
                last_sent = t
                expected[(ALERT, sym, t)] = abs(pct)
        prev_true = now_true
    stats = {
        "admitted": counts[0],
        "duplicates": counts[1],
        "late": counts[2],
        "null_close": counts[3],
    }
    return expected, detail, stats


# ---------------------------------------------------------------------------------------------
# stkc
# ---------------------------------------------------------------------------------------------


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def check_pipeline(stkc: str, pipeline: Path) -> None:
    p = run([stkc, "check", str(pipeline)])
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"oracle: `stkc check` rejected the generated pipeline ({pipeline})")
    text = (p.stdout + p.stderr).strip()
    if "0 warnings" not in text:
        print(f"oracle: note: `stkc check` reports warnings:\n{text}", file=sys.stderr)


def backtest(stkc: str, pipeline: Path, data: Path, engine: str, n_records: int):
    cmd = [stkc, "backtest", str(pipeline), "--input", str(data), "--format", "json",
           "--engine", engine]
    p = run(cmd)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"oracle: `{' '.join(cmd)}` exited {p.returncode}")
    head = f"over {n_records} record(s) (0 rejected by validation)"
    if head not in p.stderr:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"oracle: {engine}: expected stkc to read all {n_records} records")
    got: dict[tuple[str, str, int], object] = {}
    dup = []
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        f = json.loads(line)
        k = (f["alert"], f["key"]["symbol"], parse_ts(f["ts"]))
        if k in got:
            dup.append(k)
        got[k] = f["value"]
    return got, dup


def close_enough(a, b) -> bool:
    if not isinstance(b, (int, float)) or isinstance(b, bool):
        return False
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def compare(engine: str, expected, got, dup, detail) -> list[str]:
    problems = []

    def ctx(sym: str, t: int) -> str:
        d = detail.get((sym, t))
        if d is None:
            return "not an admitted record"
        close, ref, ref_t, pct, cond = d
        ref_at = rfc3339(ref_t) if ref_t is not None else None
        return f"close={close} ref={ref} (at {ref_at}) pct={pct} cond={cond}"

    for k in dup:
        problems.append(f"{engine}: firing reported twice: {k[0]} {k[1]} {rfc3339(k[2])}")
    for k in sorted(set(expected) - set(got), key=lambda k: (k[1], k[2])):
        problems.append(
            f"{engine}: missing   {k[0]} {k[1]} {rfc3339(k[2])}  expected value "
            f"{expected[k]!r}; {ctx(k[1], k[2])}"
        )
    for k in sorted(set(got) - set(expected), key=lambda k: (k[1], k[2])):
        problems.append(
            f"{engine}: unexpected {k[0]} {k[1]} {rfc3339(k[2])}  stkc value {got[k]!r}; "
            f"oracle: {ctx(k[1], k[2])}"
        )
    for k in sorted(set(got) & set(expected), key=lambda k: (k[1], k[2])):
        if not close_enough(expected[k], got[k]):
            problems.append(
                f"{engine}: value     {k[0]} {k[1]} {rfc3339(k[2])}  stkc {got[k]!r} != "
                f"oracle {expected[k]!r}; {ctx(k[1], k[2])}"
            )
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--keep", metavar="DIR", help="write the pipeline and data here and keep them")
    args = ap.parse_args()
    if args.records < 1000:
        ap.error("--records must be at least 1000")

    stkc = stkc_path()
    if not os.access(stkc, os.X_OK):
        print(f"oracle: no stkc binary at {stkc} (set STKC)", file=sys.stderr)
        return 2

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stkc-oracle-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        pipeline = work / "oracle.stk"
        data = work / "quotes.jsonl"
        pipeline.write_text(PIPELINE)
        check_pipeline(stkc, pipeline)

        records = generate(args.records, args.seed)
        write_jsonl(data, records)
        expected, detail, stats = expected_firings(records)
        if not expected:
            print("oracle: internal error: the data set makes no firing", file=sys.stderr)
            return 2

        problems = {}
        for engine in ("batch", "streaming"):
            got, dup = backtest(stkc, pipeline, data, engine, len(records))
            problems[engine] = compare(engine, expected, got, dup, detail)

    took = time.monotonic() - started
    if any(problems.values()):
        print(
            f"oracle: MISMATCH: stkc disagrees with DuckDB ASOF JOIN on {len(records)} records "
            f"(seed {args.seed}; {len(expected)} expected firings)",
            file=sys.stderr,
        )
        for engine, lines in problems.items():
            shown = f", first {min(len(lines), 20)}" if lines else ""
            print(f"  {engine}: {len(lines)} mismatch(es){shown}", file=sys.stderr)
            for line in lines[:20]:
                print("    " + line, file=sys.stderr)
        if not args.keep:
            print("  (rerun with --keep DIR to keep the pipeline and data)", file=sys.stderr)
        return 1
    print(
        f"oracle: {len(records)} records, {len(expected)} firings, batch and streaming match "
        f"DuckDB ASOF JOIN ({stats['duplicates']} duplicates, {stats['late']} late, "
        f"{stats['null_close']} null closes; {took:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
