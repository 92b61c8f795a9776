#!/usr/bin/env python3
"""Closed-loop load on an /infill server: C clients, each sending the next case of a shared list
as soon as its previous answer came back, until R requests are done. Standard library only.
Prints one JSON line: clients, requests, latency p50/p95 (ms, whole HTTP request), requests/s
and generated tokens/s over the wall time, mean tokens per answer.

    python3 bench/serve/load.py --port P --cases cases.json --clients C --requests R [--no-filename]
--no-filename drops each case's "filename" (wisp then uses its plain FIM prompt, not its pipeline).
"""
import argparse
import http.client
import json
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cases", required=True)
ap.add_argument("--clients", type=int, default=1)
ap.add_argument("--requests", type=int, default=32)
ap.add_argument("--no-filename", action="store_true")
ap.add_argument("--label", default="")
a = ap.parse_args()

cases = json.load(open(a.cases))
if a.no_filename:
    cases = [{k: v for k, v in c.items() if k != "filename"} for c in cases]
lock = threading.Lock()
next_i = 0
lat, toks, errors = [], [], []


def client():
    global next_i
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=300)
    while True:
        with lock:
            i = next_i
            next_i += 1
        if i >= a.requests:
            break
        body = json.dumps(cases[i % len(cases)])
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/infill", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            ms = (time.perf_counter() - t0) * 1000
            j = json.loads(data)
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}: {data[:200]!r}")
            with lock:
                lat.append(ms)
                toks.append(j.get("tokens_predicted", 0))
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=300)
    conn.close()


t0 = time.perf_counter()
ts = [threading.Thread(target=client) for _ in range(a.clients)]
for t in ts:
    t.start()
for t in ts:
    t.join()
wall = time.perf_counter() - t0


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


print(json.dumps({"label": a.label, "clients": a.clients, "requests": len(lat), "errors": len(errors),
                  "p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1),
                  "req_s": round(len(lat) / wall, 2), "tok_s": round(sum(toks) / wall, 1),
                  "mean_tokens": round(sum(toks) / max(1, len(toks)), 1), "wall_s": round(wall, 2),
                  "first_error": errors[0] if errors else None}), flush=True)
