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
export const KEY_BASE = 'https://wisp.invalid/';
export const DEFAULT_STALL_MS = 30000;
export const DEFAULT_RETRIES = 2;
/** Bytes between two download progress events. */
export const PROGRESS_STEP = 256 * 1024;

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

export type Progress = (ev: ProgressEvent) => void;

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  const b = new Uint8Array(digest);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

// Cache Storage exists in secure contexts (https, localhost) only; elsewhere we just download.
export async function openCache(): Promise<Cache | null> {
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

/** One attempt's failure: `retry` when trying again may help, `restart` when the next attempt
 * must start from byte 0 (the server answered another range than the one asked for). */
export class AttemptError extends Error {
  constructor(message: string, public retry: boolean, public restart = false) {
    super(message);
  }
}

// An error's message, with its cause's (Node's fetch says only "fetch failed" without it).
export const errText = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !e.message.includes(cause.message) ? `${e.message}: ${cause.message}` : e.message;
};

/** Where a streamed fetch puts the body. */
export interface Sink {
  /** The body starts at byte `start` of the file (0 when the server sent the whole file although
   * a range was asked for); `total` is the file's size, 0 when the answer does not say. Returns
   * the size to hold the body to (0: unknown). */
  begin(start: number, total: number): number;
  /** Each chunk of the body, in order. The stall clock waits while a returned promise runs. */
  chunk(bytes: Uint8Array): void | Promise<void>;
}

/** One fetch of `url` from byte `from` (a Range request when > 0) into `sink`; throws AttemptError
 * (and whatever the sink throws). */
export async function fetchFrom(url: string, from: number, stallMs: number, sink: Sink): Promise<void> {
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
      res = await fetch(url, { signal: ac.signal, ...(from > 0 ? { headers: { Range: `bytes=${from}-` } } : {}) });
    } catch (e) {
      throw new AttemptError(stalled ? `no answer for ${stallMs} ms` : errText(e), true);
    }
    let start = 0, total = 0;
    if (res.status === 206 && from > 0) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== from) {
        throw new AttemptError(`a resumed download answered the range ${res.headers.get('content-range') ?? '(none)'}`, true, true);
      }
      start = from;
      if (range[2] !== '*') total = Number(range[2]);
    } else if (res.ok) {
      total = Number(res.headers.get('content-length') ?? 0) || 0; // a whole body (a server that ignores Range)
    } else {
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new AttemptError(`HTTP ${res.status}`, retry);
    }
    const size = sink.begin(start, total);
    let at = start;
    if (!res.body) {
      let all: Uint8Array;
      try {
        all = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        throw new AttemptError(stalled ? `stalled: no data for ${stallMs} ms` : `cut off: ${errText(e)}`, true);
      }
      at += all.length;
      await sink.chunk(all);
    } else {
      const reader = res.body.getReader();
      for (;;) {
        arm();
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw new AttemptError(stalled ? `stalled: no data for ${stallMs} ms` : `cut off: ${errText(e)}`, true);
        }
        clearTimeout(timer);
        if (r.done) break;
        at += r.value.length;
        await sink.chunk(r.value);
      }
    }
    if (size > 0 && at < size) throw new AttemptError(`cut off at ${at} of ${size} bytes`, true);
    if (size > 0 && at > size) throw new AttemptError(`${at} bytes, more than the ${size} announced`, false);
  } finally {
    clearTimeout(timer);
    ac.abort(); // a sink that threw leaves the body unread: drop the connection
  }
}

/** Runs `attempt` until it succeeds, at most `retries` more times after failures that trying again
 * may heal; the last failure becomes a ModelError naming the URL and the bytes received.
 * `restart` is called when the next attempt must start from byte 0. Anything but an AttemptError
 * (a sink's ModelError) passes through. */
export async function withRetries(url: string, retries: number, received: () => number, attempt: () => Promise<void>,
                                  restart: () => void = () => {}): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await attempt();
      return;
    } catch (e) {
      if (!(e instanceof AttemptError)) throw e;
      const a = e;
      if (!a.retry || i >= retries) {
        const tries = i + 1 === 1 ? '' : ` (${i + 1} attempts)`;
        throw new ModelError('download', `fetching ${url}: ${a.message}${tries}; ${received()} bytes received`);
      }
      if (a.restart) restart();
    }
  }
}

// Bytes received so far, across attempts.
interface Received {
  buf: Uint8Array<ArrayBuffer>;
  n: number;
  total: number; // the whole model's size when a response said, else 0
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
  let lastReport = 0;
  const sink: Sink = {
    begin(start, total) {
      got.n = start; // 0 for a whole body (a server that ignores Range starts from the beginning)
      if (start === 0 || total > 0) got.total = total;
      if (got.total > got.buf.length) {
        const bigger = new Uint8Array(got.total);
        bigger.set(got.buf.subarray(0, got.n));
        got.buf = bigger;
      }
      lastReport = got.n;
      return got.total;
    },
    chunk(bytes) {
      put(got, bytes);
      if (got.n - lastReport >= PROGRESS_STEP || got.n === got.total) {
        lastReport = got.n;
        progress({ type: 'progress', phase: 'download', loaded: got.n, total: got.total });
      }
    },
  };
  await withRetries(url, retries, () => got.n, () => fetchFrom(url, got.n, stallMs, sink), () => { got.n = 0; });
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
