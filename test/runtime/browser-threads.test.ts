// predictAsync in Chromium: on a cross-origin isolated page the large layers of lenet5 (W4A4,
// batch 64) split over Web Workers, and the logits equal predict's and Node's bit for bit; on a page
// that is not isolated, predictAsync runs on one thread and gives the same logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { tf } from '../../src/engine/tf.js';
import { buildModel } from '../../src/models/zoo.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { packModel } from '../../src/deploy/pack.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { engine } from '../helpers/compare.js';
import { chromiumPath } from '../helpers/browser.js';
import { tmpDir } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/cli.js';
import { serveDirectory } from '../helpers/static-server.js';

await engine();
const bundle = path.join(repoRoot, 'dist', 'runtime', 'lowbit-runtime.js');

const PAGE = `<!doctype html><meta charset="utf-8">
<script type="module">
  const get = async (f) => new Uint8Array(await (await fetch(f)).arrayBuffer());
  window.run = async (n) => {
    const rt = await import('./lowbit-runtime.js');
    const model = rt.loadLowbit(await get('model.lowbit'));
    const x = new Float32Array((await get('input.bin')).buffer);
    const sync = Array.from(model.predict(x, n));
    const threaded = Array.from(await model.predictAsync(x, n, { threads: 2 }));
    // Two runs at once take turns on the pool.
    const both = (await Promise.all([model.predictAsync(x, n, { threads: 2 }), model.predictAsync(x, n, { threads: 2 })])).map((v) => Array.from(v));
    return { sync, threaded, both, stats: rt.threadStats(), isolated: crossOriginIsolated, kernels: rt.runtimeKernels() };
  };
</script>`;

type Result = {
  sync: number[];
  threaded: number[];
  both: number[][];
  stats: { available: boolean; workers: number; jobs: number };
  isolated: boolean;
  kernels: string;
};

test(
  'predictAsync splits layers over Web Workers on an isolated page, with the logits of predict and of Node',
  {
    skip: !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : !existsSync(bundle) ? 'no runtime bundle (npm run build)' : false,
  },
  async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'lowbit-runtime.js'), readFileSync(bundle));
    writeFileSync(path.join(dir, 'index.html'), PAGE);
    const N = 64;
    const x = tf.randomNormal([N, 28, 28, 1], 0, 1, 'float32', 5);
    const input = Float32Array.from(x.dataSync() as Float32Array);
    const { model } = await quantizeModel(buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 }), {
      weight: { format: 'int', bits: 4, granularity: 'channel' },
      activation: { format: 'int', bits: 4, signed: false },
      batchNorm: 'fold',
    });
    tf.tidy(() => void model.apply(x, { training: true }));
    const bytes = packModel(model).bytes;
    writeFileSync(path.join(dir, 'model.lowbit'), bytes);
    writeFileSync(path.join(dir, 'input.bin'), new Uint8Array(input.buffer));
    const node = Array.from(loadLowbit(bytes).predict(input, N));
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      // Isolated; not isolated; isolated but with a policy that forbids workers (predictAsync falls back to one thread).
      for (const [isolated, noWorkers] of [
        [true, false],
        [false, false],
        [true, true],
      ]) {
        const headers: Record<string, string> = noWorkers ? { 'content-security-policy': "worker-src 'none'" } : {};
        const server = await serveDirectory(dir, { isolated, headers });
        try {
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(String(e)));
          await page.goto(server.url);
          const r = (await page.evaluate((n) => (globalThis as unknown as { run: (n: number) => Promise<Result> }).run(n), N)) as Result;
          assert.equal(r.isolated, isolated);
          assert.deepEqual(r.sync, node, 'predict in the page vs Node');
          assert.deepEqual(r.threaded, node, 'predictAsync in the page vs Node');
          assert.deepEqual(r.both, [node, node], 'two predictAsync at once vs Node');
          assert.equal(r.stats.available, isolated && !noWorkers);
          if (isolated && !noWorkers) {
            assert.equal(r.stats.workers, 1);
            // conv1 and conv2 are above the split threshold (the dense layers at batch 64 are not): one worker share
            // each, in each of the three threaded runs.
            assert.equal(r.stats.jobs, 6);
          } else assert.equal(r.stats.jobs, 0);
          assert.deepEqual(errors, []);
          await page.close();
        } finally {
          await server.close();
        }
      }
    } finally {
      await browser.close();
      x.dispose();
    }
  },
);
