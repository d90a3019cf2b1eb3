// The runtimes a web page can use for a lowbit model, in a real browser (Debian's Chromium, headless,
// driven by playwright-core over a loopback static server that makes the page cross-origin isolated):
// lowbit's runtime (WebAssembly kernels), onnxruntime-web's wasm execution provider on lowbit's ONNX
// export, and tfjs with its wasm backend on the `--plain` tfjs export. Same images, same thread
// count, each runtime in a page of its own, the runtimes taking turns a few runs at a time after a
// warm-up of at least 5 runs and 1 s each; the median per runtime. Random weights and
// quantizers fitted on random data (speed does not depend on accuracy); int weights per channel and
// unsigned activations, first conv and last FC at 8 bits. Also the gzipped download of each runtime.
// Prints one JSON row per model, configuration and thread count.
// Usage: node dist/bench/browser.js [--models lenet5,vgg9] [--bits 8,4,2] [--threads 1,2] [--runs 7]
//        [--record results/bench-browser.json]
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { chromium, type Page } from 'playwright-core';
import { tf } from '../src/engine/tf.js';
import { initEngine } from '../src/engine/setup.js';
import { buildModel } from '../src/models/zoo.js';
import { quantizeModel } from '../src/nn/quantize-model.js';
import { packModel } from '../src/deploy/pack.js';
import { readPacked } from '../src/deploy/read.js';
import { loadLowbit } from '../src/deploy/runtime/model.js';
import { exportOnnx } from '../src/deploy/onnx/export.js';
import { exportTfjs } from '../src/deploy/tfjs-export.js';
import { setNativeKernels } from '../src/engine/addon-state.js';
import { serveDirectory } from '../test/helpers/static-server.js';
import { intConfig } from './int-config.js';
import { writeBenchRecord } from './step-timing.js';
import type { InputShape } from '../src/models/common.js';

const cases: Record<string, { batch: number; shape: InputShape }> = {
  lenet5: { batch: 256, shape: [28, 28, 1] },
  vgg9: { batch: 16, shape: [32, 32, 3] },
};

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const nm = (...p: string[]) => path.join(root, 'node_modules', ...p);

/** What each runtime downloads, by file (as the page loads it), relative to the served folder. */
const peerFiles = {
  lowbit: { 'lowbit-runtime.js': path.join(root, 'dist', 'runtime', 'lowbit-runtime.js') },
  ort: {
    'ort/ort.wasm.min.mjs': nm('onnxruntime-web', 'dist', 'ort.wasm.min.mjs'),
    'ort/ort-wasm-simd-threaded.mjs': nm('onnxruntime-web', 'dist', 'ort-wasm-simd-threaded.mjs'),
    'ort/ort-wasm-simd-threaded.wasm': nm('onnxruntime-web', 'dist', 'ort-wasm-simd-threaded.wasm'),
  },
  tfjs: {
    'tf/tf.min.js': nm('@tensorflow', 'tfjs', 'dist', 'tf.min.js'),
    'tf/tf-backend-wasm.min.js': nm('@tensorflow', 'tfjs-backend-wasm', 'dist', 'tf-backend-wasm.min.js'),
    'tf/tfjs-backend-wasm-simd.wasm': nm('@tensorflow', 'tfjs-backend-wasm', 'dist', 'tfjs-backend-wasm-simd.wasm'),
    'tf/tfjs-backend-wasm-threaded-simd.wasm': nm('@tensorflow', 'tfjs-backend-wasm', 'dist', 'tfjs-backend-wasm-threaded-simd.wasm'),
  },
};

interface PageCase {
  id: string;
  batch: number;
  dims: number[];
}
type Runtime = 'lowbit' | 'ort' | 'tfjs';
const runtimes: Runtime[] = ['lowbit', 'ort', 'tfjs'];

