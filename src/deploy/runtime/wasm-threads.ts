// Threads for the WebAssembly kernels: a pool of Web Workers, each holding its own instance of the
// kernel binaries. A conv call is laid out once in the calling thread's module memory; its inputs
// (everything below the output) are copied into one SharedArrayBuffer, every worker copies them into
// its own memory at the same addresses, runs the same descriptor over its share of the output pixels
// and writes its output bytes into a shared output buffer. The calling thread runs the first share
// meanwhile. No shared WebAssembly memory, so the single-thread binaries serve both. Available where
// Web Workers and SharedArrayBuffer are (a cross-origin isolated page or a worker of one); elsewhere
// the runtime runs on one thread.
import plainBinary from '../../runtime/wasm/qconv.json' with { type: 'json' };
import relaxedBinary from '../../runtime/wasm/qconv-relaxed.json' with { type: 'json' };
import type { IntGrid } from '../../quant/grid.js';

// The little of the Web Worker API used here (the project compiles without the DOM library).
interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message: string }) => void) | null;
}
const web = globalThis as unknown as {
  Worker?: new (url: string) => WorkerLike;
  Blob?: new (parts: string[], o: { type: string }) => object;
  URL: { createObjectURL?(b: object): string };
  SharedArrayBuffer?: new (n: number) => ArrayBuffer;
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
};

/** One conv call laid out in a module's memory (addresses): inputs and descriptor from `base` to `outAt`, then output and scratch up to `top`. */
export interface ConvCall {
  base: number;
  desc: number;
  P: number;
  outAt: number;
  /** Output bytes per pixel. */
  bpp: number;
  top: number;
  outShape: number[];
  /** The output grid (null: float output). */
  grid: IntGrid | null;
}

// A worker's control block (Int32Array over a SharedArrayBuffer): the caller writes a job's fields,
// bumps GEN and wakes the worker (Atomics.notify); the worker, blocked in Atomics.wait, runs it,
// stores GEN into DONE and notifies. No message round trip per layer: after its own share the caller
// spins briefly on DONE, then waits without burning the core the worker may need (Atomics.waitAsync).
const GEN = 0,
  DONE = 1,
  CMD = 2, // 0: run; 1: return to the event loop to receive new shared buffers
  BINARY = 3, // 0: plain; 1: relaxed
  BASE = 4,
  LEN = 5,
  TOP = 6,
  DESC = 7,
  P0 = 8,
  P1 = 9,
  OUT_AT = 10,
  BPP = 11,
  ERROR = 12,
  CTRL_INTS = 16;

// The worker's whole program, stringified into a Blob: it must not refer to anything outside itself.
function workerMain(binaries: Record<string, string>, F: Record<string, number>): void {
  type Ex = { memory: { buffer: ArrayBuffer; grow(n: number): number }; qconv(d: number, a: number, b: number): void };
  const scope = globalThis as unknown as {
    onmessage: (e: { data: { ctrl?: Int32Array; region?: ArrayBuffer; out?: ArrayBuffer } }) => void;
    Atomics: typeof Atomics;
  };
  const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const W = (
    globalThis as unknown as {
      WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Ex } };
    }
  ).WebAssembly;
  const ex: Ex[] = [];
  for (const b64 of [binaries.plain, binaries.relaxed])
    try {
      ex.push(new W.Instance(new W.Module(decode(b64)), {}).exports);
    } catch {
      ex.push(null as unknown as Ex); // no relaxed SIMD here: the caller does not ask for it either
    }
  let ctrl: Int32Array = new Int32Array(0),
    region = new ArrayBuffer(0),
    out = new ArrayBuffer(0),
    last = 0;
  const loop = () => {
    for (;;) {
      Atomics.wait(ctrl, F.GEN, last);
      const gen = Atomics.load(ctrl, F.GEN);
      if (gen === last) continue;
      last = gen;
      if (ctrl[F.CMD] === 1) {
        Atomics.store(ctrl, F.DONE, gen);
        return; // the new buffers are waiting in the message queue
      }
      try {
        const k = ex[ctrl[F.BINARY]];
        const need = ctrl[F.TOP] - k.memory.buffer.byteLength;
        if (need > 0) k.memory.grow(Math.ceil(need / 65536));
        new Uint8Array(k.memory.buffer, ctrl[F.BASE], ctrl[F.LEN]).set(new Uint8Array(region, 0, ctrl[F.LEN]));
        const p0 = ctrl[F.P0],
          p1 = ctrl[F.P1],
          bpp = ctrl[F.BPP];
        k.qconv(ctrl[F.DESC], p0, p1);
        new Uint8Array(out, p0 * bpp, (p1 - p0) * bpp).set(new Uint8Array(k.memory.buffer, ctrl[F.OUT_AT] + p0 * bpp, (p1 - p0) * bpp));
        ctrl[F.ERROR] = 0;
      } catch {
        ctrl[F.ERROR] = 1;
      }
      Atomics.store(ctrl, F.DONE, gen);
      Atomics.notify(ctrl, F.DONE);
    }
  };
  scope.onmessage = (e) => {
    if (e.data.ctrl) {
      ctrl = e.data.ctrl;
      (scope as unknown as { postMessage(m: unknown): void }).postMessage('ready');
    }
    if (e.data.region) region = e.data.region;
    if (e.data.out) out = e.data.out;
    loop();
  };
}

