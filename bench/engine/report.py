"""Table and summary of bench/engine/run.sh's results (one JSON object a line, see run.sh).

Prints per model file the tokens/s of every engine (wall time; and CPU time of the compute thread
where the engine reports it), then as the last line the geometric means over the files of
  wisp WASM / wllama            (wall: both run in the same page, one thread)
  wisp native / llama.cpp       (CPU time, so that other load on the machine cancels out)
    python3 bench/engine/report.py RESULTS.jsonl
"""
import json
import math
import sys


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
    by = {(r["engine"], r["file"]): r for r in rows}
    files = []
    for r in rows:
        if r["file"] not in files:
            files.append(r["file"])
    engines = ["wisp-native", "llama.cpp", "wisp-wasm", "wllama"]
    print("%-22s %-12s %10s %10s %12s %12s" % ("model", "engine", "pp tok/s", "tg tok/s", "pp tok/s cpu", "tg tok/s cpu"))
    ratios = {k: [] for k in ("wasm_pp", "wasm_tg", "nat_pp", "nat_tg", "nat_pp_wall", "nat_tg_wall")}

    def cpu_rate(r, kind):
        ms = r.get(kind + "_cpu_ms")
        n = r["n_prompt"] if kind == "pp" else r["n_gen"]
        return n * 1e3 / ms if ms else None

    for f in files:
        for e in engines:
            r = by.get((e, f))
            if not r:
                print("%-22s %-12s %10s" % (f, e, "missing"))
                continue
            pc, tc = cpu_rate(r, "pp"), cpu_rate(r, "tg")
            print("%-22s %-12s %10.1f %10.1f %12s %12s" % (f, e, r["pp_tok_s"], r["tg_tok_s"],
                  "%.1f" % pc if pc else "-", "%.1f" % tc if tc else "-"))
        w, l = by.get(("wisp-wasm", f)), by.get(("wllama", f))
        if w and l:
            ratios["wasm_pp"].append(w["pp_tok_s"] / l["pp_tok_s"])
            ratios["wasm_tg"].append(w["tg_tok_s"] / l["tg_tok_s"])
        n, c = by.get(("wisp-native", f)), by.get(("llama.cpp", f))
        if n and c:
            ratios["nat_pp"].append(cpu_rate(n, "pp") / cpu_rate(c, "pp"))
            ratios["nat_tg"].append(cpu_rate(n, "tg") / cpu_rate(c, "tg"))
            ratios["nat_pp_wall"].append(n["pp_tok_s"] / c["pp_tok_s"])
            ratios["nat_tg_wall"].append(n["tg_tok_s"] / c["tg_tok_s"])
    g = {k: geomean(v) for k, v in ratios.items()}
    print("native_vs_llamacpp by wall time: pp=%.2f tg=%.2f" % (g["nat_pp_wall"], g["nat_tg_wall"]))
    print("wasm_vs_wllama pp=%.2f tg=%.2f native_vs_llamacpp pp=%.2f tg=%.2f" % (
        g["wasm_pp"], g["wasm_tg"], g["nat_pp"], g["nat_tg"]))


if __name__ == "__main__":
    main()
