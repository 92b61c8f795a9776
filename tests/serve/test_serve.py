#!/usr/bin/env python3
"""`wisp serve` over real HTTP, standard library only: every endpoint, bad requests (malformed
JSON, wrong types, missing fields, 413, 404, 405, 401, 503), browsers' CORS (preflight, the
origins --cors allows, 403 for others), a client that disconnects in the
middle of a generation, 16 concurrent clients whose answers must equal the one-client answers
(greedy), and a request exactly as llama.vscode sends it.

    python3 tests/serve/test_serve.py [--wisp build/wisp] [--model models/wisp-default.gguf]

Starts its own servers on free ports (--port 0), checks each one exits 0 on SIGTERM (under ASan
that is where leaks would show), and prints one line per check; exits 1 on any failure.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--wisp", default=os.path.join(os.environ.get("WISP_BUILD_DIR", "build"), "wisp"))
ap.add_argument("--model", default="models/wisp-default.gguf")
args = ap.parse_args()
# Under ASan (a Debug build, beside other tests) a token can take a second: give generations room
# (the server's wall-clock cap, the long request's length).
SLOW = 10 if "asan" in os.path.abspath(args.wisp) else 1
TIME_CAP = ["--time-ms", str(10000 if SLOW == 1 else 600000)]
LONG_TOKENS = 1500 if SLOW == 1 else 40

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


class Server:
    def __init__(self, *extra):
        self.p = subprocess.Popen([args.wisp, "serve", "--model", args.model, "--port", "0", *TIME_CAP, *extra],
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        m = re.search(r"listening on http://([^ ]+):(\d+)", line)
        if not m:
            self.p.kill()
            raise SystemExit(f"wisp serve did not start: {line!r}")
        self.host, self.port = m.group(1), int(m.group(2))
        self.log = []
        threading.Thread(target=lambda: self.log.extend(self.p.stderr), daemon=True).start()

    def request(self, method, path, body=None, headers=None, timeout=60 * SLOW):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            j = json.loads(data)
        except ValueError:
            j = None
        return r.status, j, r

    def health(self):
        return self.request("GET", "/health")[1]

    def stop(self, name):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=60 * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "hung"
        time.sleep(0.2)
        check(rc == 0, f"{name}: server exits 0 on SIGTERM (got {rc}) {''.join(self.log)[-2000:] if rc else ''}")


def wait_until(pred, timeout=60 * SLOW):
    """Polls pred() every 10 ms until it holds or `timeout` seconds pass; returns its last value."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def is_error(status, j, code):
    return status == code and isinstance(j, dict) and isinstance(j.get("error"), dict) \
        and j["error"].get("code") == code and isinstance(j["error"].get("message"), str)


PY_PREFIX = "import os\n\n\ndef list_files(path):\n    "
PY_SUFFIX = "\n\n\ndef main():\n    print(list_files('.'))\n"

