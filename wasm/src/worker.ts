/*
 * The Web Worker entry: one engine per worker. Bundled (with the Emscripten glue of both builds,
 * plain and relaxed SIMD: their minified export names differ) into
 * dist/wisp-worker.js as a classic script, so it also runs where module workers are not allowed
 * (VS Code for the Web wraps nested workers in importScripts).
 */
import createWisp from 'wisp-glue';
import createWispRelaxed from 'wisp-glue-relaxed';
import type { ModuleFactory } from './engine.js';
import { Host } from './host.js';
import type { ToWorker } from './protocol.js';

const scope = self as unknown as {
  postMessage(msg: unknown): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
};
const host = new Host(createWisp as ModuleFactory, (msg) => scope.postMessage(msg), createWispRelaxed as ModuleFactory);
scope.onmessage = (ev) => host.receive(ev.data);
