/*
 * An opt-in remote completion endpoint, shared by the VS Code extension and the Monaco package
 * (through inline.ts): a llama.cpp-style server (`POST /infill`, `wisp serve` too) or an
 * OpenAI-compatible one (`POST /v1/completions`, with `suffix` or a FIM prompt template).
 *
 * Privacy is the default: with the mode `off` (or no URL) nothing here runs and no request leaves
 * the page. `fallback` asks the endpoint only when the local engine has nothing to suggest at a
 * place that wants code, or its best answer's confidence is below a threshold, or when the user
 * asks for it; `prefer` asks the endpoint first (the local engine computes its answer meanwhile)
 * and shows the local answer when the endpoint is slow (the timeout) or fails.
 *
 * Failures never reach the user as popups and never block typing: a timeout, a refused
 * connection, a 5xx or an answer that is not what the kind promises is one log line, and the
 * local answer is shown. Three failures in a row pause the endpoint (5 s, doubling up to 5 min;
 * a success resets it). A 401/403 is reported once (`onAuthError`) and pauses the endpoint until
 * its URL or key changes; a URL that is not http(s) is reported once and never fetched. Requests
 * are made only where local ones are: after the same debounce, and aborted by the same
 * cancellation (a newer keystroke).
 */
import type { CompletionItem, Position } from './protocol.js';

export type EndpointMode = 'off' | 'fallback' | 'prefer';
/** `infill`: llama.cpp's `POST /infill` (input_prefix, input_suffix, input_extra, n_predict).
 * `openai`: `POST /v1/completions` (prompt + suffix, or `template` filled in as the prompt). */
export type EndpointKind = 'infill' | 'openai';

export interface EndpointSettings {
  mode: EndpointMode;
  /** The server (`http://127.0.0.1:8012`: the kind's path is appended) or the endpoint itself (a
   * URL whose path ends in `/infill` or `/completions` is used as it is). */
  url: string;
  kind: EndpointKind;
  /** Sent as `Authorization: Bearer KEY`; kept by the editor (secret storage, or the host page). */
  apiKey?: string;
  /** How long to wait for an answer before showing the local one, milliseconds. */
  timeoutMs: number;
  /** `fallback`: also ask when the local best answer's confidence (its mean per-token
   * probability, exp of the mean log-probability) is below this, 0..1; 0 = only when the local
   * engine has nothing. */
  minConfidence: number;
  /** `openai`: '' sends `prompt` (text before the cursor) and `suffix`; otherwise the prompt is
   * this template with {prefix}, {suffix}, {filename} and {language} filled in, and no suffix. */
  template: string;
  /** `openai`: the `model` field ('' leaves it out). */
  model: string;
  /** Tokens to generate (n_predict / max_tokens). */
  maxTokens: number;
}

export const ENDPOINT_DEFAULTS: EndpointSettings = {
  mode: 'off', url: '', kind: 'infill', apiKey: '', timeoutMs: 2000, minConfidence: 0.5, template: '', model: '', maxTokens: 64,
};

/** Where to complete: the fields of an InlineRequest the endpoint needs. */
export interface RemoteContext {
  uri: string;
  languageId?: string;
  /** The document's whole text and the cursor's UTF-16 offset in it (and its position). */
  text: string;
  offset: number;
  position: Position;
  options: { maxLines?: number };
}

/** Another open file, sent as context (`input_extra` of /infill). */
export interface ExtraChunk {
  filename: string;
  text: string;
}

export type FailureKind = 'config' | 'auth' | 'http' | 'network' | 'timeout' | 'answer';

export type RemoteOutcome =
  | { ok: true; items: CompletionItem[]; ms: number }
  /** `cancelled` (a newer keystroke), `paused` (backoff, a refused key or a bad URL: no request
   * was made), or a failure of this request. */
  | { ok: false; reason: FailureKind | 'cancelled' | 'paused'; message: string };

