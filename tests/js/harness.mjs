import { Worker } from 'node:worker_threads';

// The worker's Host driven directly, as tests/js/ files do: `call(type, params)` sends a request
// and resolves with its answer; `events` holds the progress events sent so far, and
// `phase(name)` resolves with the first of that phase (sent already, or to come).
export function hostHarness(api, factory) {
  const events = [];
  const waiters = new Map();
  const eventWaiters = [];
  const host = new api.Host(factory, (msg) => {
    if (msg.type === 'progress') {
      events.push(msg);
      for (const w of eventWaiters.splice(0)) w();
      return;
    }
    waiters.get(msg.id)?.(msg.result);
  });
  let id = 0;
  const call = (type, params) => {
    const rid = ++id;
    const p = new Promise((r) => waiters.set(rid, r));
    host.receive({ id: rid, type, params });
    return p;
  };
  const phase = async (name, timeoutMs = 60_000) => {
    const t0 = Date.now();
    for (;;) {
      const ev = events.find((e) => e.phase === name);
      if (ev) return ev;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no '${name}' event in ${timeoutMs} ms: ${JSON.stringify(events.map((e) => e.phase))}`);
      await new Promise((r) => { eventWaiters.push(r); setTimeout(r, 200); });
    }
  };
  return { host, call, events, phase };
}

// The real worker bundle (wasm/dist/wisp-worker.js, at `bundle`) in a worker_threads thread:
// `self` is the thread's port, as in a Web Worker, so that its messages reach this thread while
// the engine call that posts them still runs. A WorkerLike for WispClient; `thread` is the Worker.
export function threadWorker(bundle) {
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    globalThis.self = globalThis;
    self.postMessage = (m) => parentPort.postMessage(m);
    parentPort.on('message', (m) => self.onmessage && self.onmessage({ data: m }));
    require(workerData.bundle);
  `, { eval: true, workerData: { bundle } });
  return {
    thread: w,
    postMessage: (m, t) => w.postMessage(m, t),
    addEventListener: (type, fn) => {
      if (type === 'message') w.on('message', (data) => fn({ data }));
      else if (type === 'error') w.on('error', (e) => fn({ message: e.message }));
    },
    terminate: () => { void w.terminate(); },
  };
}