# ---- one worker, an API key, a small body limit ---------------------------------------------
s = Server("--threads", "1", "--api-key", "sekret", "--max-body", "65536", "--queue", "2")
auth = {"Authorization": "Bearer sekret"}
try:
    st, j, _ = s.request("GET", "/health")
    check(st == 200 and j.get("status") == "ok" and j.get("slots_idle") == 1, f"GET /health (open without key): {j}")
    st, j, _ = s.request("GET", "/v1/models", headers=auth)
    check(st == 200 and j.get("object") == "list" and j["data"][0]["id"] == "wisp-default.gguf"
          and j["data"][0]["object"] == "model", f"GET /v1/models: {j}")

    # /infill with a file name: wisp's pipeline (mode from context extraction), content first
    body = {"input_prefix": PY_PREFIX, "input_suffix": PY_SUFFIX, "filename": "src/files.py", "n_predict": 32}
    st, j, r = s.request("POST", "/infill", body, auth)
    check(st == 200 and list(j)[0] == "content" and isinstance(j["content"], str) and j["content"].strip(),
          f"POST /infill answers content first: {str(j)[:200]}")
    check(r.getheader("Content-Type", "").startswith("application/json"), "answers are application/json")
    check(j["wisp"]["lang"] == "python" and j["wisp"]["mode"] in ("block", "end_of_line", "mid_line"),
          f"/infill with a filename uses context extraction: {j.get('wisp')}")
    check(0 < j["tokens_predicted"] <= 32 and j["tokens_evaluated"] > 0 and j["timings"]["predicted_n"] ==
          j["tokens_predicted"], f"/infill token counts: {j['tokens_predicted']}, {j['tokens_evaluated']}")
    infill_content = j["content"]
    # same request again: same answer (greedy), and the KV cache is reused
    st, j2, _ = s.request("POST", "/infill", body, auth)
    check(st == 200 and j2["content"] == infill_content and j2["tokens_cached"] > 0,
          f"/infill repeated: same content, cache reused ({j2['tokens_cached']} tokens)")
    # a stop string cuts the answer
    if "\n" in infill_content.strip("\n"):
        first = infill_content.lstrip("\n").split("\n")[0]
        st, j3, _ = s.request("POST", "/infill", dict(body, stop=["\n"]), auth)
        check(st == 200 and "\n" not in j3["content"].lstrip("\n") and j3["stopped_word"],
              f"/infill stop ['\\n'] cuts at the line end: {j3['content']!r} (first line {first!r})")
    # no language: plain FIM prompt through the core's sampler
    st, j, _ = s.request("POST", "/infill", {"input_prefix": "x = [1, 2, 3, ", "input_suffix": "]\n",
                                              "n_predict": 8}, auth)
    check(st == 200 and j["wisp"]["mode"] == "fim" and j["tokens_predicted"] <= 8, f"/infill plain FIM: {j.get('wisp')}")
    # OpenAI-style completions
    st, j, _ = s.request("POST", "/v1/completions", {"model": "x", "prompt": PY_PREFIX, "suffix": PY_SUFFIX,
                                                      "max_tokens": 32, "temperature": 0, "stop": ["\n\n"],
                                                      "language": "python"}, auth)
    ok = st == 200 and j["object"] == "text_completion" and j["id"] and isinstance(j["created"], int) \
        and j["model"] == "wisp-default.gguf" and len(j["choices"]) == 1 and j["choices"][0]["index"] == 0 \
        and isinstance(j["choices"][0]["text"], str) and j["choices"][0]["finish_reason"] in ("stop", "length") \
        and j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] + j["usage"]["completion_tokens"]
    check(ok, f"POST /v1/completions: {str(j)[:300]}")
    check(ok and "\n\n" not in j["choices"][0]["text"], "/v1/completions honours stop")
    st, j, _ = s.request("POST", "/v1/completions", {"prompt": ["def f(x):\n    return "], "max_tokens": 4}, auth)
    check(st == 200 and j["usage"]["completion_tokens"] <= 4, f"/v1/completions prompt as [string], max_tokens 4: {j}")

    # ---- bad requests: each a 4xx with a JSON error, and the server lives on
    bad = [
        ("POST", "/infill", "{\"input_prefix\": ", 400, "malformed JSON"),
        ("POST", "/infill", "[1, 2]", 400, "a JSON array, not an object"),
        ("POST", "/infill", "", 400, "an empty body"),
        ("POST", "/infill", b"{\"input_prefix\": \"\xff\"}", 400, "invalid UTF-8"),
        ("POST", "/infill", {"input_suffix": "x"}, 400, "missing input_prefix"),
        ("POST", "/infill", {"input_prefix": 3}, 400, "input_prefix a number"),
        ("POST", "/infill", {"input_prefix": None, "filename": "m.py"}, 400, "input_prefix null (fuzz_serve)"),
        ("POST", "/infill", {"input_prefix": "a", "n_predict": "8"}, 400, "n_predict a string"),
        ("POST", "/infill", {"input_prefix": "a", "n_predict": -5}, 400, "n_predict negative"),
        ("POST", "/infill", {"input_prefix": "a", "temperature": "hot"}, 400, "temperature a string"),
        ("POST", "/infill", {"input_prefix": "a", "stop": [1]}, 400, "stop [1]"),
        ("POST", "/infill", {"input_prefix": "a", "input_extra": {"text": "x"}}, 400, "input_extra an object"),
        ("POST", "/infill", {"input_prefix": "a", "input_extra": [{"filename": "a.py"}]}, 400, "chunk without text"),
        ("POST", "/infill", {"input_prefix": "a", "input_extra": [{"text": 1}]}, 400, "chunk text a number"),
        ("POST", "/infill", {"input_prefix": "a", "samplers": [1]}, 400, "samplers [1]"),
        ("POST", "/infill", {"input_prefix": "a", "cache_prompt": "yes"}, 400, "cache_prompt a string"),
        ("POST", "/infill", {"input_prefix": "a", "language": "cobol"}, 400, "unknown language"),
        ("POST", "/infill", "{\"input_prefix\": \"a\", \"input_prefix\": \"b\"}", 400, "duplicate key"),
        ("POST", "/v1/completions", {"max_tokens": 3}, 400, "missing prompt"),
        ("POST", "/v1/completions", {"prompt": {"a": 1}}, 400, "prompt an object"),
        ("POST", "/v1/completions", {"prompt": "a", "max_tokens": 1.5}, 400, "max_tokens 1.5"),
        ("POST", "/v1/completions", {"prompt": "a", "stream": True}, 400, "stream true"),
        ("POST", "/v1/completions", {"prompt": "a", "n": 2}, 400, "n 2"),
        ("POST", "/infill", "x" * 70000, 413, "a 70 kB body over --max-body 65536"),
        ("GET", "/nowhere", None, 404, "unknown path"),
        ("POST", "/v1/chat/completions", {"messages": []}, 404, "chat completions (not served)"),
        ("GET", "/infill", None, 405, "GET /infill"),
        ("POST", "/health", {}, 405, "POST /health"),
        ("DELETE", "/v1/completions", None, 405, "DELETE /v1/completions"),
    ]
    for method, path, b, code, what in bad:
        st, j, _ = s.request(method, path, b, auth)
        check(is_error(st, j, code), f"{what} -> {code} with a JSON error (got {st}: {j})")
    for hdr, what in (({}, "no key"), ({"Authorization": "Bearer wrong"}, "wrong key"),
                      ({"Authorization": "Bearer sekret2"}, "longer key"), ({"Authorization": "sekret"}, "no Bearer")):
        st, j, _ = s.request("POST", "/infill", {"input_prefix": "a"}, hdr)
        check(is_error(st, j, 401), f"{what} -> 401 (got {st})")
    st, j, _ = s.request("GET", "/v1/models")
    check(is_error(st, j, 401), f"/v1/models without key -> 401 (got {st})")
    st, j, _ = s.request("POST", "/infill", body, auth)
    check(st == 200 and j["content"] == infill_content, "after the bad requests the server answers as before")

    # ---- browsers (CORS): pages on this machine by default; another origin gets a 403, unanswered
    page = "http://localhost:5173"
    pre = {"Origin": page, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}
    st, _, r = s.request("OPTIONS", "/infill", None, pre)
    check(st == 204 and r.getheader("Access-Control-Allow-Origin") == page
          and "authorization" in r.getheader("Access-Control-Allow-Headers", "").lower()
          and "POST" in r.getheader("Access-Control-Allow-Methods", ""),
          f"preflight from {page} (no key needed) -> 204 allowing POST with Authorization ({st})")
    st, _, r = s.request("OPTIONS", "/infill", None, {**pre, "Access-Control-Request-Private-Network": "true"})
    check(r.getheader("Access-Control-Allow-Private-Network") == "true", "preflight answers Chromium's private network check")
    st, j, r = s.request("POST", "/infill", body, {**auth, "Origin": "http://127.0.0.1:8080"})
    check(st == 200 and j["content"] == infill_content and r.getheader("Access-Control-Allow-Origin") == "http://127.0.0.1:8080",
          "a request from a page on 127.0.0.1 gets its answer with Access-Control-Allow-Origin")
    st, j, r = s.request("POST", "/infill", body, {"Origin": page})
    check(is_error(st, j, 401) and r.getheader("Access-Control-Allow-Origin") == page,
          "a 401 reaches an allowed page as a 401 (with Access-Control-Allow-Origin)")
    before = s.health()
    for origin in ("https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io:80", "null"):
        st, j, r = s.request("OPTIONS", "/infill", None, {**pre, "Origin": origin})
        check(is_error(st, j, 403) and r.getheader("Access-Control-Allow-Origin") is None, f"preflight from {origin} -> 403 ({st})")
        st, j, r = s.request("POST", "/infill", body, {**auth, "Origin": origin})
        check(is_error(st, j, 403) and r.getheader("Access-Control-Allow-Origin") is None, f"POST from {origin} -> 403 ({st})")
    check(s.health()["completions"] == before["completions"], "nothing was computed for them")

    # ---- a client that disconnects in the middle of a generation
    # (a Python list to go on counting, the language named: with no language the lease-5 model
    # ends the answer at once, where lease 3 wrote ", 2, 2, 2, ...")
    long_body = json.dumps({"input_prefix": "x = [" + ", ".join(str(i) for i in range(1, 27)) + ", ",
                            "input_suffix": "", "language": "python", "n_predict": LONG_TOKENS,
                            "t_max_predict_ms": 60000 * SLOW})
    t0 = time.monotonic()
    st, j, _ = s.request("POST", "/infill", long_body, auth)
    full_ms = (time.monotonic() - t0) * 1000
    # (512 tokens, the context's half, in ~2 s here; 40 under ASan)
    check(st == 200 and j["tokens_predicted"] >= 30 and full_ms >= 500,
          f"the long request runs {j['tokens_predicted']} tokens, {full_ms:.0f} ms")
    before = s.health()
    sock = socket.create_connection(("127.0.0.1", s.port))
    req = (f"POST /infill HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(long_body)}\r\n\r\n{long_body}").encode()
    sock.sendall(req)
    wait_until(lambda: s.health()["slots_processing"] == 1)
    time.sleep(full_ms / 1000 * 0.15)   # well inside the generation
    sock.close()
    t_close = time.monotonic()
    wait_until(lambda: (lambda h: not h["slots_processing"] and h["cancelled"] != before["cancelled"])(s.health()))
    h = s.health()
    stop_ms = (time.monotonic() - t_close) * 1000
    check(h["cancelled"] == before["cancelled"] + 1 and h["slots_processing"] == 0
          and h["completions"] == before["completions"] and stop_ms < full_ms * 0.6,
          f"disconnect mid-generation: cancelled {before['cancelled']}->{h['cancelled']}, worker free "
          f"{stop_ms:.0f} ms after the close (whole generation {full_ms:.0f} ms), no completion counted")
    st, j, _ = s.request("POST", "/infill", body, auth)
    check(st == 200 and j["content"] == infill_content, "after the disconnect the server answers as before")

    # ---- the queue: --queue 2 with one worker; a third request waiting gets 503
    results = []
    def long_req():
        results.append(s.request("POST", "/infill", long_body, auth)[0])
    ts = [threading.Thread(target=long_req) for _ in range(2)]
    for t in ts:
        t.start()
    wait_until(lambda: (lambda h: h["requests_waiting"] + h["slots_processing"] == 2)(s.health()))
    st, j, _ = s.request("POST", "/infill", body, auth)
    check(is_error(st, j, 503), f"a request over --queue gets 503 (got {st}: {j})")
    for t in ts:
        t.join()
    check(results == [200, 200], f"the two queued requests complete: {results}")

    # ---- a client that leaves while it waits in line: it leaves the line, the others go on
    before = s.health()
    results.clear()
    t = threading.Thread(target=long_req)
    t.start()
    wait_until(lambda: s.health()["slots_processing"] == 1)
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.sendall(req)
    wait_until(lambda: s.health()["requests_waiting"] == 1)
    sock.close()
    wait_until(lambda: s.health()["cancelled"] != before["cancelled"])
    h = s.health()
    check(h["cancelled"] == before["cancelled"] + 1 and h["requests_waiting"] == 0 and h["slots_processing"] == 1,
          f"a waiting client that disconnects leaves the line while the other request runs ({h})")
    t.join()
    h = s.health()
    check(results == [200] and h["slots_processing"] == 0 and h["requests_waiting"] == 0
          and h["completions"] == before["completions"] + 1, f"the running request completes, nothing left ({h})")

    # ---- llama.vscode's request, as its createRequestPayload builds it (src/llama-server.ts):
    # input_prefix = the lines before the cursor line, prompt = the cursor line before the cursor,
    # input_suffix = the rest of the line and the lines after; chunks {text, time, filename}.
    vs = {
        "input_prefix": "import os\n\n\ndef list_files(path):\n",
        "input_suffix": "\n\n\ndef main():\n    print(list_files('.'))\n",
        "input_extra": [{"text": "def walk(top):\n    return os.walk(top)\n", "time": 1733222222222,
                         "filename": "src/util.py"}],
        "prompt": "    return ",
        "n_predict": 128,
        "top_k": 40,
        "top_p": 0.99,
        "stream": False,
        "samplers": ["top_k", "top_p", "infill"],
        "cache_prompt": True,
        "t_max_prompt_ms": 500,
        "t_max_predict_ms": 1000 * SLOW,
    }
    st, j, _ = s.request("POST", "/infill", vs, auth)
    check(st == 200 and list(j)[0] == "content" and j["content"].strip() != "" and j["wisp"]["lang"] == "python"
          and isinstance(j["timings"]["prompt_n"], int) and isinstance(j["tokens_cached"], int)
          and isinstance(j["truncated"], bool),
          f"llama.vscode's request answered (language from input_extra's filename): {str(j)[:300]}")
    vs_content = j["content"]
    # the same cursor as one document through the pipeline gives the same answer
    st, j, _ = s.request("POST", "/infill", {"input_prefix": vs["input_prefix"] + vs["prompt"],
                                              "input_suffix": vs["input_suffix"], "filename": "untitled.py",
                                              "n_predict": 128, "input_extra": vs["input_extra"]}, auth)
    check(st == 200 and j["content"] == vs_content, f"prompt is the cursor line: same answer as prefix+prompt ({vs_content!r})")
    # and its warm-up request (n_predict 0, samplers [], t_max_predict_ms 1) gets an empty answer
    st, j, _ = s.request("POST", "/infill", {"input_prefix": "", "input_suffix": "", "input_extra": vs["input_extra"],
                                              "prompt": "", "n_predict": 0, "samplers": [], "cache_prompt": True,
                                              "t_max_prompt_ms": 500, "t_max_predict_ms": 1}, auth)
    check(st == 200 and j["content"] == "" and j["tokens_predicted"] == 0, f"llama.vscode's warm-up request: {j}")