// What is sent of the document: the lines around the cursor (llama.vscode sends 256 before and
// 64 after), within a character cap; and a few other open files of the same language.
const PREFIX_LINES = 256;
const SUFFIX_LINES = 64;
const PREFIX_CHARS = 16_000;
const SUFFIX_CHARS = 8_000;
export const EXTRA_FILES = 3;
const EXTRA_CHARS = 4_000;

// The languages `wisp serve` knows by name (its "language" field); other servers ignore it.
const SERVE_LANGUAGE: Record<string, string> = { python: 'python', javascript: 'javascript', typescript: 'typescript', typescriptreact: 'tsx', c: 'c' };

/** The endpoint's URL for `kind`, or a message saying what is wrong with `url`. */
export function endpointUrl(url: string, kind: EndpointKind): { ok: true; url: string } | { ok: false; message: string } {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return { ok: false, message: `endpoint URL ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8012)` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { ok: false, message: `endpoint URL ${JSON.stringify(url)} is not http: or https:` };
  }
  if (u.username || u.password) return { ok: false, message: 'endpoint URL: put the key in the API key setting, not in the URL' };
  const path = u.pathname.replace(/\/+$/, '');
  if (!/\/(infill|completions)$/.test(path)) {
    u.pathname = kind === 'infill' ? `${path}/infill` : /\/v1$/.test(path) ? `${path}/completions` : `${path}/v1/completions`;
  }
  return { ok: true, url: u.toString() };
}

/** The file name part of a document URI ("file:///src/app.py" -> "app.py"). */
export function fileName(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  try {
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1).replace(/^[a-z][a-z0-9+.-]*:/i, ''));
  } catch {
    return path.slice(path.lastIndexOf('/') + 1);
  }
}

/** The document split at the cursor as llama.cpp's /infill takes it: the lines before the
 * cursor's line, that line up to the cursor, and the rest; each cut to what is sent. */
export function splitAtCursor(text: string, offset: number): { before: string; line: string; after: string } {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let before = text.slice(0, lineStart);
  const lines = before.split('\n'); // ends with '' (before ends with a newline or is empty)
  if (lines.length - 1 > PREFIX_LINES) before = lines.slice(-PREFIX_LINES - 1).join('\n');
  if (before.length > PREFIX_CHARS) before = before.slice(before.indexOf('\n', before.length - PREFIX_CHARS) + 1);
  let after = text.slice(offset);
  const next = after.split('\n');
  if (next.length > SUFFIX_LINES + 1) after = next.slice(0, SUFFIX_LINES + 1).join('\n');
  if (after.length > SUFFIX_CHARS) after = after.slice(0, after.lastIndexOf('\n', SUFFIX_CHARS) + 1 || SUFFIX_CHARS);
  return { before, line: text.slice(lineStart, offset), after };
}

/** `template` with {prefix}, {suffix}, {filename} and {language} filled in, in one pass (a
 * placeholder inside the code is left as it is). */
export function fillTemplate(template: string, values: Record<'prefix' | 'suffix' | 'filename' | 'language', string>): string {
  return template.replace(/\{(prefix|suffix|filename|language)\}/g, (_, k: keyof typeof values) => values[k]);
}

