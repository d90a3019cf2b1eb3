// The runtimes a web page can use for a lowbit model, in a real browser (Debian's Chromium, headless,
// driven by playwright-core over a loopback static server that makes the page cross-origin isolated):
// lowbit's runtime (WebAssembly kernels), onnxruntime-web's wasm execution provider on lowbit's ONNX
// export, and tfjs with its wasm backend on the `--plain` tfjs export. Same images, same thread
// count (a fresh page per count), median of timed runs after a warm-up of at least 5 runs and 1 s. Random weights and
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
import { chromium } from 'playwright-core';
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
interface PageRow {
  id: string;
  lowbit_ms: number;
  ort_ms: number;
  tfjs_ms: number;
  kernels: string;
  /** Images whose top-1 class is the same in lowbit's and ORT's logits. */
  top1_vs_ort: number;
  logits: number[];
}

// Runs in the page: times each runtime on each case.
async function pageBench(a: {
  base: string;
  cases: PageCase[];
  threads: number;
  runs: number;
}): Promise<{ rows: PageRow[]; isolated: boolean; workers: number }> {
  const g = globalThis as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const bytes = async (u: string) => new Uint8Array(await (await fetch(a.base + u)).arrayBuffer());
  const median = (t: number[]) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)];
  const time = async (f: () => unknown) => {
    // Warm-up: at least 5 runs and 1 s, so that every engine's WebAssembly has tiered up to its optimizing compiler.
    const start = performance.now();
    for (let i = 0; i < 5 || performance.now() - start < 1000; i++) await f();
    const t: number[] = [];
    for (let i = 0; i < a.runs; i++) {
      const t0 = performance.now();
      await f();
      t.push(performance.now() - t0);
    }
    return median(t);
  };
  const argmax = (v: ArrayLike<number>, at: number, n: number) => {
    let best = 0;
    for (let j = 1; j < n; j++) if (v[at + j] > v[at + best]) best = j;
    return best;
  };
  const lowbit = await import(a.base + 'lowbit-runtime.js');
  const ort = await import(a.base + 'ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = a.threads;
  ort.env.wasm.wasmPaths = a.base + 'ort/';
  g.tf.wasm.setWasmPaths(a.base + 'tf/');
  g.tf.wasm.setThreadsCount(a.threads);
  await g.tf.setBackend('wasm');
  await g.tf.ready();
  const rows: PageRow[] = [];
  for (const c of a.cases) {
    const input = new Float32Array((await bytes(`${c.id}.in`)).buffer);
    const model = lowbit.loadLowbit(await bytes(`${c.id}.lowbit`));
    let logits: Float32Array = new Float32Array(0);
    // One thread: predict; more: predictAsync over Web Workers.
    const lowbitMs = await time(async () =>
      a.threads === 1
        ? (logits = model.predict(input, c.batch))
        : (logits = await model.predictAsync(input, c.batch, { threads: a.threads })),
    );
    const session = await ort.InferenceSession.create(await bytes(`${c.id}.onnx`), { executionProviders: ['wasm'] });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, c.dims) };
    let ortOut: Float32Array = new Float32Array(0);
    const ortMs = await time(async () => (ortOut = (await session.run(feeds))[session.outputNames[0]].data));
    await session.release();
    const tm = await g.tf.loadLayersModel(`${a.base}${c.id}-tfjs/model.json`);
    const x = g.tf.tensor(input, c.dims);
    const tfMs = await time(async () => {
      const y = tm.predict(x);
      await y.data();
      y.dispose();
    });
    x.dispose();
    tm.dispose();
    const k = logits.length / c.batch;
    let same = 0;
    for (let i = 0; i < c.batch; i++) if (argmax(logits, i * k, k) === argmax(ortOut, i * k, k)) same++;
    rows.push({
      id: c.id,
      lowbit_ms: lowbitMs,
      ort_ms: ortMs,
      tfjs_ms: tfMs,
      kernels: lowbit.runtimeKernels(),
      top1_vs_ort: same / c.batch,
      logits: Array.from(logits),
    });
  }
  return { rows, isolated: Boolean(g.crossOriginIsolated), workers: lowbit.threadStats().workers };
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
      path.join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><script src="tf/tf.min.js"></script><script src="tf/tf-backend-wasm.min.js"></script>',
    );
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
    for (const threads of o.threads.split(',').map(Number)) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error(`bench: page error: ${e.message}`));
      await page.goto(server.url);
      const r = await page.evaluate(pageBench, {
        base: server.url,
        cases: pageCases.map(({ id, batch, dims }) => ({ id, batch, dims })),
        threads,
        runs: Number(o.runs),
      });
      await page.close();
      if (threads > 1 && !r.isolated) throw new Error('the page is not cross-origin isolated: no WebAssembly threads');
      for (const pr of r.rows) {
        const c = pageCases.find((p) => p.id === pr.id)!;
        // The page's logits must be Node's, bit for bit: a benchmark of wrong answers measures nothing.
        const same = pr.logits.length === c.node.length && pr.logits.every((v, i) => Object.is(v, c.node[i]));
        if (!same) throw new Error(`${pr.id}: the browser's logits differ from Node's`);
        const row = {
          model: c.model,
          config: c.config,
          batch: c.batch,
          threads,
          lowbit_threads: r.workers + 1,
          kernels: pr.kernels,
          lowbit_ms: Number(pr.lowbit_ms.toFixed(2)),
          ort_ms: Number(pr.ort_ms.toFixed(2)),
          tfjs_ms: Number(pr.tfjs_ms.toFixed(2)),
          vs_ort: Number((pr.ort_ms / pr.lowbit_ms).toFixed(2)),
          vs_tfjs: Number((pr.tfjs_ms / pr.lowbit_ms).toFixed(2)),
          top1_vs_ort: pr.top1_vs_ort,
          ...download,
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
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
