// Packed files under a writer who recomputes checksums. With only the CRCs recomputed, the sha256
// still refuses every change, so whatever loads runs to the original logits. With the sha256
// recomputed too (a fully hostile writer), the exports must refuse every file the runtime refuses:
// one layer check (check-layers.ts) serves `run`, `export` and `simulate`, so none accepts more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../../src/data/rng.js';
import { PackedFormatError, readContainer, writeContainer } from '../../src/deploy/container.js';
import { crc32 } from '../../src/deploy/crc32.js';
import { exportOnnx } from '../../src/deploy/onnx/export.js';
import { readPacked } from '../../src/deploy/read.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { exportTfjs } from '../../src/deploy/tfjs-export.js';
import { engine } from '../helpers/compare.js';
import { mutate, validFiles, type Json } from '../helpers/packed-fuzz.js';

await engine();

/** The file with every CRC made to agree with its (changed) content; the sha256 left as it was. */
function recomputeCrcs(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = dv.getUint32(8, true);
  const header = 48;
  let at = header + 8 * count;
  for (let i = 0; i < count; i++) {
    const len = dv.getUint32(header + 8 * i, true);
    if (at + len > b.length) break;
    dv.setUint32(header + 8 * i + 4, crc32(b.subarray(at, at + len)), true);
    at += len;
  }
  dv.setUint32(12, crc32(b, header, header + 8 * count), true);
  return b;
}

function logits(bytes: Uint8Array): Float32Array | null {
  try {
    const m = loadLowbit(bytes);
    const n = m.inputShape.reduce((a, b) => a * b, 1);
    return m.predict(
      Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i)),
      2,
    );
  } catch (e) {
    if (!(e instanceof PackedFormatError)) throw e;
    return null;
  }
}

test('packed fuzz: 10 000 changes under recomputed CRCs; whatever loads runs to the original logits', async () => {
  const files = await validFiles();
  const want = files.map((f) => logits(f)!);
  const rng = makeRng(20261204);
  let accepted = 0;
  for (let i = 0; i < 10_000; i++) {
    const k = i % files.length;
    const b = files[k].slice();
    // Bytes after the digest: the section table, the manifest and the tensors.
    for (let f = 1 + rng.int(3); f > 0; f--) {
      const at = 48 + rng.int(b.length - 48);
      b[at] ^= 1 << rng.int(8);
    }
    const got = logits(recomputeCrcs(b));
    if (got === null) continue;
    accepted++;
    assert.deepEqual(got, want[k], `case ${i}: a changed file ran to other logits`);
  }
  console.log(`packed fuzz under recomputed CRCs: 10000 cases, ${accepted} accepted (all with the original logits)`);
});

/** Whether each consumer accepts the file: the runtime (`run`), the ONNX and the tfjs exports. */
async function verdicts(bytes: Uint8Array, tfjs: boolean): Promise<{ run: boolean; onnx: boolean; tfjs: boolean | null }> {
  const run = logits(bytes) !== null;
  let onnx = false,
    tf: boolean | null = null;
  try {
    exportOnnx(readPacked(bytes));
    onnx = true;
  } catch {
    onnx = false;
  }
  if (tfjs)
    try {
      await exportTfjs(readPacked(bytes), { plain: false });
      tf = true;
    } catch {
      tf = false;
    }
  return { run, onnx, tfjs: tf };
}

test('hostile packed files (all checksums recomputed): no export accepts what run refuses', { timeout: 600_000 }, async () => {
  const files = await validFiles();
  const parts = files.map((f) => readContainer(f));
  const rng = makeRng(20261205);
  const counts = { cases: 0, runAccepts: 0, onnxAccepts: 0, tfjsChecked: 0, exportOnlyAccepts: 0 };
  for (let i = 0; i < 20_000; i++) {
    const p = parts[i % parts.length];
    let manifest = p.manifest as Json;
    for (let k = 1 + rng.int(2); k > 0; k--) manifest = mutate(manifest, rng);
    const bytes = writeContainer(manifest, p.sections);
    const tfjs = i % 40 === 0;
    const v = await verdicts(bytes, tfjs);
    counts.cases++;
    if (v.run) counts.runAccepts++;
    if (v.onnx) counts.onnxAccepts++;
    if (tfjs) counts.tfjsChecked++;
    if (!v.run && (v.onnx || v.tfjs === true)) {
      counts.exportOnlyAccepts++;
      assert.fail(`case ${i}: an export accepted a file the runtime refuses: ${JSON.stringify(manifest).slice(0, 400)}`);
    }
  }
  console.log(`hostile packed files: ${JSON.stringify(counts)}`);
});

test('the layer configurations issue 19 found exported but not run are refused by both', async () => {
  const files = await validFiles();
  const p = readContainer(files[0]);
  const m = p.manifest as { layers: { name: string; className: string; config: Record<string, unknown> }[] };
  const conv = m.layers.findIndex((l) => l.className === 'QConv2D');
  const dense = m.layers.findIndex((l) => l.className === 'QDense');
  const edits: [string, (c: typeof m) => void][] = [
    ['wrong filters', (c) => (c.layers[conv].config.filters = 7)],
    ['wrong kernel size', (c) => (c.layers[conv].config.kernel_size = [5, 5])],
    ['zero strides', (c) => (c.layers[conv].config.strides = [0, 1])],
    ['strides beyond the image', (c) => (c.layers[conv].config.strides = [99, 99])],
    ["padding 'foo'", (c) => (c.layers[conv].config.padding = 'foo')],
    ['1e9 units', (c) => (c.layers[dense].config.units = 1e9)],
    ['unknown activation', (c) => (c.layers[conv].config.activation = 'swish')],
    ['dilation 0', (c) => (c.layers[conv].config.dilation_rate = [0, 0])],
    [
      'a pool of size 0',
      (c) =>
        c.layers.splice(conv + 1, 0, {
          name: 'pool',
          className: 'MaxPooling2D',
          config: { pool_size: [0, 0] },
          inbound: [m.layers[conv].name],
          tensors: {},
        } as never),
    ],
  ];
  for (const [name, edit] of edits) {
    const c = structuredClone(m);
    edit(c);
    const v = await verdicts(writeContainer(c, p.sections), true);
    assert.deepEqual(v, { run: false, onnx: false, tfjs: false }, name);
  }
});
