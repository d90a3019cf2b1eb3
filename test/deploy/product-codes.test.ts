// Kernels held as product codes (pq) through the packed format: stored as ⌈log2 k⌉-bit indices
// and an fp16 codebook, read back to the same kernels, run by the runtime and by onnxruntime
// (codebook gathered by the indices) as the model itself runs; a stale codebook is refused at
// pack time and out-of-range indices or a missing codebook at load time; and a pq retraining
// packs and runs end to end from its checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tf } from '../../src/engine/tf.js';
import { packModel } from '../../src/deploy/pack.js';
import { packCheckpoint } from '../../src/deploy/pack-checkpoint.js';
import { readPacked } from '../../src/deploy/read.js';
import { readContainer, writeContainer } from '../../src/deploy/container.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { exportOnnx } from '../../src/deploy/onnx/export.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { runTraining } from '../../src/train/train.js';
import { runQuantization } from '../../src/train/quantize.js';
import { ort } from '../helpers/ort.js';
import { engine } from '../helpers/compare.js';
import { randomProductCodes, tinyModel, asStored } from '../helpers/tiny-model.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

await engine();

async function codedModel() {
  const { model } = await quantizeModel(tinyModel(), { weight: null, activation: null, keepEndsAt8Bits: false });
  const codes = randomProductCodes(model, 6, 4, 5);
  return { model, codes };
}

test('product codes pack to indices and fp16 codebooks and read back as the same kernels', async () => {
  const { model, codes } = await codedModel();
  const { bytes, report } = packModel(model, {}, asStored(codes));
  const p = readPacked(bytes);
  for (const l of model.layers.filter((x) => codes.has(x.name))) {
    const kernel = l.weights[0].read().dataSync() as Float32Array;
    assert.deepEqual(p.floats.get(`${l.name}/kernel`), kernel, `${l.name}`);
  }
  // conv1: 4 subvectors of 9 at 2 bits (k = 4, fewer subvectors than 6) + 4·9 fp16; fc1: 160 of 4 at 3 bits + 6·4 fp16; bias as float.
  assert.equal(report.weights, 36 + 640);
  assert.equal(report.bitsPerWeight, (4 * 2 + 4 * 9 * 16 + 160 * 3 + 6 * 4 * 16) / 676);
  const x = tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 3);
  const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  const got = loadLowbit(bytes).predict(Float32Array.from(x.dataSync() as Float32Array), 5);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `runtime logit ${i}: ${got[i]} vs ${want[i]}`);
  if (ort) {
    const ex = exportOnnx(p);
    const s = await ort.InferenceSession.create(ex.bytes, { graphOptimizationLevel: 'disabled' });
    const r = await s.run({ input: new ort.Tensor('float32', Float32Array.from(x.dataSync() as Float32Array), [5, 8, 8, 1]) });
    const o = r.logits.data as Float32Array;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(o[i] - want[i]) < 1e-4, `ONNX logit ${i}: ${o[i]} vs ${want[i]}`);
    // The ONNX file keeps the code: far smaller than the float kernels it decodes to.
    assert.ok(ex.bytes.length < 676 * 4, `ONNX ${ex.bytes.length} bytes`);
  }
  x.dispose();
});

test('a stale codebook is refused at pack time; bad indices and codebooks at load time', async () => {
  const { model, codes } = await codedModel();
  const c = codes.get('fc1')!;
  const stale = new Map(codes).set('fc1', { ...c, centroids: c.centroids.map((v) => v + 1) });
  assert.throws(
    () => packModel(model, {}, asStored(stale)),
    /pack: fc1\/kernel is not its product code at weight \d+ .* the checkpoint's codebook is stale/,
  );
  const { bytes } = packModel(model, {}, asStored(codes));
  const { manifest, sections } = readContainer(bytes);
  const edit = (f: (m: { tensors: Record<string, unknown>[] }) => void) => {
    const m = structuredClone(manifest) as { tensors: Record<string, unknown>[] };
    f(m);
    return writeContainer(m as never, sections);
  };
  const idx = (m: { tensors: Record<string, unknown>[] }) => m.tensors.find((t) => t.encoding === 'pq-indices' && t.name === 'fc1/kernel')!;
  // k = 5 < 6 stored: index 5 becomes out of range.
  assert.throws(
    () => readPacked(edit((m) => (idx(m).k = 5))),
    /fc1\/kernel: (codebook \[6, 4\] is not 5 centroids of 4|index 5 at \d+ is out of range 0..4)/,
  );
  assert.throws(
    () => readPacked(edit((m) => (idx(m).codebook = 'conv1/kernel'))),
    /fc1\/kernel: its codebook conv1\/kernel is not a float16 tensor/,
  );
  assert.throws(() => readPacked(edit((m) => (idx(m).d = 8))), /fc1\/kernel/);
});

test('a pq retraining packs and runs from its checkpoint', async () => {
  const data = tmpDir(),
    fp = tmpDir(),
    out = tmpDir();
  writeIdxDataset(data, 256, 64);
  await runTraining({ model: 'lenet5', data: 'mnist', dataDir: data, epochs: 1, batchSize: 32, lr: 0.05, seed: 3 }, { outDir: fp });
  const r = await runQuantization(
    {
      from: path.join(fp, 'checkpoint.lbck'),
      dataDir: data,
      method: 'pq',
      abits: null,
      epochs: 2,
      batchSize: 32,
      pq: { k: 8, layerSteps: 2, blocks: 200, calibrationImages: 32 },
    },
    { outDir: out },
  );
  const ck = await loadCheckpoint(path.join(out, 'checkpoint.lbck'));
  const { bytes, manifest } = packCheckpoint(ck);
  assert.equal(manifest.tensors.filter((t) => t.encoding === 'pq-indices').length, 3, 'conv2, fc1 and fc2 in product codes');
  const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 8);
  const want = (ck.model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  const got = loadLowbit(bytes).predict(Float32Array.from(x.dataSync() as Float32Array), 4);
  const scale = Math.max(...Array.from(want, Math.abs));
  // conv1 and fc3 are int8 with 8-bit inputs in both; the coded layers are float in both.
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 0.02 * scale, `logit ${i}: ${got[i]} vs ${want[i]}`);
  assert.ok(r.finalAccuracy > 0);
  x.dispose();
});
