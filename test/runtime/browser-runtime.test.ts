// lowbit/runtime in a real browser: the bundled runtime (dist/runtime/lowbit-runtime.js, no tfjs)
// loads a packed model in Chromium, on the page and in a module Web Worker (its WebAssembly kernels),
// and its logits equal Node's bit for bit: Node's TypeScript loops, WebAssembly kernels and native kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { tf } from '../../src/engine/tf.js';
import { packModel } from '../../src/deploy/pack.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { setNativeKernels } from '../../src/engine/addon-state.js';
import { setWasmKernels } from '../../src/deploy/runtime/wasm-kernels.js';
import { engine } from '../helpers/compare.js';
import { fitQuantizers, formatCases, tinyModel } from '../helpers/tiny-model.js';
import { tmpDir } from '../helpers/fixtures.js';
import { chromiumPath } from '../helpers/browser.js';
import { repoRoot } from '../helpers/cli.js';
import { serveDirectory } from '../helpers/static-server.js';

const native = await engine();
const bundle = path.join(repoRoot, 'dist', 'runtime', 'lowbit-runtime.js');

const PAGE = `<!doctype html><meta charset="utf-8"><title>lowbit runtime test</title>
<script type="module">
  const get = async (f) => new Uint8Array(await (await fetch(f)).arrayBuffer());
  window.run = async (n) => {
    const { loadLowbit, runtimeKernels } = await import('./lowbit-runtime.js');
    const model = loadLowbit(await get('model.lowbit'));
    const x = new Float32Array((await get('input.bin')).buffer);
    window.kernels = runtimeKernels();
    return Array.from(model.predict(x, n));
  };
  window.runInWorker = (n) =>
    new Promise((resolve, reject) => {
      const w = new Worker('./worker.js', { type: 'module' });
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(e.message));
      w.postMessage(n);
    });
</script>`;

const WORKER = `import { loadLowbit } from './lowbit-runtime.js';
const get = async (f) => new Uint8Array(await (await fetch(f)).arrayBuffer());
onmessage = async (e) => {
  const model = loadLowbit(await get('model.lowbit'));
  const x = new Float32Array((await get('input.bin')).buffer);
  postMessage(Array.from(model.predict(x, e.data)));
};`;

test(
  'the bundled runtime predicts in Chromium (page and Web Worker) exactly what Node predicts',
  {
    skip: !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : !existsSync(bundle) ? 'no runtime bundle (npm run build)' : false,
  },
  async () => {
    // The bundle is the runtime alone: no tfjs in it.
    assert.doesNotMatch(readFileSync(bundle, 'utf8'), /tensorflow|tfjs-core/);
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'lowbit-runtime.js'), readFileSync(bundle));
    writeFileSync(path.join(dir, 'index.html'), PAGE);
    writeFileSync(path.join(dir, 'worker.js'), WORKER);
    const N = 6;
    const x = tf.randomNormal([N, 8, 8, 1], 0, 1, 'float32', 21);
    const input = Float32Array.from(x.dataSync() as Float32Array);
    writeFileSync(path.join(dir, 'input.bin'), new Uint8Array(input.buffer));
    const server = await serveDirectory(dir);
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.url);
      // int4, dybit (non-uniform grid) and MPQ (flags): the integer paths of the runtime.
      for (const [label, config] of formatCases.filter(([l]) => /int4 per tensor|dybit|mpq/.test(l))) {
        const { model } = await quantizeModel(tinyModel(), { ...config, keepEndsAt8Bits: false });
        fitQuantizers(model, x);
        const bytes = packModel(model).bytes;
        writeFileSync(path.join(dir, 'model.lowbit'), bytes);
        // Node's three paths: the TypeScript loops, the WebAssembly kernels, the native kernels.
        const old = setNativeKernels(false);
        const oldWasm = setWasmKernels(false);
        const ts = Array.from(loadLowbit(bytes).predict(input, N));
        setWasmKernels(true);
        assert.deepEqual(Array.from(loadLowbit(bytes).predict(input, N)), ts, `${label}: Node WebAssembly vs TypeScript loops`);
        setWasmKernels(oldWasm);
        setNativeKernels(old);
        const inPage = (await page.evaluate(
          (n) => (globalThis as unknown as { run: (n: number) => Promise<number[]> }).run(n),
          N,
        )) as number[];
        const inWorker = (await page.evaluate(
          (n) => (globalThis as unknown as { runInWorker: (n: number) => Promise<number[]> }).runInWorker(n),
          N,
        )) as number[];
        assert.deepEqual(inPage, ts, `${label}: page vs Node (TypeScript kernels)`);
        assert.deepEqual(inWorker, ts, `${label}: worker vs Node`);
        if (native) assert.deepEqual(Array.from(loadLowbit(bytes).predict(input, N)), ts, `${label}: Node native vs TypeScript kernels`);
      }
      // The page ran the WebAssembly kernels (compiled synchronously on the main thread), not the TypeScript loops.
      assert.match(await page.evaluate(() => (globalThis as unknown as { kernels: string }).kernels), /^wasm(-relaxed)?$/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.close();
      x.dispose();
    }
  },
);