/** The HTTP request for `ctx` (a `fetch` URL and init), or a message saying why there is none. */
export function buildRequest(s: EndpointSettings, ctx: RemoteContext, extra: readonly ExtraChunk[] = []):
    { ok: true; url: string; init: RequestInit & { body: string; headers: Record<string, string> } } | { ok: false; message: string } {
  const target = endpointUrl(s.url, s.kind);
  if (!target.ok) return target;
  const { before, line, after } = splitAtCursor(ctx.text, ctx.offset);
  const filename = fileName(ctx.uri);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (s.apiKey) headers['Authorization'] = `Bearer ${s.apiKey}`;
  const maxTokens = Math.max(1, Math.floor(s.maxTokens));
  let body: Record<string, unknown>;
  if (s.kind === 'infill') {
    body = {
      input_prefix: before,
      prompt: line,
      input_suffix: after,
      input_extra: extra.slice(0, EXTRA_FILES).map((c) => ({ filename: c.filename, text: c.text.slice(0, EXTRA_CHARS) })),
      n_predict: maxTokens,
      temperature: 0,
      cache_prompt: true,
      stream: false,
      t_max_predict_ms: Math.max(1, Math.floor(s.timeoutMs)),
    };
    if (filename) body['filename'] = filename;
    const language = SERVE_LANGUAGE[ctx.languageId ?? ''];
    if (language) body['language'] = language;
  } else {
    const prefix = before + line;
    body = s.template
      ? { prompt: fillTemplate(s.template, { prefix, suffix: after, filename, language: ctx.languageId ?? '' }) }
      : { prompt: prefix, suffix: after };
    Object.assign(body, { max_tokens: maxTokens, temperature: 0, stream: false });
    if (ctx.options.maxLines === 1) body['stop'] = ['\n'];
    if (s.model) body['model'] = s.model;
  }
  return { ok: true, url: target.url, init: { method: 'POST', headers, body: JSON.stringify(body) } };
}

/** The completion text of an answer of `kind` (llama.cpp's `content`, OpenAI's
 * `choices[0].text`), or a message saying what is wrong with it. */
export function parseAnswer(kind: EndpointKind, json: unknown): { ok: true; text: string } | { ok: false; message: string } {
  const o = json as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, message: 'the answer is not a JSON object' };
  if (kind === 'infill') {
    if (typeof o['content'] !== 'string') return { ok: false, message: 'the answer has no "content" string (is it a llama.cpp /infill endpoint?)' };
    return { ok: true, text: o['content'] };
  }
  const choices = o['choices'];
  const first = Array.isArray(choices) ? choices[0] as Record<string, unknown> | undefined : undefined;
  if (!first || typeof first['text'] !== 'string') return { ok: false, message: 'the answer has no "choices[0].text" string (is it an OpenAI-style /v1/completions endpoint?)' };
  return { ok: true, text: first['text'] };
}

/** The part of an endpoint's answer to show at the cursor: line endings as the editor's `\n`, at
 * most `maxLines` lines (0: any; one when code follows the cursor on its line), without what the
 * line already has after the cursor, and without trailing blank space. '' when nothing is left. */
export function shapeAnswer(text: string, ctx: RemoteContext): string {
  let t = text.replace(/\r\n?/g, '\n');
  const rest = ctx.text.slice(ctx.offset, (ctx.text.indexOf('\n', ctx.offset) + 1 || ctx.text.length + 1) - 1);
  const maxLines = rest.trim() ? 1 : ctx.options.maxLines ?? 0;
  if (maxLines > 0) t = t.split('\n').slice(0, maxLines).join('\n');
  const tail = rest.trimEnd();
  if (tail && t.endsWith(tail)) t = t.slice(0, t.length - tail.length);
  return t.replace(/\s+$/, '');
}

/** Why an HTTP status failed, in words for the log. */
function statusMessage(status: number, url: string, serverMessage: string): { kind: FailureKind; message: string } {
  const says = serverMessage ? `: ${serverMessage}` : '';
  if (status === 401 || status === 403) return { kind: 'auth', message: `${url} refused the API key (HTTP ${status})${says}` };
  if (status === 404) return { kind: 'http', message: `${url}: HTTP 404, no such endpoint (is the kind right? llama.cpp serves /infill, OpenAI-style servers /v1/completions)${says}` };
  return { kind: 'http', message: `${url}: HTTP ${status}${says}` };
}

export interface EndpointHooks {
  /** One line for the log (failures, pauses); never a popup. */
  log?(line: string): void;
  /** The key was refused (401/403): called once until the key or URL changes. */
  onAuthError?(message: string): void;
  /** Other open files to send as context with a request at `uri`. */
  related?(uri: string, languageId: string | undefined): ExtraChunk[];
  /** For tests: the fetch to use and the clock. */
  fetch?: typeof fetch;
  now?(): number;
}

