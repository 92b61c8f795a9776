#!/usr/bin/env python3
"""One source for each fact that crosses a language boundary; the copies are checked (or made) here.

    scripts/check_facts.py                  check every copy against its source (exit 1 on a mismatch)
    scripts/check_facts.py --exports OUT    write the WebAssembly export list (wasm/CMakeLists.txt)

  - the version: VERSION; wasm/exports.c gets it from CMake (WISP_VERSION), and the three
    package.json files (wasm/, extension/, extension/monaco/) must carry the same;
  - the WebAssembly exports: the EMSCRIPTEN_KEEPALIVE functions of wasm/exports.c, plus the
    runtime's malloc/free; the link list is made from them, and the WispModule interface of
    wasm/src/engine.ts must declare exactly those;
  - the editor languages: LANGUAGE_IDS in wasm/src/languages.ts; extension/package.json's
    activation events and its `wisp.languages` default must list the same.
(The struct offsets engine.ts reads are static_asserts in wasm/exports.c.)
"""
import json
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
RUNTIME_EXPORTS = ["_malloc", "_free"]


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def version():
    return read("VERSION").strip()


def exports():
    src = read("wasm/exports.c")
    names = re.findall(r"^EMSCRIPTEN_KEEPALIVE\b[^(]*?\b(\w+)\s*\(", src, re.M)
    return RUNTIME_EXPORTS + ["_" + n for n in names]


def engine_ts_exports():
    ts = read("wasm/src/engine.ts")
    body = ts[ts.index("export interface WispModule {"):]
    body = body[:body.index("\n}")]
    return re.findall(r"^\s*(_\w+)\s*\(", body, re.M)


def language_ids():
    ts = read("wasm/src/languages.ts")
    m = re.search(r"LANGUAGE_IDS[^=]*=\s*\[([^\]]*)\]", ts)
    return re.findall(r"'([^']+)'", m.group(1))


def check():
    problems = []
    v = version()
    for rel in ("wasm/package.json", "extension/package.json", "extension/monaco/package.json"):
        got = json.loads(read(rel)).get("version")
        if got != v:
            problems.append(f"{rel}: version {got}, VERSION says {v}")
    want, got = exports(), engine_ts_exports()
    if sorted(want) != sorted(got):
        problems.append("wasm/src/engine.ts WispModule declares " + ", ".join(sorted(set(got) - set(want)) or ["-"]) +
                        " beyond wasm/exports.c and lacks " + ", ".join(sorted(set(want) - set(got)) or ["-"]))
    langs = language_ids()
    pkg = json.loads(read("extension/package.json"))
    events = [e.split(":", 1)[1] for e in pkg["activationEvents"] if e.startswith("onLanguage:")]
    if events != langs:
        problems.append(f"extension/package.json activationEvents {events} != wasm/src/languages.ts {langs}")
    default = pkg["contributes"]["configuration"]["properties"]["wisp.languages"]["default"]
    if list(default) != langs or not all(default.values()):
        problems.append(f"extension/package.json wisp.languages default {default} != wasm/src/languages.ts {langs}")
    for p in problems:
        print("check_facts: " + p)
    if not problems:
        print(f"check_facts: version {v}, {len(want)} wasm exports, {len(langs)} languages: every copy agrees")
    return 1 if problems else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--exports":
        text = json.dumps(exports())
        if not os.path.exists(sys.argv[2]) or open(sys.argv[2]).read() != text:
            with open(sys.argv[2], "w") as f:
                f.write(text)
        return 0
    if len(sys.argv) == 1:
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
