// The WebAssembly kernels (native/wasm/qconv.c) behind the integer runtime where the native addon
// is absent, against the TypeScript conv on the random-geometry corpus of the native kernels, bit
// for bit; max pooling and input quantization against the native kernels; the committed binaries
// against a rebuild from their source. The relaxed-SIMD build runs the same corpus in Chromium
// (test/runtime/browser-kernels.test.ts); here a child Node with V8's relaxed-SIMD flag checks that
// an engine that miscompiles the instruction is caught by the probe and runs plain SIMD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  prepareWasmConv,
  relaxedKernels,
  setRelaxedSimd,
  wasmKernels,
  wasmPoolable,
  type WasmConv,
} from '../../src/deploy/runtime/wasm-kernels.js';
import { activeAddon } from '../../src/engine/addon-state.js';
import type { RequantKernels } from '../../src/deploy/runtime/convert.js';
import type { RuntimeOpKernels } from '../../src/deploy/runtime/ops.js';
import { engine } from '../helpers/compare.js';
import {
  corpusAgainstTypeScript,
  largeLayersAgainstTypeScript,
  pooledCorpusAgainstTypeScript,
  type ByteConv,
} from '../helpers/byte-conv-check.js';
import { repoRoot } from '../helpers/cli.js';

// Set in the child Node that runs this file again with relaxed SIMD turned on.
const relaxedChild = process.env.LOWBIT_TEST_RELAXED === '1';
const hasNative = await engine();

const wasm: ByteConv = {
  prepare: prepareWasmConv,
  run: (c, bytes, shape, g, out, target) => (c as WasmConv).kernels.conv(c as WasmConv, bytes, shape, g, out, target),
};

test('WebAssembly SIMD runs here, from small binaries', () => {
  assert.ok(wasmKernels(), 'the WebAssembly kernels did not load');
  // They are part of the runtime's download (and Chromium compiles up to 8 MB synchronously on a main thread).
  for (const name of ['qconv', 'qconv-relaxed']) {
    const file = path.join(repoRoot, 'src', 'runtime', 'wasm', `${name}.json`);
    const bytes = (JSON.parse(readFileSync(file, 'utf8')) as { bytes: number }).bytes;
    assert.ok(bytes <= 8192, `${name}.wasm is ${bytes} bytes`);
  }
});

test(`relaxed SIMD here: ${relaxedKernels() ? 'ran' : 'refused'}`, { skip: !relaxedChild }, () => {
  // Node 20's V8 compiles the instruction under its flag but gets some register assignments wrong: the probe refuses it.
  const v8 = Number(process.versions.v8.split('.')[0]);
  if (v8 < 12) assert.equal(relaxedKernels(), null, `V8 ${process.versions.v8}: the relaxed binary passed the probe`);
});

for (const relaxed of relaxedChild && relaxedKernels() ? [false, true] : [false]) {
  const name = relaxed ? 'relaxed' : 'plain';
  const withKernels = (f: () => void) => {
    const old = setRelaxedSimd(relaxed);
    try {
      f();
    } finally {
      setRelaxedSimd(old);
    }
  };
  test(`the WebAssembly conv (${name} SIMD) equals the TypeScript conv`, () =>
    withKernels(() => {
      let onRelaxed = 0;
      const counting: ByteConv = {
        prepare(...a) {
          const c = wasm.prepare(...a) as WasmConv | null;
          if (c?.kernels.relaxed) onRelaxed++;
          return c;
        },
        run: wasm.run,
      };
      // Every weight of the corpus fits int8 and every input a byte: the WebAssembly path takes every case.
      const ran = corpusAgainstTypeScript(counting, () => false);
      if (relaxed) assert.ok(onRelaxed > ran / 4, `only ${onRelaxed} of ${ran} cases ran on relaxed SIMD`);
      else assert.equal(onRelaxed, 0);
    }));

  test(`the WebAssembly conv (${name} SIMD) splits large layers over panels and channel blocks exactly`, () =>
    withKernels(() =>
      largeLayersAgainstTypeScript(wasm, (cv, table) => {
        const c = cv as WasmConv;
        assert.equal(c.bits, table ? 4 : 8, 'weights stored at 4 bits through the table');
        // 4-bit inputs (bytes ≤ 15) run on relaxed SIMD where allowed; 8-bit inputs never do.
        assert.equal(c.kernels.relaxed, relaxed && table);
      }),
    ));
}

