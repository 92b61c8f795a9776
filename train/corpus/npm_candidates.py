"""Regenerates the TypeScript/JavaScript extension's npm pin list (npm_packages_ts.txt) in three
deterministic steps, given a list of the registry's packages and the tarballs it serves.

The registry's search endpoint does not answer here, so candidates come from a local list of
npm packages (TSV: name, version, downloads a month, summary; on this workplace
/work/.library/env/packages/npm.tsv). A candidate belongs to a *family*: a scope (`@expo`) or
a name prefix (`react-native-`) from SCOPES/PREFIXES, the ones known to publish application-style
TypeScript/TSX or hand-written JavaScript (UI kits, React Native and Expo modules, editors, apps,
servers, CLIs, unified/eslint/postcss plugins), or any other scope with >= AUTO_SCOPE candidates
(less NOT_SCOPES: typings, fonts, icons, binaries, generated API clients). Only packages with >= EXPAND_DOWNLOADS a month, not
pinned in npm_packages.txt already, not of a benchmark project (common.EXCLUDED_NAMES) and not
data (icons, fonts, locales, typings) are candidates.

    T=/work/.library/env/packages/npm.tsv
    python3 train/corpus/npm_candidates.py probe  --tsv $T > train/data/work/npm-ts-probe.txt
    #  fetch + scan them (rebuild_ts.sh does: npm pack, npm_scan.py -> train/data/work/npm-ts-scan.tsv)
    python3 train/corpus/npm_candidates.py expand --tsv $T --scan train/data/work/npm-ts-scan.tsv > train/data/work/npm-ts-expand.txt
    #  fetch + scan those too, then
    python3 train/corpus/npm_candidates.py pin --scan train/data/work/npm-ts-scan.tsv > train/corpus/npm_packages_ts.txt

probe: the PROBE most downloaded candidates of each family (with >= MIN_DOWNLOADS). expand: every other candidate of a
family whose probes paid off (at least one probe keeps >= KEEP_BYTES of source after the
filters), the families in order of what their probes kept (TypeScript bytes + half the
JavaScript bytes, mean per probe), so that a fetch cut short has the richest ones. pin: every scanned tarball with a permissive licence that keeps >= KEEP_BYTES of
TypeScript, or of JavaScript, after the filters (npm_scan.py), as `name@version  # licence`.
"""
import argparse
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MIN_DOWNLOADS = 1000        # probes: the most downloaded candidates of a family with at least this many
EXPAND_DOWNLOADS = 500      # expansion: the rest of a paying family down to this many
PROBE = 3
KEEP_BYTES = 20_000

SCOPES = """
react-spectrum react-stately react-aria internationalized jupyterlab jupyter lumino tanstack trpc
docusaurus tamagui tldraw refinedev medusajs effect lezer udecode blocksuite dxos xyo-network xylabs
fluidframework fluid-tools sanity wordpress webiny univerjs mastra activepieces openmrs
contember remirror antv uiw ledgerhq chainsafe libp2p agoric endo tryghost webex vaadin polymer
spectrum-web-components aws-amplify segment milkdown react-navigation react-native-community
react-native expo shopify uppy heroui fluentui microsoft vscode lvce-editor sveltejs emotion mdx-js
fastify hapi feathersjs eslint npmcli node-red 11ty lexical instructure twilio-paste equinor ionic
stencil angular-eslint mui apollo graphql-tools urql envelop graphql-yoga whatwg-node ai-sdk
langchain modelcontextprotocol ark-ui zag-js solid-primitives builder.io qwik astrojs storybook
glimmer ember embroider vue nuxt vitest vitejs remix-run react-router tiptap codemirror replit
excalidraw reduxjs rjsf formkit vee-validate wagmi rainbow-me reown walletconnect solana coral-xyz
metaplex-foundation cosmjs polkadot bitgo ethersproject safe-global uniswap lit lit-labs open-wc
material carbon patternfly primer atlaskit elastic grafana backstage kubernetes cloudflare aws-cdk
pulumi cdktf
react-native-community rnx-kit fluentui-react-native rn-primitives react-native-firebase callstack
react-native-aria stripe config-plugins rnef react-native-windows native-html react-native-ama
rnw-community react-native-ml-kit legendapp gorhom rn-vui react-native-seoul react-native-ai
rneui react-native-google-signin react-native-picker react-native-masked-view gluestack-ui
gluestack-style nativewind shopify-polaris storybook-native react-native-reusables op-engineering
margelo mobily ui-kitten dripsy motify moti solito
""".split()
PREFIXES = """
expo react-native eslint-plugin remark rehype mdast-util hast-util unist-util micromark create
vite-plugin rollup-plugin postcss gulp grunt node-red-contrib homebridge vscode svelte solid preact
react-admin ra mobx vuepress docusaurus gatsby-plugin gatsby-theme react
""".split()
# Besides SCOPES, every scope with at least AUTO_SCOPE candidates (>= MIN_DOWNLOADS) is a family,
# except these: typings, fonts and icons, platform binaries, generated API clients, commercial kits.
AUTO_SCOPE = 10
NOT_SCOPES = set("""
types fontsource fontsource-variable iconify iconify-json iconify-icons expo-google-fonts napi-rs node-rs
swc esbuild img rollup stdlib aws-sdk smithy azure-rest google-cloud alicloud maxim_mazurok codingame
mescius grapecity syncfusion progress ckeditor nocobase tencentcloud volcengine huaweicloud
""".split())
# Data, typings and binaries, not code.
SKIP = re.compile(r"^@types/|icon|font|emoji|locale|flag|i18n-data|cldr|-(darwin|linux|win32|android|freebsd)-|"
                  r"-wasm32|-binary|prebuilt|^@nocobase/|^@aws-sdk/client-|-theme-data|wallpaper|-assets?$|-images?$", re.I)