/** Whether this environment can run the kernels on worker threads. */
export function threadsAvailable(): boolean {
  return (
    !refused && Boolean(web.Worker && web.Blob && web.URL.createObjectURL && web.SharedArrayBuffer && web.crossOriginIsolated !== false)
  );
}

/** Set when workers could not start here (a content security policy without `worker-src blob:`, say). */
let refused = false;

/**
 * The started pool of `threads` threads, or null (one thread) when none can run here; a pool whose
 * workers fail to start is dropped and threads stay off for the page, so runs go on on one thread.
 */
export async function startedPool(threads: number): Promise<WasmThreads | null> {
  const p = threadPool(threads);
  if (!p) return null;
  try {
    await p.ready;
    return p;
  } catch {
    p.terminate();
    pool = null;
    refused = true;
    return null;
  }
}

/** The threads a page offers: its logical cores, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, web.navigator?.hardwareConcurrency ?? 1));
}

let pool: WasmThreads | null = null;
let jobs = 0;
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `f` after every threaded run started before it has finished: the pool's workers, its shared
 * buffers and the layout of a call in the module memory serve one run at a time.
 */
export function oneAtATime<T>(f: () => Promise<T>): Promise<T> {
  const run = queue.then(f, f);
  queue = run.catch(() => undefined);
  return run;
}

/** Whether worker threads can run here, how many the pool has, and how many layer shares they have run so far. */
export function threadStats(): { available: boolean; workers: number; jobs: number } {
  return { available: threadsAvailable(), workers: pool ? pool.threads - 1 : 0, jobs };
}

