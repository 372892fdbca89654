"""The peer of runtime-lambda/examples/transform_bench.rs: a Python Lambda handler with orjson
doing the same work on the same Kinesis event file (parse the event, base64-decode each
record, decode and validate the tick with the rules of pipelines/stocks.stk, encode InfluxDB
line protocol). Usage: python bench/transform_orjson.py EVENT.json"""
import base64, re, sys, time
from datetime import datetime
import orjson

SYMBOL = re.compile(r"^[A-Z0-9.^=-]{1,12}$")
FIELDS = ("price", "open", "high", "low", "close", "volume")

def esc_tag(v):
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")

def handler(event_bytes):
    event = orjson.loads(event_bytes)
    out, dead = [], []
    for r in event["Records"]:
        data = base64.b64decode(r["kinesis"]["data"])
        for raw in data.splitlines():
            t = orjson.loads(raw)
            sym, ts, cur = t.get("symbol"), t.get("ts"), t.get("currency")
            price, close = t.get("price"), t.get("close")
            if not isinstance(sym, str) or not SYMBOL.match(sym) or not isinstance(cur, str) \
                    or ts is None or price is None or close is None:
                dead.append((r["kinesis"]["sequenceNumber"], "schema")); continue
            if not (close > 0 and price > 0):
                dead.append((r["kinesis"]["sequenceNumber"], "positive")); continue
            hi, lo = t.get("high"), t.get("low")
            if hi is not None and lo is not None and not hi >= lo:
                dead.append((r["kinesis"]["sequenceNumber"], "range")); continue
            dt = datetime.fromisoformat(ts)
            ns = (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000
            fields = []
            for f in FIELDS:
                v = t.get(f)
                if v is None: continue
                fields.append(f"{f}={v}i" if f == "volume" else f"{f}={float(v)!r}")
            out.append(f"quote,currency={esc_tag(cur)},symbol={esc_tag(sym)} {','.join(fields)} {ns}\n")
    return "".join(out).encode(), dead

if __name__ == "__main__":
    payload = open(sys.argv[1], "rb").read()
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        body, dead = handler(payload)
        best = min(best, time.perf_counter() - start)
    n = len(orjson.loads(payload)["Records"])
    assert not dead
    print(f"python+orjson transform: {n} records in {best*1e3:.2f} ms (best of 20) = {n/best:.0f} records/s; {len(body)} bytes of line protocol")