def family(name, auto=()):
    if name.startswith("@"):
        scope = name[1:].split("/", 1)[0]
        return "@" + scope if scope in SCOPES or scope in auto else None
    for p in PREFIXES:
        if name.startswith(p + "-"):
            return p + "-"
    return None


def probes_of(cands):
    return [t for t in cands if t[0] >= MIN_DOWNLOADS][:PROBE]


def pinned_names(path):
    names = set()
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line.rsplit("@", 1)[0])
    return names


def candidates(tsv, have):
    """Family -> [(downloads, name, version)], most downloaded first, ties by name."""
    fams = collections.defaultdict(list)
    rows = []
    with open(tsv, encoding="utf-8", errors="replace") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                continue
            try:
                rows.append((cols[0], cols[1], int(cols[2])))
            except ValueError:
                continue
    per_scope = collections.Counter(n[1:].split("/", 1)[0] for n, _, dl in rows
                                    if n.startswith("@") and "/" in n and dl >= MIN_DOWNLOADS)
    auto = {sc for sc, k in per_scope.items() if k >= AUTO_SCOPE and sc not in NOT_SCOPES}
    for name, version, dl in rows:
        if True:
            fam = family(name, auto)
            if (not fam or dl < EXPAND_DOWNLOADS or name in have or SKIP.search(name)
                    or common.EXCLUDED_NAMES.search(name) or not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", version)):
                continue
            fams[fam].append((dl, name, version))
    for v in fams.values():
        v.sort(key=lambda t: (-t[0], t[1]))
    return fams


def read_scan(paths):
    rows = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            head = next(f).rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(head, line.rstrip("\n").split("\t")))
                if r.get("name"):
                    rows[r["name"]] = r
    return rows


def useful(r):
    return r["status"] == "ok" and common.is_permissive(r["licence"]) and (int(r["ts_bytes"]) >= KEEP_BYTES or int(r["js_bytes"]) >= KEEP_BYTES)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=["probe", "expand", "pin"])
    ap.add_argument("--tsv", help="the registry's package list (name, version, downloads, summary)")
    ap.add_argument("--have", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm_packages.txt"))
    ap.add_argument("--scan", nargs="*", default=[], help="npm_scan.py outputs")
    ap.add_argument("--limit", type=int, help="expand: only the first LIMIT candidates (richest families first)")
    a = ap.parse_args()
    if a.step == "pin":
        rows = read_scan(a.scan)
        print("# npm packages of the TypeScript/JavaScript extension (train/corpus/npm_candidates.py pin),")
        print("# pinned name@version; licence from package.json; kept bytes after the filters (ts/js)")
        for name in sorted(rows):
            r = rows[name]
            if useful(r):
                print(f"{name}@{r['version']}  # {r['licence']}; ts {r['ts_bytes']} js {r['js_bytes']}")
        return
    fams = candidates(a.tsv, pinned_names(a.have))
    if a.step == "probe":
        for fam in sorted(fams):
            for dl, name, version in probes_of(fams[fam]):
                print(f"{name}@{version}")
        return
    rows = read_scan(a.scan)
    scored = []
    for fam in sorted(fams):
        probes = [rows[name] for _, name, _ in probes_of(fams[fam]) if name in rows]
        if any(useful(r) for r in probes):
            # TypeScript first: families whose probes keep the most TypeScript are fetched first
            score = sum(int(r["ts_bytes"]) + int(r["js_bytes"]) // 2 for r in probes) / len(probes)
            scored.append((-score, fam))
    out = []
    for _, fam in sorted(scored):
        probes = probes_of(fams[fam])
        out += [f"{t[1]}@{t[2]}" for t in fams[fam] if t not in probes]
    print("\n".join(out[:a.limit]))


if __name__ == "__main__":
    main()