// After FAILS_BEFORE_PAUSE failures in a row, the endpoint is not asked for PAUSE_MS, doubled
// after each failure that follows, up to PAUSE_MAX_MS.
const FAILS_BEFORE_PAUSE = 3;
const PAUSE_MS = 5_000;
const PAUSE_MAX_MS = 300_000;

export class RemoteEndpoint {
  private s: EndpointSettings = { ...ENDPOINT_DEFAULTS };
  private failures = 0;
  private pausedUntil = 0;
  private refused = false;   // 401/403 for this URL and key
  private badUrl = false;    // reported for this URL
  /** Requests made (for the tests and the status line). */
  requests = 0;

  constructor(private hooks: EndpointHooks = {}) {}

  get settings(): Readonly<EndpointSettings> {
    return this.s;
  }

  /** Sets the settings (read fresh by the editors on each request); a new URL, kind or key ends
   * a pause and clears a refused key. */
  configure(settings: Partial<EndpointSettings>): void {
    const next = { ...this.s, ...settings };
    if (next.url !== this.s.url || next.kind !== this.s.kind || next.apiKey !== this.s.apiKey) {
      this.failures = 0;
      this.pausedUntil = 0;
      this.refused = false;
      this.badUrl = false;
    }
    this.s = next;
  }

  /** Whether requests may go out at all: a mode other than `off` and a URL. */
  get enabled(): boolean {
    return this.s.mode !== 'off' && this.s.url.trim() !== '';
  }

  private now(): number {
    return this.hooks.now ? this.hooks.now() : Date.now();
  }

  private log(line: string): void {
    this.hooks.log?.(`endpoint: ${line}`);
  }

