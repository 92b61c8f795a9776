/*
 * Gets the model bytes: from browser storage when a verified copy is there, otherwise by a
 * streamed download that reports progress, then stores it. Entries in Cache Storage are keyed by
 * the bytes' SHA-256, and a small index maps a model URL to the SHA-256 it last had, so a second
 * start with the same URL needs no network. Every copy read from storage is hashed again before
 * use; one that does not match is deleted and downloaded afresh.
 */
import type { ModelSource, ProgressEvent } from './protocol.js';

const CACHE_NAME = 'wisp-models-v1';
// Cache Storage keys must be http(s) URLs; these are never fetched.
const KEY_BASE = 'https://wisp.invalid/';

export interface LoadedModel {
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
  fromCache: boolean;
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

// Reads a stored model and checks it; null when absent or corrupt (a corrupt copy is deleted).
async function readStored(cache: Cache, sha: string, progress: Progress): Promise<Uint8Array<ArrayBuffer> | null> {
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
}

// Streams the response body into one buffer, reporting progress as chunks arrive.
async function download(url: string, progress: Progress): Promise<Uint8Array<ArrayBuffer>> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelError('download', `fetching ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) throw new ModelError('download', `fetching ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length') ?? 0) || 0;
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    progress({ type: 'progress', phase: 'download', loaded: all.length, total: all.length });
    return all;
  }
  const reader = res.body.getReader();
  let buf = new Uint8Array(total > 0 ? total : 1 << 20);
  let n = 0;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + value.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(value, n);
    n += value.length;
    if (n - lastReport >= 256 * 1024 || n === total) {
      lastReport = n;
      progress({ type: 'progress', phase: 'download', loaded: n, total });
    }
  }
  progress({ type: 'progress', phase: 'download', loaded: n, total: total || n });
  return n === buf.length ? buf : buf.slice(0, n);
}

/** Loads the model named by `src`, from storage when possible. Throws ModelError. */
export async function loadModel(src: ModelSource, progress: Progress): Promise<LoadedModel> {
  if (src.kind === 'bytes') {
    const bytes = new Uint8Array(src.bytes);
    const sha = await sha256Hex(bytes);
    if (src.sha256 && src.sha256.toLowerCase() !== sha) {
      throw new ModelError('integrity', `model bytes have SHA-256 ${sha}, expected ${src.sha256}`);
    }
    return { bytes, sha256: sha, fromCache: false };
  }
  const cache = await openCache();
  if (cache) {
    let sha = src.sha256?.toLowerCase();
    if (!sha) {
      const idx = await cache.match(indexKey(src.url));
      if (idx) sha = (await idx.text()).trim();
    }
    if (sha) {
      const bytes = await readStored(cache, sha, progress);
      if (bytes) return { bytes, sha256: sha, fromCache: true };
    }
  }
  const bytes = await download(src.url, progress);
  progress({ type: 'progress', phase: 'verify', loaded: bytes.length, total: bytes.length });
  const sha = await sha256Hex(bytes);
  if (src.sha256 && src.sha256.toLowerCase() !== sha) {
    throw new ModelError('integrity', `${src.url} has SHA-256 ${sha}, expected ${src.sha256}`);
  }
  if (cache) {
    try {
      const headers = { 'content-type': 'application/octet-stream' };
      await cache.put(modelKey(sha), new Response(bytes, { headers }));
      await cache.put(indexKey(src.url), new Response(sha, { headers: { 'content-type': 'text/plain' } }));
    } catch {
      // Storage full or refused: the engine still runs, the next start downloads again.
    }
  }
  return { bytes, sha256: sha, fromCache: false };
}