/** The shared pool of `threads` threads (restarted when the count changes), or null for one thread or none available. */
export function threadPool(threads: number): WasmThreads | null {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a whole number ≥ 1, got ${threads}`);
  if (threads === 1 || !threadsAvailable()) return null;
  if (pool?.threads !== threads) {
    pool?.terminate();
    pool = new WasmThreads(threads);
  }
  return pool;
}

export class WasmThreads {
  private readonly workers: { w: WorkerLike; ctrl: Int32Array }[] = [];
  private region: ArrayBuffer | null = null;
  private out: ArrayBuffer | null = null;
  /** Resolves when every worker has started (they start only while the calling thread's event loop runs). */
  readonly ready: Promise<void>;

  /** A pool running on `threads` threads in all: the calling one and threads − 1 workers. */
  constructor(readonly threads: number) {
    if (!threadsAvailable()) throw new Error('WebAssembly threads need Web Workers and SharedArrayBuffer (a cross-origin isolated page)');
    const binaries = JSON.stringify({ plain: plainBinary.base64, relaxed: relaxedBinary.base64 });
    const fields = JSON.stringify({ GEN, DONE, CMD, BINARY, BASE, LEN, TOP, DESC, P0, P1, OUT_AT, BPP, ERROR });
    const url = web.URL.createObjectURL!(
      new web.Blob!([`(${workerMain.toString()})(${binaries}, ${fields});`], { type: 'text/javascript' }),
    );
    const started: Promise<void>[] = [];
    for (let i = 1; i < threads; i++) {
      const ctrl = new Int32Array(new web.SharedArrayBuffer!(4 * CTRL_INTS));
      let w: WorkerLike;
      try {
        w = new web.Worker!(url);
      } catch (e) {
        started.push(Promise.reject(new Error(`a WebAssembly worker did not start: ${(e as Error).message}`)));
        continue;
      }
      started.push(
        new Promise((resolve, reject) => {
          w.onmessage = () => resolve();
          w.onerror = (e) => reject(new Error(`a WebAssembly worker did not start: ${e.message}`));
        }),
      );
      w.postMessage({ ctrl });
      this.workers.push({ w, ctrl });
    }
    // A worker a policy blocks may neither start nor report an error: give up after 10 s.
    const timeout = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error('WebAssembly workers did not start within 10 s')), 10000),
    );
    this.ready = Promise.race([Promise.all(started).then(() => undefined), timeout]);
  }

  /** Shared buffers of at least these sizes (grown by half again), handed to the workers when replaced. */
  private buffers(regionBytes: number, outBytes: number): { region: ArrayBuffer; out: ArrayBuffer } {
    if (!this.region || !this.out || this.region.byteLength < regionBytes || this.out.byteLength < outBytes) {
      const grow = (b: ArrayBuffer | null, n: number) => (b && b.byteLength >= n ? b : new web.SharedArrayBuffer!(Math.ceil(n * 1.5)));
      this.region = grow(this.region, regionBytes);
      this.out = grow(this.out, outBytes);
      for (const { w, ctrl } of this.workers) {
        // The buffers wait in the worker's queue; the reload command sends it back to its event loop to take them.
        w.postMessage({ region: this.region, out: this.out });
        ctrl[CMD] = 1;
        this.signal(ctrl);
        this.wait(ctrl);
      }
    }
    return { region: this.region, out: this.out };
  }

  private signal(ctrl: Int32Array): void {
    Atomics.add(ctrl, GEN, 1);
    Atomics.notify(ctrl, GEN);
  }

  /** Spins until the worker has finished its current command (it runs concurrently; the caller has done its own share). */
  private wait(ctrl: Int32Array): void {
    const gen = Atomics.load(ctrl, GEN),
      start = Date.now();
    while (Atomics.load(ctrl, DONE) !== gen)
      if (Date.now() - start > 30000) throw new Error('a WebAssembly worker has not answered for 30 s');
  }

  /** Resolves when the worker has finished its job: a brief spin (it usually has), then an asynchronous wait. */
  private async finished(ctrl: Int32Array): Promise<void> {
    const gen = Atomics.load(ctrl, GEN),
      start = performance.now();
    const waitAsync = (
      Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: unknown } }
    ).waitAsync;
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done === gen) return;
      if (performance.now() - start > 30000) throw new Error('a WebAssembly worker has not answered for 30 s');
      if (performance.now() - start < 0.2 || !waitAsync) continue;
      const w = waitAsync(ctrl, DONE, done, 1000);
      if (w.async) await (w.value as Promise<string>);
    }
  }

  /**
   * Runs a laid-out call over its output pixels: the workers take shares 2.. (after copying the
   * call's inputs into their memories), `own` runs share 1 on the calling thread. Resolves to the
   * output bytes of every pixel.
   */
  async run(
    binary: 'plain' | 'relaxed',
    call: ConvCall,
    inputs: Uint8Array,
    own: (p0: number, p1: number) => Uint8Array,
  ): Promise<Uint8Array> {
    const n = this.workers.length + 1;
    // Shares in whole register tiles (4 pixels).
    const per = Math.ceil(call.P / n / 4) * 4;
    const share = (i: number) => [Math.min(call.P, i * per), Math.min(call.P, (i + 1) * per)];
    const { region, out } = this.buffers(inputs.length, call.P * call.bpp);
    new Uint8Array(region).set(inputs);
    const busy: Int32Array[] = [];
    this.workers.forEach(({ ctrl }, i) => {
      const [p0, p1] = share(i + 1);
      if (p0 >= p1) return;
      ctrl.set([0, binary === 'relaxed' ? 1 : 0, call.base, inputs.length, call.top, call.desc, p0, p1, call.outAt, call.bpp], CMD);
      this.signal(ctrl);
      busy.push(ctrl);
      jobs++;
    });
    const [p0, p1] = share(0);
    // This thread's share is copied out before waiting: its module memory may be reused meanwhile.
    const mine = own(p0, p1).slice();
    for (const ctrl of busy) {
      await this.finished(ctrl);
      if (ctrl[ERROR]) throw new Error('a WebAssembly worker failed on its share of a layer');
    }
    const bytes = new Uint8Array(call.P * call.bpp);
    bytes.set(new Uint8Array(out, 0, bytes.length));
    bytes.set(mine, p0 * call.bpp);
    return bytes;
  }

  terminate(): void {
    for (const { w } of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
