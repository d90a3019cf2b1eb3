// TensorFlow.js export: model.json + weights read back by tf.loadLayersModel give the quantized
// model's predictions (lowbit layers registered), or close ones with stock layers only (--plain).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { exportTfjs } from '../../src/deploy/tfjs-export.js';
import { packModel } from '../../src/deploy/pack.js';
import { readPacked } from '../../src/deploy/read.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { engine } from '../helpers/compare.js';
import { fitQuantizers, formatCases, tinyModel } from '../helpers/tiny-model.js';

await engine();

/** What a browser does with model.json and its weights file, from memory. */
async function load(a: Awaited<ReturnType<typeof exportTfjs>>): Promise<tf.LayersModel> {
  const json = JSON.parse(JSON.stringify(a.modelJson)) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  assert.deepEqual(json.weightsManifest[0].paths, [a.weightsFile]);
  const data = a.weightData.slice().buffer;
  return tf.loadLayersModel(tf.io.fromMemory(json.modelTopology, json.weightsManifest[0].weights, data));
}

test('tfjs export loads with tf.loadLayersModel and predicts like the quantized model', async () => {
  const N = 16;
  const x = tf.randomNormal([N, 8, 8, 1], 0, 1, 'float32', 5);
  for (const [label, config] of formatCases) {
    const { model } = await quantizeModel(tinyModel(), { ...config, keepEndsAt8Bits: false });
    fitQuantizers(model, x);
    const p = readPacked(packModel(model).bytes);
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const exact = await load(await exportTfjs(p));
    assert.deepEqual(Array.from((exact.predict(x) as tf.Tensor).dataSync()), Array.from(want), label);
    const plain = await load(await exportTfjs(p, { plain: true }));
    assert.ok(
      plain.layers.every((l) => !l.getClassName().startsWith('Q')),
      `${label}: plain export uses stock layers only`,
    );
    const got = (plain.predict(x) as tf.Tensor).dataSync();
    assert.equal(got.length, want.length);
    assert.ok(Array.from(got).every(Number.isFinite), label);
  }
});
