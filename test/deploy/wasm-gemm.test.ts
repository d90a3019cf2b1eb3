// The WebAssembly integer GEMM (native/wasm/qgemm.c) behind the runtime's integer conv where the
// native addon is absent, against the TypeScript loops on the random-geometry corpus of the native
// GEMM test, bit for bit; and the committed binary against a rebuild from its source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { geometry, intConv, prepareWasmWeights } from '../../src/deploy/runtime/ops.js';
import { wasmGemm } from '../../src/deploy/runtime/wasm-gemm.js';
import type { FloatOutput } from '../../src/deploy/runtime/requant.js';
import { convCase, convCaseArb } from '../helpers/conv-corpus.js';
import { repoRoot } from '../helpers/cli.js';

const sameResult = (got: ReturnType<typeof intConv>, want: ReturnType<typeof intConv>, what: string) => {
  assert.equal(got.kind, want.kind, what);
  if (want.kind === 'f') assert.deepEqual(Array.from((got as { data: Float32Array }).data), Array.from(want.data), what);
  else assert.deepEqual(Array.from((got as { codes: Int32Array }).codes), Array.from(want.codes!), what);
};

test('WebAssembly SIMD runs here, from a binary small enough to compile synchronously on a browser main thread', () => {
  assert.ok(wasmGemm(), 'the WebAssembly GEMM did not load');
  // Chromium refuses synchronous compilation of more than 4 KB on the main thread.
  const bytes = (JSON.parse(readFileSync(path.join(repoRoot, 'src', 'runtime', 'wasm', 'qgemm.json'), 'utf8')) as { bytes: number }).bytes;
  assert.ok(bytes <= 4096, `qgemm.wasm is ${bytes} bytes`);
});

test('the WebAssembly GEMM conv equals the TypeScript conv', () => {
  let used = 0;
  fc.assert(
    fc.property(convCaseArb, (o) => {
      const k = convCase(o);
      if (!k) return;
      const ww = prepareWasmWeights(k.wl, k.K, o.cout, k.inGrid.levels[0]);
      // Weight levels beyond int8 stay on the TypeScript loops (inputs may be int8, or uint8 with the offset correction).
      if (!ww)
        return assert.ok(
          k.wl.some((v) => v < -128 || v > 127),
          JSON.stringify(o),
        );
      used++;
      const want = intConv(k.levels, k.shape, k.wl, o.cout, k.g, k.out);
      sameResult(intConv(k.levels, k.shape, k.wl, o.cout, k.g, k.out, ww), want, JSON.stringify(o));
    }),
    { numRuns: 300 },
  );
  assert.ok(used > 200, `only ${used} cases ran on WebAssembly`);
});

test('the WebAssembly GEMM splits large layers over panels exactly', () => {
  // More pixels than one panel holds, a wide dense layer, an odd reduction.
  for (const [n, h, w, c, kk, cout] of [
    [4, 12, 12, 64, 3, 40],
    [70, 1, 1, 600, 1, 100],
    [3, 7, 5, 13, 3, 7],
  ]) {
    let s = 7;
    const r = (m: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % m);
    const g = geometry(h, w, kk, kk, 1, 1, 'same');
    const K = kk * kk * c;
    const wl = Int32Array.from({ length: K * cout }, () => r(255) - 127);
    const levels = Int32Array.from({ length: n * h * w * c }, () => r(16));
    const out: FloatOutput = { kind: 'float', a: Float64Array.from({ length: cout }, () => 1e-3), b: new Float64Array(cout), relu: false };
    const ww = prepareWasmWeights(
      wl,
      K,
      cout,
      Int32Array.from({ length: 16 }, (_, i) => i),
    )!;
    sameResult(intConv(levels, [n, h, w, c], wl, cout, g, out, ww), intConv(levels, [n, h, w, c], wl, cout, g, out), `${n}x${h}x${w}x${c}`);
  }
});

test('the committed WebAssembly binary is what its source builds to, byte for byte', () => {
  const clang = spawnSync('clang-14', ['--version']);
  if (clang.status !== 0 && process.env.CI !== 'true') return; // no clang-14 here: CI installs it (scripts/install.sh)
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-wasm.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
