/*
 * Progressive loading: a model laid out in arrival order (`wisp gguf-order`, its parts listed in
 * a manifest: protocol.ts ModelManifest) streams straight into the engine's heap buffer, part by
 * part, and the engine answers as soon as its first blocks are in, then runs deeper as the others
 * come, with no reload.
 *
 * Parts come in file order: from browser storage (Cache Storage, one entry per part, keyed by the
 * model's SHA-256 and the part's index) as long as it holds them, then from the network in one
 * streamed request from the first missing part's offset (a Range request). Each part is checked
 * against the manifest's SHA-256 before the engine is told it is there (Engine.loadPartial for
 * the first, then Engine.setAvailable); a downloaded part that fails is fetched once more, a
 * second failure is an 'integrity' error, and a stored one that fails is dropped and downloaded.
 * A downloaded part is stored once the engine has taken it, so that an interrupted download
 * resumes at the first missing part and a start with every part stored makes no request at all.
 * Network failures heal as model-store.ts's do: retries, resumed by a Range request at the byte
 * where they stopped (a server that ignores Range sends the whole file: what is in place is
 * skipped), stalls. Storage full or refused is reported, not fatal.
 */
import type { Engine } from './engine.js';
import {
  AttemptError, DEFAULT_RETRIES, DEFAULT_STALL_MS, errText, fetchFrom, KEY_BASE, ModelError, openCache, type Progress,
  PROGRESS_STEP, sha256Hex, type Sink, type StoreResult, withRetries,
} from './model-store.js';
import type { ModelManifest, ModelPart, ModelSource, PartialModel, Result } from './protocol.js';
import { fail, ok } from './protocol.js';

/** A model source with its parts. */
export type PartsSource = Extract<ModelSource, { kind: 'url' }> & { manifest: ModelManifest };

const partKey = (sha: string, i: number) => `${KEY_BASE}model/${sha}/part/${i}`;
const end = (p: ModelPart) => p.offset + p.size;

// A part fetched again after it failed its digest: a new request from its offset.
class Refetch extends Error {}
// The engine refused what arrived, or the loader was stopped: the result to answer with.
class Stop extends Error {
  constructor(public result: Result<never>) {
    super(result.ok ? '' : result.error.message);
  }
}

export class PartLoader {
  /** Resolves once the engine answers (or the model is whole), with its name; or with what
   * stopped the loading before that. */
  readonly answering: Promise<Result<{ modelName: string }>>;
  /** Resolves once every part is in and stored (or storing failed: `storage`), or with what
   * stopped the download (a download, integrity or engine error). */
  readonly done: Promise<Result<StoreResult>>;
  /** Whether any byte came from the network so far. */
  downloaded = false;
  /** Milliseconds spent making the engine. */
  engineMs = 0;
  private sha: string;
  private parts: ModelPart[];
  private size: number;
  private pos = 0; // bytes written into the buffer, in file order
  private next = 0; // the first part not yet checked and taken
  private skip = 0; // bytes of the current response that are already in place
  private wholeBody = false; // the server botched a Range answer: ask for the whole file
  private refetched = new Set<number>();
  private modelName: string | null = null;
  private stopped = false;
  private reading = true; // parts come from storage (the engine does not answer yet)
  private cache: Cache | null = null;
  private storing: Promise<void> = Promise.resolve();
  private store: StoreResult = { storage: 'read' };
  private lastReport = 0;
  private answered: (r: Result<{ modelName: string }>) => void = () => {};

  constructor(private engine: Engine, private src: PartsSource, private nCtx: number, private progress: Progress) {
    this.sha = src.manifest.sha256.toLowerCase();
    this.parts = src.manifest.parts;
    this.size = src.manifest.size;
    this.answering = new Promise((resolve) => { this.answered = resolve; });
    // (`answered` may have been called already: a promise settles once.)
    this.done = this.run().then((r) => {
      if (!r.ok) this.answered(r);
      else this.answered(this.modelName === null ? fail('internal', 'the whole model arrived but no engine was made') : ok({ modelName: this.modelName }));
      return r;
    });
  }

  /** True once every part is in. */
  get complete(): boolean {
    return this.next === this.parts.length;
  }

  /** How far the model has come. */
  partial(): PartialModel {
    return { loaded: this.next > 0 ? end(this.parts[this.next - 1]!) : 0, total: this.size, ...this.engine.depth() };
  }

  /** What storage did with the parts so far (writes still pending count as written). */
  storageSoFar(): StoreResult {
    if (this.store.storage !== 'read' || !this.downloaded) return this.store;
    return { storage: 'written' };
  }

  /** The engine is being dropped (a trap): write nothing more into its buffer, report nothing. */
  stop(): void {
    this.stopped = true;
  }