test('the WebAssembly conv with a fused 2×2 max pool equals the TypeScript conv and pool', () => {
  const ran = pooledCorpusAgainstTypeScript({
    ...wasm,
    poolable: (_c, shape, g, out) => wasmPoolable(g, shape[1], shape[2], out),
    runPooled: (c, bytes, shape, g, out, target) => (c as WasmConv).kernels.conv(c as WasmConv, bytes, shape, g, out, target, true),
  });
  // Valid convs with grid outputs: about a third of the corpus.
  assert.ok(ran > 100, `only ${ran} cases ran`);
});

/** clamp(nearbyint(x / s) + zp) in float32 arithmetic (a double quotient rounded to float32 is the float32 quotient); NaN takes qmin. */
function float32Code(x: number, s: number, zp: number, qmin: number, qmax: number): number {
  const d = Math.fround(Math.fround(x) / Math.fround(s));
  const r = Math.round(d);
  // Math.round rounds halves up; nearbyint rounds them to even.
  const even = r - d === 0.5 && r % 2 !== 0 ? r - 1 : r;
  const q = Math.fround(even + Math.fround(zp));
  return !(q >= qmin) ? qmin : q > qmax ? qmax : q;
}

test('WebAssembly max pooling and input quantization equal the native kernels and the float32 formula', { skip: !hasNative }, () => {
  const addon = activeAddon()! as unknown as RuntimeOpKernels & RequantKernels;
  const k = wasmKernels()!;
  let s = 11;
  const r = (m: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % m);
  for (const [N, H, W, C, kh, sh, padT] of [
    [2, 7, 5, 3, 2, 2, 0],
    [1, 9, 9, 20, 3, 2, 1],
    [3, 4, 4, 1, 2, 1, 0],
  ]) {
    const x = Uint8Array.from({ length: N * H * W * C }, () => r(256));
    const outH = Math.floor((H + padT - kh) / sh) + 1,
      outW = Math.floor((W + padT - kh) / sh) + 1;
    const dims = Int32Array.of(N, H, W, C, kh, kh, sh, sh, padT, padT);
    const want = new Uint8Array(N * outH * outW * C),
      got = new Uint8Array(want.length);
    addon.maxPoolBytes(x, dims, outH, outW, want);
    k.maxPoolBytes(x, dims, outH, outW, got);
    assert.deepEqual(got, want, `pool ${dims.join(',')}`);
  }
  // Ties at .5 (rounded half to even), NaN, infinities, values far outside the grid, tiny values.
  const x = Float32Array.from({ length: 4003 }, (_, i) => (i % 7 === 0 ? (r(64) - 32) * 0.5 : (r(200000) - 100000) * 1e-3));
  x.set([NaN, Infinity, -Infinity, 1e30, -1e30, 1e-40, -0], 0);
  for (const [scale, zp, qmin, qmax] of [
    [0.5, 0, 0, 15],
    [0.037, 3, -8, 7],
    [1, 128, 0, 255],
  ]) {
    // A scattered table (looked up byte by byte) and a consecutive one (every int grid: narrowed a vector at a time).
    for (const lut of [
      Uint8Array.from({ length: qmax - qmin + 1 }, (_, i) => (i * 7 + 3) & 255),
      Uint8Array.from({ length: qmax - qmin + 1 }, (_, i) => i + (qmin < 0 ? 128 + qmin : 0)),
    ]) {
      const want = Uint8Array.from(x, (v) => lut[float32Code(v, scale, zp, qmin, qmax) - qmin]),
        native = new Uint8Array(x.length),
        got = new Uint8Array(x.length);
      addon.quantizeBytes(x, scale, zp, qmin, qmax, lut, native);
      k.quantizeBytes(x, scale, zp, qmin, qmax, lut, got);
      const what = `quantize scale ${scale} zp ${zp} [${qmin}, ${qmax}], table ${lut.slice(0, 3).join(',')}…`;
      assert.deepEqual(native, want, `native ${what}`);
      assert.deepEqual(got, want, `wasm ${what}`);
    }
  }
});

test("under V8's relaxed-SIMD flag the kernels stay exact (a child Node)", { skip: relaxedChild }, () => {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--test', self], {
    encoding: 'utf8',
    // Without the parent's test-runner context the child reports in TAP on its stdout.
    env: { ...process.env, LOWBIT_TEST_RELAXED: '1', NODE_TEST_CONTEXT: undefined },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-4000));
  assert.match(r.stdout, /ok \d+ - relaxed SIMD here: (ran|refused)/);
});

test('the committed WebAssembly binaries are what their source builds to, byte for byte', { skip: relaxedChild }, () => {
  const clang = spawnSync('clang-16', ['--version']);
  if (clang.status !== 0 && process.env.CI !== 'true') return; // no clang-16 here: CI installs it (scripts/install.sh)
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-wasm.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