  /** Asks the endpoint for a completion at `ctx`; resolves (never rejects) with its items (one
   * insertion at the cursor, or none) or why there are none. `signal` aborts the request. */
  async complete(ctx: RemoteContext, signal?: AbortSignal): Promise<RemoteOutcome> {
    if (!this.enabled) return { ok: false, reason: 'paused', message: 'no endpoint' };
    if (signal?.aborted) return { ok: false, reason: 'cancelled', message: 'cancelled' };
    if (this.refused) return { ok: false, reason: 'paused', message: 'the API key was refused' };
    if (this.now() < this.pausedUntil) return { ok: false, reason: 'paused', message: 'paused after failures' };
    const req = buildRequest(this.s, ctx, this.hooks.related?.(ctx.uri, ctx.languageId) ?? []);
    if (!req.ok) {
      if (!this.badUrl) this.log(req.message);
      this.badUrl = true;
      return { ok: false, reason: 'config', message: req.message };
    }
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; ac.abort(); }, Math.max(1, this.s.timeoutMs));
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const t0 = this.now();
    this.requests++;
    try {
      const res = await (this.hooks.fetch ?? fetch)(req.url, { ...req.init, signal: ac.signal });
      const body = await res.text();
      if (!res.ok) {
        let serverMessage = '';
        try {
          const e = (JSON.parse(body) as { error?: { message?: unknown } | string }).error;
          serverMessage = typeof e === 'string' ? e : typeof e?.message === 'string' ? e.message : '';
        } catch {
          serverMessage = body.slice(0, 200).trim();
        }
        const f = statusMessage(res.status, req.url, serverMessage);
        return this.failed(f.kind, f.message);
      }
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return this.failed('answer', `${req.url}: the answer is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
      }
      const a = parseAnswer(this.s.kind, json);
      if (!a.ok) return this.failed('answer', `${req.url}: ${a.message}`);
      this.failures = 0;
      const text = shapeAnswer(a.text, ctx);
      const at = { line: ctx.position.line, character: ctx.position.character };
      const items: CompletionItem[] = text
        ? [{ text, startOffset: ctx.offset, endOffset: ctx.offset, start: at, end: at, source: 'endpoint' }]
        : [];
      return { ok: true, items, ms: this.now() - t0 };
    } catch (e) {
      if (timedOut) return this.failed('timeout', `${req.url}: no answer within ${this.s.timeoutMs} ms`);
      if (signal?.aborted) return { ok: false, reason: 'cancelled', message: 'cancelled' };
      // The browser tells a refused connection, a wrong host and a CORS refusal apart only in its
      // own console: name the likely causes.
      return this.failed('network', `cannot reach ${req.url} (${e instanceof Error ? e.message : String(e)}): `
        + 'is the server running, and does it allow this page\'s origin (CORS)?');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private failed(kind: FailureKind, message: string): RemoteOutcome {
    if (kind === 'auth') {
      this.refused = true;
      this.log(`${message}; not asked again until the key or URL changes`);
      this.hooks.onAuthError?.(message);
      return { ok: false, reason: kind, message };
    }
    this.failures++;
    let line = message;
    if (this.failures >= FAILS_BEFORE_PAUSE) {
      const ms = Math.min(PAUSE_MAX_MS, PAUSE_MS * 2 ** (this.failures - FAILS_BEFORE_PAUSE));
      this.pausedUntil = this.now() + ms;
      line += `; ${this.failures} failures in a row, local answers only for ${Math.round(ms / 1000)} s`;
    }
    this.log(line);
    return { ok: false, reason: kind, message };
  }
}

/** What the local engine answered, as the policy needs it. */
export interface LocalAnswer {
  items: CompletionItem[];
  /** The engine's mode at the cursor ('none': nothing is wanted there, inside a comment...). */
  mode: string;
}

const fromLocal = <L extends LocalAnswer>(l: L | null): Chosen<L> | null => (l ? { source: 'local', items: l.items, local: l } : null);

/** The confidence of a local answer: the mean per-token probability of its best item, 0..1. */
export function confidence(items: readonly CompletionItem[]): number {
  const lp = items[0]?.meanLogprob;
  return items.length === 0 ? 0 : lp === undefined ? 1 : Math.exp(Math.min(0, lp));
}

export type Chosen<L extends LocalAnswer> =
  | { source: 'endpoint'; items: CompletionItem[]; ms: number; local: null }
  | { source: 'local'; items: CompletionItem[]; local: L };

/**
 * The mode's policy for one request (no endpoint, or the mode `off`: the local answer alone).
 * `local()` starts the engine request; `signal` is the
 * keystroke's cancellation. `explicit`: the user asked for the endpoint (the trigger command),
 * which then goes first as in `prefer`. Resolves with the answer to show, or null when there is
 * none (the local request failed or was cancelled, and the endpoint gave nothing).
 */
export async function choose<L extends LocalAnswer>(endpoint: RemoteEndpoint | null, ctx: RemoteContext, local: () => Promise<L | null>,
                                                    signal: AbortSignal, explicit = false): Promise<Chosen<L> | null> {
  if (!endpoint?.enabled) return fromLocal(await local());
  const mode = explicit ? 'prefer' : endpoint.settings.mode;
  const fromEndpoint = async (): Promise<Chosen<L> | null> => {
    const r = await endpoint.complete(ctx, signal);
    return r.ok && r.items.length > 0 ? { source: 'endpoint', items: r.items, ms: r.ms, local: null } : null;
  };
  if (mode === 'prefer') {
    const pending = local(); // meanwhile, in the worker: ready when the endpoint is slow or down
    const remote = await fromEndpoint();
    // A keystroke the user typed past took the endpoint's request with it: its local answer is no
    // stand-in (remembered, it would serve the next keys by typing through, and the endpoint
    // would not be asked again until they left it).
    if (remote || signal.aborted) return remote;
    return fromLocal(await pending);
  }
  const l = await local();
  if (signal.aborted) return fromLocal(l);
  const wanted = l === null || (l.items.length === 0 ? l.mode !== 'none' : confidence(l.items) < endpoint.settings.minConfidence);
  return (wanted ? await fromEndpoint() : null) ?? fromLocal(l);
}