finally:
    s.stop("one worker")

# ---- --cors names the origins allowed ('*': any)
for flag, allowed, refused in ((["--cors", "https://a.example, https://b.example"], ["https://b.example"], ["http://localhost:5173", "https://c.example"]),
                               (["--cors", "*"], ["https://any.example", "http://localhost:1"], []),
                               (["--cors", ""], [], ["http://localhost:5173"])):
    s = Server("--threads", "1", *flag)
    try:
        for origin in allowed + refused:
            st, j, r = s.request("POST", "/infill", {"input_prefix": "x = ", "n_predict": 2}, {"Origin": origin})
            want = origin in allowed
            check((st == 200 and r.getheader("Access-Control-Allow-Origin") == origin) if want else is_error(st, j, 403),
                  f"{' '.join(flag)!r}: {origin} {'allowed' if want else 'refused'} ({st})")
        st, j, _ = s.request("POST", "/infill", {"input_prefix": "x = ", "n_predict": 2})
        check(st == 200, f"{' '.join(flag)!r}: a request without Origin (not a browser) is answered ({st})")
    finally:
        s.stop(f"cors {flag[1]!r}")

# ---- 16 concurrent clients, distinct prompts, greedy: each answer equals its one-client answer
names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo",
         "lima", "mike", "november", "oscar", "papa"]
