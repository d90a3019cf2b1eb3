// The WebAssembly kernels in Chromium: the random-geometry conv corpus of the native kernels (400
// cases) through the relaxed-SIMD build (which Node 20 cannot run) and the plain-SIMD build, each
// against the TypeScript conv in the same page, bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { chromium } from 'playwright-core';
import { convCaseArb } from '../helpers/conv-corpus.js';
import type { CaseReport } from '../helpers/browser-conv-entry.js';
import { chromiumPath } from '../helpers/browser.js';
import { tmpDir } from '../helpers/fixtures.js';
import { repoRoot } from '../helpers/cli.js';

const entry = path.join(repoRoot, 'dist', 'test', 'helpers', 'browser-conv-entry.js');

test(
  'the WebAssembly conv equals the TypeScript conv in Chromium, on relaxed SIMD and on plain SIMD',
  { skip: !existsSync(chromiumPath) && `no Chromium at ${chromiumPath}` },
  async () => {
    const dir = tmpDir();
    await build({ entryPoints: [entry], bundle: true, format: 'iife', outfile: path.join(dir, 'kernels.js'), logLevel: 'error' });
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script src="kernels.js"></script>');
    const cases = fc.sample(convCaseArb, { numRuns: 400, seed: 20261203 });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${path.join(dir, 'index.html')}`);
      for (const relaxed of [true, false]) {
        const r = (await page.evaluate(
          ([c, x]) => (globalThis as unknown as { runCases: (c: unknown, r: boolean) => CaseReport }).runCases(c, x),
          [cases, relaxed] as const,
        )) as CaseReport;
        assert.deepEqual(r.differing, [], `${relaxed ? 'relaxed' : 'plain'} SIMD`);
        assert.ok(r.ran > 330, `only ${r.ran} cases ran`);
        assert.ok(r.pooled > 50, `only ${r.pooled} cases ran with a fused pool`);
        if (relaxed) {
          assert.ok(r.relaxedHere, 'this Chromium has no relaxed SIMD (or failed the probe)');
          // Cases whose input bytes all fit 7 bits run on relaxed SIMD; 8-bit and signed inputs stay on plain.
          assert.ok(r.onRelaxed > r.ran / 4, `only ${r.onRelaxed} of ${r.ran} cases ran on relaxed SIMD`);
        } else assert.equal(r.onRelaxed, 0);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
