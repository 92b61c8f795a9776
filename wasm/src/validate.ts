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
}

function model(v: unknown, what: string): void {
  const m = obj(v, what);
  if (m.sha256 !== undefined && (typeof m.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(m.sha256))) {
    throw new Invalid(`${what}.sha256 must be 64 hexadecimal digits`);
  }
  if (m.kind === 'url') {
    str(m, 'url', what);
    budget(m, 'stallMs', what);
    index(m, 'retries', what, true);
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
