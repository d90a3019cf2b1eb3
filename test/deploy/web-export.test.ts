// `lowbit export --format web`: the static folder opened from disk in headless Chromium. Nothing is
// fetched, the page runs the model on the WebAssembly kernels, its logits for given pixels equal
// Node's bit for bit, a stroke drawn on the canvas produces a prediction, and an embedded test image
// does too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { tf } from '../../src/engine/tf.js';
import { buildModel } from '../../src/models/zoo.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { packModel } from '../../src/deploy/pack.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { datasetInfo } from '../../src/data/datasets.js';
import { engine } from '../helpers/compare.js';
import { tmpDir } from '../helpers/fixtures.js';
import { chromiumPath } from '../helpers/browser.js';
import { repoRoot } from '../helpers/cli.js';
import { cliInProcess as cli } from '../helpers/cli-in-process.js';

await engine();

type Page = { lowbitPage: { predictPixels(p: Uint8Array): Float32Array; kernels: string } };

test(
  'export --format web writes a page that runs the model from disk, offline, as Node does',
  {
    skip: !existsSync(chromiumPath)
      ? `no Chromium at ${chromiumPath}`
      : !existsSync(path.join(repoRoot, 'dist', 'runtime', 'lowbit-runtime.iife.js'))
        ? 'no runtime bundle (npm run build)'
        : false,
  },
  async () => {
    const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 5);
    const { model } = await quantizeModel(buildModel('lenet5', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 }), {
      weight: { format: 'int', bits: 4, granularity: 'channel' },
      activation: { format: 'int', bits: 4, signed: false },
    });
    tf.tidy(() => void model.apply(x, { training: true }));
    x.dispose();
    const bytes = packModel(model, { dataset: 'mnist', model: 'lenet5' }).bytes;
    const dir = tmpDir(),
      out = path.join(dir, 'web');
    const file = path.join(dir, 'm.lowbit');
    writeFileSync(file, bytes);
    const r = await cli(['export', '--model', file, '--format', 'web', '--out', out, '--samples', '4']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /index\.html: a static page running the model \(4 files, [\d.]+ KB, 4 test images\)/);
    assert.deepEqual(readdirSync(out).sort(), ['index.html', 'lowbit-runtime.iife.js', 'model.js', 'page.js']);
    // Flags of the web export are refused with other formats, before anything is written.
    const bad = await cli(['export', '--model', file, '--out', path.join(dir, 'm.onnx'), '--samples', '2']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--samples applies to --format web only/);
    assert.ok(!existsSync(path.join(dir, 'm.onnx')));
    // Node's logits for a fixed image, normalised as the page does.
    const info = datasetInfo('mnist');
    const pixels = Uint8Array.from({ length: 784 }, (_, i) => ((i * 37) % 251) & 255);
    const want = Array.from(
      loadLowbit(bytes).predict(
        Float32Array.from(pixels, (p) => (p / 255 - info.mean[0]) / info.std[0]),
        1,
      ),
    );
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file://') ? route.continue() : (errors.push(`network: ${route.request().url()}`), route.abort()),
      );
      await page.goto(`file://${path.join(out, 'index.html')}`);
      await page.waitForFunction(() => (globalThis as unknown as Partial<Page>).lowbitPage !== undefined);
      assert.match(await page.evaluate(() => (globalThis as unknown as Page).lowbitPage.kernels), /^wasm(-relaxed)?$/);
      const got = await page.evaluate(
        (p) => Array.from((globalThis as unknown as Page).lowbitPage.predictPixels(Uint8Array.from(p))),
        Array.from(pixels),
      );
      assert.deepEqual(got, want, 'page logits vs Node');
      // A stroke on the canvas gives a prediction with its probabilities.
      const box = (await page.locator('canvas#pad').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
      await page.mouse.down();
      for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.2 + 0.06 * i));
      await page.mouse.up();
      assert.match(await page.locator('#prediction').innerText(), /^\S+: \d+\.\d%$/);
      assert.equal(await page.locator('#bars .bar').count(), 10);
      // An embedded test image too.
      await page.locator('#samples button').first().click();
      assert.match(await page.locator('#prediction').innerText(), /^\S+: \d+\.\d%$/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
