"""A Yahoo Finance stand-in for the scraper's memory benchmark (bench/run-producer.sh): answers
any symbol on loopback, in the shapes of the project's own fixtures
(engine/yahoo/tests/data/chart-1m-nulls.json and quote-batch.json):

  /v8/finance/chart/{symbol}        one chart result, the newest minute with a price
  /v7/finance/quote?symbols=A,B,... one quote result per symbol
  /quote/{symbol}                   a small page that sets a cookie (the crumb flow's first step)
  /v1/test/getcrumb                 a crumb

Every answer carries the current second as the exchange time and a price that moves with
it, so each poll gives every symbol a new tick (nothing is dropped as a duplicate).

  python bench/yahoo_standin.py PORT
"""

import json
import sys
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


def price(symbol: str, now: int) -> float:
    base = 20 + zlib.crc32(symbol.encode()) % 400
    return round(base + (now % 600) / 100, 2)


def chart(symbol: str) -> dict:
    now = int(time.time())
    p = price(symbol, now)

    def r(x):
        return round(x, 2)

    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeName": "NMS",
                        "instrumentType": "EQUITY",
                        "regularMarketTime": now,
                        "gmtoffset": -18000,
                        "timezone": "EST",
                        "exchangeTimezoneName": "America/New_York",
                        "regularMarketPrice": p,
                        "dataGranularity": "1m",
                        "range": "1d",
                    },
                    # The newest bar is null, as Yahoo's newest minute often is.
                    "timestamp": [now - 60, now, now + 60],
                    "indicators": {
                        "quote": [
                            {
                                "open": [r(p - 0.1), r(p - 0.05), None],
                                "high": [r(p + 0.1), r(p + 0.15), None],
                                "low": [r(p - 0.2), r(p - 0.15), None],
                                "close": [r(p - 0.02), p, None],
                                "volume": [1200, 980 + now % 100, None],
                            }
                        ]
                    },
                }
            ],
            "error": None,
        }
    }


def quote(symbols: list) -> dict:
    now = int(time.time())
    result = []
    for s in symbols:
        p = price(s, now)
        result.append(
            {
                "symbol": s,
                "currency": "USD",
                "exchange": "NMS",
                "marketState": "REGULAR",
                "regularMarketPrice": p,
                "regularMarketTime": now,
                "regularMarketOpen": round(p - 0.5, 2),
                "regularMarketDayHigh": round(p + 0.5, 2),
                "regularMarketDayLow": round(p - 0.8, 2),
                "regularMarketVolume": 41234567 + now % 1000,
            }
        )
    return {"quoteResponse": {"result": result, "error": None}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status: int, body: bytes, ctype: str, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        path = url.path
        js = "application/json;charset=utf-8"
        if path.startswith("/v8/finance/chart/"):
            symbol = unquote(path[len("/v8/finance/chart/") :])
            self.answer(200, json.dumps(chart(symbol)).encode(), js)
        elif path == "/v7/finance/quote":
            q = parse_qs(url.query)
            if q.get("crumb") != ["standin-crumb"]:
                self.answer(401, b'{"finance":{"error":{"code":"Unauthorized"}}}', js)
                return
            symbols = [s for s in q.get("symbols", [""])[0].split(",") if s]
            self.answer(200, json.dumps(quote(symbols)).encode(), js)
        elif path == "/v1/test/getcrumb":
            self.answer(200, b"standin-crumb", "text/plain")
        elif path.startswith("/quote/"):
            self.answer(
                200,
                b"<html><body>quote</body></html>",
                "text/html",
                [("Set-Cookie", "A3=d=standin; Path=/; HttpOnly")],
            )
        else:
            self.answer(404, b"not found", "text/plain")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