// Runs in a page of its own per runtime (so that one runtime's idle worker threads, which may spin,
// never share the cores with another's run): loads the runtime and every case's model, and installs
// `bench(id, runs)`, which times `runs` runs of one case and returns the times and the last output.
async function pageSetup(a: { base: string; runtime: Runtime; cases: PageCase[]; threads: number }): Promise<{ isolated: boolean }> {
  const g = globalThis as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const bytes = async (u: string) => new Uint8Array(await (await fetch(a.base + u)).arrayBuffer());
  const runs: Record<string, () => Promise<Float32Array>> = {};
  if (a.runtime === 'lowbit') {
    const lowbit = await import(a.base + 'lowbit-runtime.js');
    g.lowbit = lowbit;
    for (const c of a.cases) {
      const input = new Float32Array((await bytes(`${c.id}.in`)).buffer);
      const model = lowbit.loadLowbit(await bytes(`${c.id}.lowbit`));
      // One thread: predict; more: predictAsync over Web Workers.
      runs[c.id] = async () =>
        a.threads === 1 ? model.predict(input, c.batch) : await model.predictAsync(input, c.batch, { threads: a.threads });
    }
  } else if (a.runtime === 'ort') {
    const ort = await import(a.base + 'ort/ort.wasm.min.mjs');
    ort.env.wasm.numThreads = a.threads;
    ort.env.wasm.wasmPaths = a.base + 'ort/';
    for (const c of a.cases) {
      const input = new Float32Array((await bytes(`${c.id}.in`)).buffer);
      const session = await ort.InferenceSession.create(await bytes(`${c.id}.onnx`), { executionProviders: ['wasm'] });
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, c.dims) };
      runs[c.id] = async () => (await session.run(feeds))[session.outputNames[0]].data;
    }
  } else {
    g.tf.wasm.setWasmPaths(a.base + 'tf/');
    g.tf.wasm.setThreadsCount(a.threads);
    await g.tf.setBackend('wasm');
    await g.tf.ready();
    for (const c of a.cases) {
      const input = new Float32Array((await bytes(`${c.id}.in`)).buffer);
      const tm = await g.tf.loadLayersModel(`${a.base}${c.id}-tfjs/model.json`);
      const x = g.tf.tensor(input, c.dims);
      runs[c.id] = async () => {
        const y = tm.predict(x);
        const out = await y.data();
        y.dispose();
        return out;
      };
    }
  }
  g.bench = async (id: string, n: number) => {
    const t: number[] = [];
    let out: Float32Array = new Float32Array(0);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      out = await runs[id]();
      t.push(performance.now() - t0);
    }
    return { t, out: Array.from(out) };
  };
  return { isolated: Boolean(g.crossOriginIsolated) };
}

const median = (t: number[]) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)];

function argmax(v: ArrayLike<number>, at: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (v[at + j] > v[at + best]) best = j;
  return best;
}

const gzipKB = (files: Record<string, string>) =>
  Number((Object.values(files).reduce((s, f) => s + gzipSync(readFileSync(f), { level: 9 }).length, 0) / 1024).toFixed(1));

