/*
 * Gets the model bytes: from browser storage when a verified copy is there, otherwise by a
 * streamed download that reports progress. Entries in Cache Storage are keyed by the bytes'
 * SHA-256, and a small index maps a model URL to the SHA-256 it last had, so a second start with
 * the same URL needs no network. Every copy read from storage is hashed again before use; one that
 * does not match is deleted and downloaded afresh.
 *
 * Downloads fail loudly and heal where they can: a connection cut off before Content-Length bytes,
 * a network error, a server error (5xx, 408, 429) or a stall (no data for `stallMs`) is tried again
 * (`retries` times, resuming with a Range request when the server honours it); an HTTP error such
 * as 404, a wrong SHA-256, or the attempts running out end in a ModelError naming the URL and the
 * bytes received. Nothing is stored here: the caller stores the model (`store`) once the engine
 * has loaded it, and a full or refused storage is reported, not fatal.
 */
import type { ModelSource, ProgressEvent } from './protocol.js';

const CACHE_NAME = 'wisp-models-v1';
// Cache Storage keys must be http(s) URLs; these are never fetched.
const KEY_BASE = 'https://wisp.invalid/';
const DEFAULT_STALL_MS = 30000;
const DEFAULT_RETRIES = 2;

export interface StoreResult {
  storage: 'read' | 'written' | 'unavailable' | 'failed';
  error?: string;
}

export interface LoadedModel {
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
  fromCache: boolean;
  /** Writes the model to browser storage (when it came from the network); never throws. */
  store(): Promise<StoreResult>;
}

export class ModelError extends Error {
  constructor(public code: 'download' | 'integrity', message: string) {
    super(message);
  }
}

type Progress = (ev: ProgressEvent) => void;

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  const b = new Uint8Array(digest);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

// Cache Storage exists in secure contexts (https, localhost) only; elsewhere we just download.
async function openCache(): Promise<Cache | null> {
  try {
    if (typeof caches === 'undefined') return null;
    return await caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

const modelKey = (sha: string) => `${KEY_BASE}model/${sha}`;
const indexKey = (url: string) => `${KEY_BASE}index?url=${encodeURIComponent(url)}`;

// Reads a stored model and checks it; null when absent, unreadable (storage cleared meanwhile)
// or corrupt (a corrupt copy is deleted).
async function readStored(cache: Cache, sha: string, progress: Progress): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    const res = await cache.match(modelKey(sha));
    if (!res) return null;
    progress({ type: 'progress', phase: 'storage', loaded: 0, total: 0 });
    const bytes = new Uint8Array(await res.arrayBuffer());
    progress({ type: 'progress', phase: 'verify', loaded: bytes.length, total: bytes.length });
    if ((await sha256Hex(bytes)) !== sha) {
      await cache.delete(modelKey(sha));
      return null;
    }
    return bytes;
  } catch {
    return null;
  }
}

/** One attempt's failure: `retry` when trying again may help. */
class AttemptError extends Error {
  constructor(message: string, public retry: boolean) {
    super(message);
  }
}

// An error's message, with its cause's (Node's fetch says only "fetch failed" without it).
const errText = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !e.message.includes(cause.message) ? `${e.message}: ${cause.message}` : e.message;
};

// Bytes received so far, across attempts.
interface Received {
  buf: Uint8Array<ArrayBuffer>;
  n: number;
  total: number; // the whole model's size when a response said, else 0
}

// One fetch: from byte `got.n` when resuming. Appends to `got`; throws AttemptError.
async function attempt(url: string, got: Received, stallMs: number, progress: Progress): Promise<void> {
  const ac = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      ac.abort();
    }, stallMs);
  };
  arm();
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ac.signal, ...(got.n > 0 ? { headers: { Range: `bytes=${got.n}-` } } : {}) });
    } catch (e) {
      throw new AttemptError(stalled ? `no answer for ${stallMs} ms` : errText(e), true);
    }
    if (res.status === 206 && got.n > 0) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== got.n) {
        got.n = 0; // not the range asked for: the next attempt starts over
        throw new AttemptError(`a resumed download answered the range ${res.headers.get('content-range') ?? '(none)'}`, true);
      }
      if (range[2] !== '*') got.total = Number(range[2]);
    } else if (res.ok) {
      got.n = 0; // a whole body (a server that ignores Range starts from the beginning)
      got.total = Number(res.headers.get('content-length') ?? 0) || 0;
    } else {
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new AttemptError(`HTTP ${res.status}`, retry);
    }
    if (got.total > got.buf.length) {
      const bigger = new Uint8Array(got.total);
      bigger.set(got.buf.subarray(0, got.n));
      got.buf = bigger;
    }
    if (!res.body) {
      const all = new Uint8Array(await res.arrayBuffer());
      put(got, all);
    } else {
      const reader = res.body.getReader();
      let lastReport = got.n;
      try {
        for (;;) {
          arm();
          const { done, value } = await reader.read();
          if (done) break;
          put(got, value);
          if (got.n - lastReport >= 256 * 1024 || got.n === got.total) {
            lastReport = got.n;
            progress({ type: 'progress', phase: 'download', loaded: got.n, total: got.total });
          }
        }
      } catch (e) {
        throw new AttemptError(stalled ? `stalled: no data for ${stallMs} ms` : `cut off: ${errText(e)}`, true);
      }
    }
    if (got.total > 0 && got.n < got.total) throw new AttemptError(`cut off at ${got.n} of ${got.total} bytes`, true);
    if (got.total > 0 && got.n > got.total) throw new AttemptError(`${got.n} bytes, more than the ${got.total} announced`, false);
  } finally {
    clearTimeout(timer);
  }
}

