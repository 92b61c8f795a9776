/*
 * What the worker accepts: every message checked against the protocol (protocol.ts) before it
 * reaches the engine. A message arrives from another realm by structured clone, so its types are
 * a promise, not a fact: a missing field, a string where a number belongs, a fractional or
 * negative offset, a number the WebAssembly boundary would wrap modulo 2^32 must each come back
 * as a 'bad_request' naming the field, not as an exception in the engine or, worse, an edit at
 * the wrong place.
 */
import type { ToWorker } from './protocol.js';

/** Offsets, lengths, lines and versions above this are refused (the engine counts in 32 bits). */
export const MAX_INDEX = 0x7fffffff;

type Obj = Record<string, unknown>;

class Invalid extends Error {}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Invalid(`${what} must be an object`);
  return v;
}

function str(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Invalid(`${what}.${key} must be a string`);
  return v;
}

function index(o: Obj, key: string, what: string, optional = false): number | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_INDEX) {
    throw new Invalid(`${what}.${key} must be an integer from 0 to ${MAX_INDEX}`);
  }
  return v;
}

function budget(o: Obj, key: string, what: string): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e9) {
    throw new Invalid(`${what}.${key} must be a number from 0 to 1e9`);
  }
}

function position(v: unknown, what: string): void {
  const p = obj(v, what);
  index(p, 'line', what);
  index(p, 'character', what);
}

function change(v: unknown, what: string): void {
  const c = obj(v, what);
  index(c, 'rangeOffset', what);
  index(c, 'rangeLength', what);
  str(c, 'text', what);
}

function options(v: unknown, what: string): void {
  const o = obj(v, what);
  for (const k of ['maxLines', 'maxTokens', 'nCandidates'] as const) index(o, k, what, true);
  budget(o, 'timeBudgetMs', what);
  if (o.partial !== undefined && typeof o.partial !== 'boolean') throw new Invalid(`${what}.partial must be a boolean`);
}

function sha256(o: Obj, key: string, what: string, optional = false): void {
  const v = o[key];
  if (v === undefined && optional) return;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) throw new Invalid(`${what}.${key} must be 64 hexadecimal digits`);
}

/** Most parts a manifest may list (the shipped model has 13: the head, then one per block). */
export const MAX_PARTS = 4096;

// A parts manifest (protocol.ts ModelManifest): parts that follow each other from 0 to `size`,
// each with its digest, blocks ready that never go down and never pass the model's count.
function manifest(v: unknown, what: string): void {
  const m = obj(v, what);
  const size = index(m, 'size', what)!;
  sha256(m, 'sha256', what);
  const blocks = index(m, 'block_count', what)!;
  index(m, 'exit_layers', what);
  if (!Array.isArray(m.parts) || m.parts.length === 0 || m.parts.length > MAX_PARTS) {
    throw new Invalid(`${what}.parts must be an array of 1 to ${MAX_PARTS} parts`);
  }
  let at = 0, ready = 0;
  m.parts.forEach((raw, i) => {
    const w = `${what}.parts[${i}]`;
    const p = obj(raw, w);
    if (index(p, 'offset', w) !== at) throw new Invalid(`${w}.offset must be ${at}, where the part before ends`);
    const n = index(p, 'size', w)!;
    if (n === 0) throw new Invalid(`${w}.size must not be 0`);
    at += n;
    const r = index(p, 'layers_ready', w)!;
    if (r < ready || r > blocks) throw new Invalid(`${w}.layers_ready must be from ${ready} to ${blocks}`);
    ready = r;
    if (!Array.isArray(p.blocks) || !p.blocks.every((b) => Number.isInteger(b) && b >= 0 && b < blocks)) {
      throw new Invalid(`${w}.blocks must be an array of block numbers below ${blocks}`);
    }
    sha256(p, 'sha256', w);
  });
  if (at !== size) throw new Invalid(`${what}.parts end at ${at}, not at the file's size ${size}`);
}