async function main(): Promise<void> {
  const o = new Command('browser')
    .option('--models <list>', 'models', 'lenet5,vgg9')
    .option('--bits <list>', 'weight and activation bits', '8,4,2')
    .option('--threads <list>', 'thread counts', '1,2')
    .option('--runs <n>', 'timed runs (median)', '7')
    .option('--record <file>', 'write a JSON record')
    .parse()
    .opts<{ models: string; bits: string; threads: string; runs: string; record?: string }>();
  await initEngine({ quiet: true, threads: 1 });
  const dir = mkdtempSync(path.join(tmpdir(), 'lowbit-bench-browser-'));
  const server = await serveDirectory(dir, { isolated: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', ...(process.env.CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean)],
  });
  try {
    for (const files of Object.values(peerFiles))
      for (const [rel, src] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        copyFileSync(src, path.join(dir, rel));
      }
    writeFileSync(
      path.join(dir, 'tfjs.html'),
      '<!doctype html><meta charset="utf-8"><script src="tf/tf.min.js"></script><script src="tf/tf-backend-wasm.min.js"></script>',
    );
    writeFileSync(path.join(dir, 'blank.html'), '<!doctype html><meta charset="utf-8">');
    // The models and their exports, and what Node's runtime computes on the same images.
    const pageCases: (PageCase & { model: string; config: string; node: Float32Array })[] = [];
    for (const name of o.models.split(',')) {
      const c = cases[name];
      if (!c) throw new Error(`unknown model '${name}' (expected ${Object.keys(cases).join(', ')})`);
      const x = tf.randomNormal([c.batch, ...c.shape], 0, 1, 'float32', 3);
      const input = Float32Array.from(x.dataSync() as Float32Array);
      for (const bits of o.bits.split(',').map(Number)) {
        const { model } = await quantizeModel(buildModel(name, { inputShape: c.shape, numClasses: 10, seed: 1 }), intConfig(bits));
        tf.tidy(() => void model.apply(x, { training: true }));
        const bytes = packModel(model).bytes;
        const id = `${name}-w${bits}a${bits}`;
        writeFileSync(path.join(dir, `${id}.lowbit`), bytes);
        writeFileSync(path.join(dir, `${id}.in`), Buffer.from(input.buffer));
        writeFileSync(path.join(dir, `${id}.onnx`), exportOnnx(readPacked(bytes)).bytes);
        const tj = await exportTfjs(readPacked(bytes), { plain: true });
        mkdirSync(path.join(dir, `${id}-tfjs`));
        writeFileSync(path.join(dir, `${id}-tfjs`, 'model.json'), JSON.stringify(tj.modelJson));
        writeFileSync(path.join(dir, `${id}-tfjs`, tj.weightsFile), tj.weightData);
        const old = setNativeKernels(true);
        const node = loadLowbit(bytes).predict(input, c.batch);
        setNativeKernels(old);
        pageCases.push({ id, batch: c.batch, dims: [c.batch, ...c.shape], model: name, config: `W${bits}A${bits}`, node });
      }
      x.dispose();
    }
    const download = {
      lowbit_gz_kb: gzipKB(peerFiles.lowbit),
      ort_wasm_gz_kb: gzipKB(peerFiles.ort),
      // One of tfjs's two SIMD binaries downloads (the threaded one only where threads run).
      tfjs_wasm_gz_kb: gzipKB(Object.fromEntries(Object.entries(peerFiles.tfjs).filter(([f]) => !f.includes('threaded')))),
    };
    const rows: Record<string, unknown>[] = [];
    const runs = Number(o.runs);
    for (const threads of o.threads.split(',').map(Number)) {
      const pages = new Map<Runtime, Page>();
      for (const runtime of runtimes) {
        const page = await browser.newPage();
        page.on('pageerror', (e) => console.error(`bench: ${runtime} page error: ${e.message}`));
        // Only tfjs's page loads its scripts.
        await page.goto(server.url + (runtime === 'tfjs' ? 'tfjs.html' : 'blank.html'));
        const r = await page.evaluate(pageSetup, {
          base: server.url,
          runtime,
          cases: pageCases.map(({ id, batch, dims }) => ({ id, batch, dims })),
          threads,
        });
        if (threads > 1 && !r.isolated) throw new Error('the page is not cross-origin isolated: no WebAssembly threads');
        pages.set(runtime, page);
      }
      const bench = (runtime: Runtime, id: string, n: number) =>
        pages
          .get(runtime)!
          .evaluate(
            ([i, k]) => (globalThis as unknown as { bench: (i: string, k: number) => Promise<{ t: number[]; out: number[] }> }).bench(i, k),
            [id, n] as const,
          );
      for (const c of pageCases) {
        // Warm-up: at least 5 runs and 1 s per runtime, so that every engine's WebAssembly has tiered up.
        for (const runtime of runtimes) {
          const start = Date.now();
          do await bench(runtime, c.id, 5);
          while (Date.now() - start < 1000);
        }
        // The runtimes take turns, a few runs each per round, so that a burst of load on a shared machine hits all of them.
        const times = new Map<Runtime, number[]>(runtimes.map((r) => [r, []]));
        const outs = new Map<Runtime, number[]>();
        for (let done = 0; done < runs; done += 3)
          for (const runtime of runtimes) {
            const r = await bench(runtime, c.id, Math.min(3, runs - done));
            times.get(runtime)!.push(...r.t);
            outs.set(runtime, r.out);
          }
        const logits = outs.get('lowbit')!,
          ortOut = outs.get('ort')!;
        // The page's logits must be Node's, bit for bit: a benchmark of wrong answers measures nothing.
        if (logits.length !== c.node.length || logits.some((v, i) => !Object.is(v, c.node[i])))
          throw new Error(`${c.id}: the browser's logits differ from Node's`);
        const k = logits.length / c.batch;
        let same = 0;
        for (let i = 0; i < c.batch; i++) if (argmax(logits, i * k, k) === argmax(ortOut, i * k, k)) same++;
        const [lowbitMs, ortMs, tfMs] = runtimes.map((r) => median(times.get(r)!));
        const stats = await pages.get('lowbit')!.evaluate(() => {
          const lb = (globalThis as unknown as { lowbit: { threadStats(): { workers: number }; runtimeKernels(): string } }).lowbit;
          return { workers: lb.threadStats().workers, kernels: lb.runtimeKernels() };
        });
        const row = {
          model: c.model,
          config: c.config,
          batch: c.batch,
          threads,
          lowbit_threads: stats.workers + 1,
          kernels: stats.kernels,
          lowbit_ms: Number(lowbitMs.toFixed(2)),
          ort_ms: Number(ortMs.toFixed(2)),
          tfjs_ms: Number(tfMs.toFixed(2)),
          vs_ort: Number((ortMs / lowbitMs).toFixed(2)),
          vs_tfjs: Number((tfMs / lowbitMs).toFixed(2)),
          top1_vs_ort: same / c.batch,
          browser: `Chromium ${browser.version()}`,
          ...download,
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
      for (const page of pages.values()) await page.close();
    }
    if (o.record) writeBenchRecord(o.record, 'bench-browser', `node dist/bench/browser.js --record ${o.record}`, rows);
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
