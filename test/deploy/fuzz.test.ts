// Fuzzing the packed-model loader: 100 000+ random files, bit flips, truncations and (the
// dangerous kind) well-formed containers with correct CRCs around hostile manifests and
// sections. Every case must either load or fail with a PackedFormatError — never another
// exception, a hang, or a large allocation — and what loads runs on the native kernels, and on the
// WebAssembly kernels with the logits of the TypeScript loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../../src/data/rng.js';
import { PackedFormatError, readContainer, writeContainer } from '../../src/deploy/container.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { engine } from '../helpers/compare.js';
import { setNativeKernels } from '../../src/engine/addon-state.js';
import { setWasmKernels } from '../../src/deploy/runtime/wasm-kernels.js';
import { mutate, validFiles, type Json } from '../helpers/packed-fuzz.js';

await engine();

test('the loader refuses 100 000+ damaged, truncated and hostile files cleanly, and what loads runs', { timeout: 600_000 }, async () => {
  const files = await validFiles();
  for (const f of files) loadLowbit(f); // the originals load and lower
  const rng = makeRng(20261122);
  const counts = { random: 0, flips: 0, cuts: 0, hostile: 0, loaded: 0 };
  let worst = 0;
  const check = (bytes: Uint8Array, kind: keyof typeof counts) => {
    counts[kind]++;
    const t0 = performance.now();
    try {
      // Reading and lowering: a hostile configuration must fail here, not during inference.
      const m = loadLowbit(bytes);
      counts.loaded++;
      // A file that loads runs: one example of zeros, on the native kernels, and on the WebAssembly ones with the
      // logits of the TypeScript loops. (Not compared with native: oneDNN's float layers flush subnormals, which a
      // flipped bit in a float tensor can produce.)
      const x = new Float32Array(m.inputShape.reduce((a, b) => a * b, 1));
      m.predict(x, 1);
      const old = setNativeKernels(false);
      try {
        const wasm = m.predict(x, 1);
        const oldWasm = setWasmKernels(false);
        try {
          assert.deepEqual(wasm, m.predict(x, 1), `${kind} case: the WebAssembly kernels differ from the TypeScript loops`);
        } finally {
          setWasmKernels(oldWasm);
        }
      } finally {
        setNativeKernels(old);
      }
    } catch (e) {
      if (!(e instanceof PackedFormatError)) throw new Error(`${kind} case raised ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(e.message.length > 0 && !e.message.includes('\n'));
    }
    worst = Math.max(worst, performance.now() - t0);
  };
  const heap0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < 30_000; i++) {
    const n = rng.int(64);
    const b = Uint8Array.from({ length: n }, () => rng.int(256));
    if (rng.next() < 0.5 && n >= 4) b.set([76, 66, 80, 75]); // "LBPK"
    check(b, 'random');
  }
  for (let i = 0; i < 40_000; i++) {
    const b = files[i % files.length].slice();
    for (let f = 1 + rng.int(3); f > 0; f--) b[rng.int(b.length)] ^= 1 << rng.int(8);
    check(b, 'flips');
  }
  for (let i = 0; i < 10_000; i++) {
    const f = files[i % files.length];
    const n = rng.int(f.length + 16);
    const b = new Uint8Array(n);
    b.set(f.subarray(0, Math.min(n, f.length)));
    check(b, 'cuts');
  }
  // Well-formed containers (valid CRCs) around hostile manifests and sections.
  const parts = files.map((f) => readContainer(f));
  for (let i = 0; i < 25_000; i++) {
    const p = parts[i % parts.length];
    let manifest = p.manifest as Json;
    for (let k = 1 + rng.int(3); k > 0; k--) manifest = mutate(manifest, rng);
    const sections = p.sections.map((s) => s.slice());
    if (rng.next() < 0.3 && sections.length) {
      const s = sections[rng.int(sections.length)];
      if (s.length) s[rng.int(s.length)] ^= 1 << rng.int(8);
    }
    if (rng.next() < 0.1) sections.splice(rng.int(sections.length + 1), 0, new Uint8Array(rng.int(8)));
    check(writeContainer(manifest, sections), 'hostile');
  }
  const total = counts.random + counts.flips + counts.cuts + counts.hostile;
  assert.ok(total >= 100_000, `${total} cases`);
  assert.ok(worst < 2000, `slowest case ${worst.toFixed(0)} ms`);
  // Nothing a case allocated survives it, and no case allocated without bound on the way.
  assert.ok(process.memoryUsage().heapUsed - heap0 < 64 << 20, 'heap growth');
  console.log(`fuzz: ${JSON.stringify(counts)}, slowest ${worst.toFixed(1)} ms`);
});