function put(got: Received, chunk: Uint8Array): void {
  if (got.n + chunk.length > got.buf.length) {
    const bigger = new Uint8Array(Math.max(got.buf.length * 2, got.n + chunk.length));
    bigger.set(got.buf.subarray(0, got.n));
    got.buf = bigger;
  }
  got.buf.set(chunk, got.n);
  got.n += chunk.length;
}

// Streams the model into one buffer, reporting progress, trying again as the header says.
async function download(url: string, stallMs: number, retries: number, progress: Progress): Promise<Uint8Array<ArrayBuffer>> {
  const got: Received = { buf: new Uint8Array(1 << 20), n: 0, total: 0 };
  for (let i = 0; ; i++) {
    try {
      await attempt(url, got, stallMs, progress);
      break;
    } catch (e) {
      const a = e instanceof AttemptError ? e : new AttemptError(errText(e), true);
      if (!a.retry || i >= retries) {
        const tries = i + 1 === 1 ? '' : ` (${i + 1} attempts)`;
        throw new ModelError('download', `fetching ${url}: ${a.message}${tries}; ${got.n} bytes received`);
      }
    }
  }
  progress({ type: 'progress', phase: 'download', loaded: got.n, total: got.total || got.n });
  return got.n === got.buf.length ? got.buf : got.buf.slice(0, got.n);
}

// Writes the model and the URL's index entry; a full or refused storage is reported.
async function write(cache: Cache | null, url: string, sha: string, bytes: Uint8Array<ArrayBuffer>): Promise<StoreResult> {
  if (!cache) return { storage: 'unavailable' };
  try {
    const headers = { 'content-type': 'application/octet-stream' };
    await cache.put(modelKey(sha), new Response(bytes, { headers }));
    await cache.put(indexKey(url), new Response(sha, { headers: { 'content-type': 'text/plain' } }));
    return { storage: 'written' };
  } catch (e) {
    return { storage: 'failed', error: `the model was not saved in browser storage (${errText(e)}); the next start downloads it again` };
  }
}

/** Loads the model named by `src`, from storage when possible. Throws ModelError. */
export async function loadModel(src: ModelSource, progress: Progress): Promise<LoadedModel> {
  if (src.kind === 'bytes') {
    const bytes = new Uint8Array(src.bytes);
    const sha = await sha256Hex(bytes);
    if (src.sha256 && src.sha256.toLowerCase() !== sha) {
      throw new ModelError('integrity', `model bytes have SHA-256 ${sha}, expected ${src.sha256}`);
    }
    return { bytes, sha256: sha, fromCache: false, store: async () => ({ storage: 'unavailable' }) };
  }
  const cache = await openCache();
  if (cache) {
    let sha = src.sha256?.toLowerCase();
    if (!sha) {
      try {
        const idx = await cache.match(indexKey(src.url));
        if (idx) sha = (await idx.text()).trim();
      } catch {
        sha = undefined;
      }
    }
    if (sha) {
      const bytes = await readStored(cache, sha, progress);
      if (bytes) return { bytes, sha256: sha, fromCache: true, store: async () => ({ storage: 'read' }) };
    }
  }
  const bytes = await download(src.url, src.stallMs ?? DEFAULT_STALL_MS, src.retries ?? DEFAULT_RETRIES, progress);
  progress({ type: 'progress', phase: 'verify', loaded: bytes.length, total: bytes.length });
  const sha = await sha256Hex(bytes);
  if (src.sha256 && src.sha256.toLowerCase() !== sha) {
    throw new ModelError('integrity', `${src.url} has SHA-256 ${sha}, expected ${src.sha256}`);
  }
  return { bytes, sha256: sha, fromCache: false, store: () => write(cache, src.url, sha, bytes) };
}