  private async run(): Promise<Result<StoreResult>> {
    try {
      const room = this.engine.reserve(this.size);
      if (!room.ok) throw new Stop(room);
      this.cache = await openCache();
      if (!this.cache) this.store = { storage: 'unavailable' };
      await this.fromStorage();
      // What storage holds is read in well under a second: the engine answers after it, not
      // part by part before it (a start with every part stored answers with the whole model).
      this.reading = false;
      if (this.modelName !== null && this.engine.depth().depth > 0) this.answered(ok({ modelName: this.modelName }));
      if (!this.complete) await this.fromNetwork();
      await this.storing;
      return ok(this.store);
    } catch (e) {
      if (e instanceof Stop) return e.result;
      if (e instanceof ModelError) return fail(e.code, e.message);
      return fail('internal', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    }
  }

  // The parts that storage holds, in order, up to the first it does not (or that fails its check).
  private async fromStorage(): Promise<void> {
    if (!this.cache) return;
    for (; this.next < this.parts.length; ) {
      const p = this.parts[this.next]!;
      let bytes: Uint8Array | null = null;
      try {
        const res = await this.cache.match(partKey(this.sha, this.next));
        if (res) bytes = new Uint8Array(await res.arrayBuffer());
      } catch {
        bytes = null; // storage cleared meanwhile: download it
      }
      this.alive();
      if (!bytes || bytes.length !== p.size) return;
      this.engine.modelView(p.offset, p.size).set(bytes);
      this.pos = end(p);
      if (!(await this.verify(this.next))) {
        await this.cache.delete(partKey(this.sha, this.next)).catch(() => false);
        this.pos = p.offset;
        return;
      }
      await this.take(false);
    }
  }

  // The rest in one streamed request, again from where it stopped after a failure.
  private async fromNetwork(): Promise<void> {
    const { url } = this.src;
    const stallMs = this.src.stallMs ?? DEFAULT_STALL_MS;
    const sink: Sink = {
      begin: (start, total) => {
        if (total > 0 && total !== this.size) {
          throw new ModelError('integrity', `${url} has ${total} bytes, the manifest says ${this.size}`);
        }
        this.skip = this.pos - start;
        this.downloaded = true;
        return this.size;
      },
      chunk: (bytes) => this.received(bytes),
    };
    for (;;) {
      try {
        await withRetries(url, this.src.retries ?? DEFAULT_RETRIES, () => this.pos,
          () => fetchFrom(url, this.wholeBody ? 0 : this.pos, stallMs, sink), () => { this.wholeBody = true; });
        return;
      } catch (e) {
        if (!(e instanceof Refetch)) throw e;
      }
    }
  }

  // A chunk of the body: into the buffer, and every part it completes checked and taken.
  private async received(chunk: Uint8Array): Promise<void> {
    this.alive();
    let b = chunk;
    if (this.skip > 0) {
      const k = Math.min(this.skip, b.length);
      this.skip -= k;
      b = b.subarray(k);
    }
    if (b.length === 0) return;
    if (this.pos + b.length > this.size) throw new AttemptError(`more than the ${this.size} bytes of the manifest`, false);
    this.engine.modelView(this.pos, b.length).set(b);
    this.pos += b.length;
    while (this.next < this.parts.length && this.pos >= end(this.parts[this.next]!)) {
      const i = this.next;
      if (!(await this.verify(i))) {
        const p = this.parts[i]!;
        if (this.refetched.has(i)) {
          throw new ModelError('integrity', `${this.src.url}: part ${i} (bytes ${p.offset}-${end(p) - 1}) failed its SHA-256 check twice; expected ${p.sha256}`);
        }
        this.refetched.add(i);
        this.pos = p.offset;
        throw new Refetch();
      }
      await this.take(true);
    }
    if (this.pos - this.lastReport >= PROGRESS_STEP) this.report('download');
  }

  // Whether part `i`, in place in the buffer, has the manifest's digest.
  private async verify(i: number): Promise<boolean> {
    const p = this.parts[i]!;
    const got = await sha256Hex(this.engine.modelView(p.offset, p.size) as Uint8Array<ArrayBuffer>);
    this.alive();
    return got === p.sha256.toLowerCase();
  }

  // The next part is in place and checked: the engine takes it (made with it, the first time
  // its tables are all in), it is stored when it came from the network, and the engine answers
  // once it can.
  private async take(downloaded: boolean): Promise<void> {
    const i = this.next;
    const p = this.parts[i]!;
    if (this.modelName === null) {
      const t0 = performance.now();
      const made = this.engine.loadPartial(end(p), this.nCtx);
      this.engineMs += performance.now() - t0;
      if (made.ok) this.modelName = made.value.modelName;
      else if (made.error.engineStatus !== 'model still loading') throw new Stop(made);
    } else {
      const r = this.engine.setAvailable(end(p));
      if (!r.ok) throw new Stop(r);
    }
    this.next++;
    if (downloaded) this.keep(i);
    if (!this.reading && this.modelName !== null && this.engine.depth().depth > 0) this.answered(ok({ modelName: this.modelName }));
    this.report(downloaded ? 'download' : 'storage');
  }

  // Stores part `i` (a copy: the heap may grow under a pending write) after the ones before it;
  // after a failure nothing more is tried (the storage is full or refused).
  private keep(i: number): void {
    if (!this.cache) return;
    const p = this.parts[i]!;
    const copy = this.engine.modelView(p.offset, p.size).slice();
    const cache = this.cache;
    this.storing = this.storing.then(async () => {
      if (this.store.storage === 'failed') return;
      try {
        await cache.put(partKey(this.sha, i), new Response(copy, { headers: { 'content-type': 'application/octet-stream' } }));
        this.store = { storage: 'written' };
      } catch (e) {
        this.store = { storage: 'failed', error: `the model was not saved in browser storage from part ${i} on (${errText(e)}); the next start downloads those parts again` };
      }
    });
  }

  // Progress: how many bytes are in; once the engine answers, how deep it runs.
  private report(phase: 'download' | 'storage'): void {
    this.lastReport = this.pos;
    if (this.stopped) return;
    const answering = !this.reading && this.modelName !== null && this.engine.depth().depth > 0;
    if (answering && this.complete) return; // the host says 'full'
    if (answering) {
      this.progress({ type: 'progress', phase: 'early', loaded: this.pos, total: this.size, partial: this.partial() });
    } else {
      this.progress({ type: 'progress', phase, loaded: this.pos, total: this.size });
    }
  }

  private alive(): void {
    if (this.stopped || this.engine.disposed) throw new Stop(fail('cancelled', 'the engine was dropped while its model loaded'));
  }
}