kinds = ["python", "c", "javascript", "none"]
def prompt_for(i):
    # each prompt defines a name the answer should use, so that answers differ between clients
    n, k = names[i], kinds[i % 4]
    if k == "python":
        return {"input_prefix": f"class Config:\n    def __init__(self, {n}):\n        self.{n} = {n}\n\n"
                                f"    def get_{n}(self):\n        return ",
                "input_suffix": "\n", "filename": f"{n}.py", "n_predict": 24}
    if k == "c":
        return {"input_prefix": f"struct point {{ int {n}; }};\n\nint get_{n}(const struct point *p) {{\n    return ",
                "input_suffix": ";\n}\n", "language": "c", "n_predict": 24}
    if k == "javascript":
        return {"input_prefix": f"const config = {{ {n}: 1 }};\n\nfunction get_{n}() {{\n  return ",
                "input_suffix": ";\n}\n", "filename": f"{n}.js", "n_predict": 24}
    return {"input_prefix": f"{n}_value = 1\nprint(", "input_suffix": ")\n", "n_predict": 24}

s = Server("--threads", "2", "--queue", "32")
try:
    single = []
    for i in range(16):
        st, j, _ = s.request("POST", "/infill", prompt_for(i))
        single.append(j["content"] if st == 200 else None)
    check(all(c is not None for c in single), "16 prompts, one client at a time")
    check(len(set(single)) >= 12, f"the 16 answers are mostly distinct ({len(set(single))} distinct: {single!r})")
    got = [None] * 16
    errs = []
    barrier = threading.Barrier(16)
    def client(i):
        try:
            barrier.wait()
            st, j, _ = s.request("POST", "/infill", prompt_for(i))
            got[i] = j["content"] if st == 200 else f"HTTP {st}"
        except Exception as e:  # noqa: BLE001
            errs.append(repr(e))
    ts = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errs, f"16 concurrent clients: no transport error {errs}")
    bad_i = [i for i in range(16) if got[i] != single[i]]
    check(not bad_i, "16 concurrent clients: each answer equals its one-client answer" +
          "".join(f"\n     {i}: {single[i]!r} vs {got[i]!r}" for i in bad_i))
    h = s.health()
    check(h["slots_processing"] == 0 and h["requests_waiting"] == 0 and h["completions"] == 32,
          f"afterwards: nothing running or waiting, 32 completions ({h})")
finally:
    s.stop("two workers")

print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