function model(v: unknown, what: string): void {
  const m = obj(v, what);
  sha256(m, 'sha256', what, true);
  if (m.kind === 'url') {
    str(m, 'url', what);
    budget(m, 'stallMs', what);
    index(m, 'retries', what, true);
    if (m.earlyAnswers !== undefined && m.earlyAnswers !== 'trained' && m.earlyAnswers !== 'always') {
      throw new Invalid(`${what}.earlyAnswers must be 'trained' or 'always'`);
    }
    if (m.manifest !== undefined) {
      manifest(m.manifest, `${what}.manifest`);
      const want = (m.manifest as Obj).sha256 as string;
      if (typeof m.sha256 === 'string' && m.sha256.toLowerCase() !== want.toLowerCase()) {
        throw new Invalid(`${what}.sha256 is not the manifest's (${want})`);
      }
    }
  } else if (m.kind === 'bytes') {
    if (!(m.bytes instanceof ArrayBuffer)) throw new Invalid(`${what}.bytes must be an ArrayBuffer`);
  } else {
    throw new Invalid(`${what}.kind must be 'url' or 'bytes'`);
  }
}

/** The message as a ToWorker, or why it is not one. `id` is the message's id when it has a usable
 * one (so that the refusal can be answered), else -1. */
export function validate(msg: unknown): { ok: true; msg: ToWorker } | { ok: false; id: number; message: string } {
  const id = isObj(msg) && typeof msg.id === 'number' && Number.isSafeInteger(msg.id) ? msg.id : -1;
  try {
    const m = obj(msg, 'the message');
    if (id < 0) throw new Invalid('the message needs an integer id');
    const type = m.type;
    if (type === 'cancel' || type === 'ping') return { ok: true, msg: m as unknown as ToWorker };
    const w = `${String(type)}.params`;
    const p = obj(m.params, w);
    switch (type) {
      case 'init':
        model(p.model, `${w}.model`);
        if (p.wasmUrl !== undefined) str(p, 'wasmUrl', w);
        if (p.wasmBytes !== undefined && !(p.wasmBytes instanceof ArrayBuffer)) throw new Invalid(`${w}.wasmBytes must be an ArrayBuffer`);
        index(p, 'nCtx', w, true);
        if (p.speculative !== undefined) {
          const sp = obj(p.speculative, `${w}.speculative`);
          if (index(sp, 'nDraft', `${w}.speculative`)! > 4) throw new Invalid(`${w}.speculative.nDraft must be from 0 to 4`);
          index(sp, 'draftDepth', `${w}.speculative`, true);
        }
        break;
      case 'open':
        str(p, 'uri', w);
        str(p, 'languageId', w);
        str(p, 'text', w);
        index(p, 'version', w);
        break;
      case 'edit':
        str(p, 'uri', w);
        index(p, 'version', w);
        if (!Array.isArray(p.changes)) throw new Invalid(`${w}.changes must be an array`);
        p.changes.forEach((c, i) => change(c, `${w}.changes[${i}]`));
        break;
      case 'close':
        str(p, 'uri', w);
        break;
      case 'complete':
      case 'speculate':
        str(p, 'uri', w);
        index(p, 'version', w);
        position(p.position, `${w}.position`);
        options(p.options, `${w}.options`);
        if (type === 'speculate' && p.edit !== undefined) {
          change(p.edit, `${w}.edit`);
          str(p.edit as Obj, 'removed', `${w}.edit`);
        }
        break;
      case 'warm':
        if (!Array.isArray(p.languageIds) || !p.languageIds.every((l) => typeof l === 'string')) {
          throw new Invalid(`${w}.languageIds must be an array of strings`);
        }
        break;
      case 'text':
        str(p, 'uri', w);
        break;
      case 'lastPrompt':
      case 'stats':
        break;
      default:
        throw new Invalid(`unknown request type ${JSON.stringify(type)}`);
    }
    return { ok: true, msg: m as unknown as ToWorker };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, id, message: e.message };
    throw e;
  }
}
