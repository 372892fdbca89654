"""Pages per second for the peer: BeautifulSoup with lxml doing the same work as
stk_yahoo::page::parse on one saved quote page (find the fin-streamer elements of the symbol
and the summary cells, read their values, look for the embedded root.App.main JSON).

    python bench/page_bs4.py PAGE.html|CAPTURE.recorded.json SYMBOL [SECONDS]
"""
import json
import sys
import time

from bs4 import BeautifulSoup

FIELDS = {
    "regularMarketPrice", "regularMarketTime", "regularMarketVolume", "regularMarketOpen",
    "regularMarketDayHigh", "regularMarketDayLow", "marketState", "preMarketPrice",
    "preMarketTime", "postMarketPrice", "postMarketTime",
}


def parse(html, symbol):
    soup = BeautifulSoup(html, "lxml")
    q = {}
    for el in soup.find_all("fin-streamer", attrs={"data-field": True, "data-symbol": True}):
        if el["data-symbol"].upper() != symbol.upper() or el["data-field"] not in FIELDS:
            continue
        v = (el.get("value") or "").strip()
        if v and el["data-field"] not in q:
            q[el["data-field"]] = v
    for test in ("OPEN-value", "DAYS_RANGE-value"):
        cell = soup.find(attrs={"data-test": test})
        if cell is not None:
            q[test] = cell.get_text().strip()
    i = html.find("root.App.main")
    if i >= 0:
        j = html.find("{", i)
        try:
            json.JSONDecoder().raw_decode(html[j:])
        except ValueError:
            pass
    return q


def main():
    path, symbol = sys.argv[1], sys.argv[2]
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    raw = open(path, encoding="utf-8-sig").read()
    html = json.loads(raw)["response"]["body"] if path.endswith(".json") else raw
    print("result:", parse(html, symbol))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < secs:
        parse(html, symbol)
        n += 1
    el = time.perf_counter() - start
    print(f"BeautifulSoup(lxml): {n} pages in {el:.2f} s = {n / el:.1f} pages/s ({el * 1000 / n:.2f} ms/page)")


if __name__ == "__main__":
    main()
