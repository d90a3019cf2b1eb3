// Every layer op in the table (src/deploy/layers/registry.ts) through every consumer: models
// built from all of them, float and quantized, are packed, read, run by the integer runtime,
// exported to ONNX (run in onnxruntime-node) and to tfjs (read back), and each agrees with the
// model's own predictions. An op registered without a model here fails the coverage check, so
// an op that runs but cannot be exported, or is never tested, cannot slip in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { BatchNorm } from '../../src/nn/batch-norm.js';
import { QAct } from '../../src/nn/qact.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { layerClassNames } from '../../src/deploy/layers/registry.js';
import { engine } from '../helpers/compare.js';
import { fitQuantizers } from '../helpers/tiny-model.js';
import { runEveryConsumer } from '../helpers/op-harness.js';

await engine();

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** conv → BN → ReLU → avg pool (same, odd window) → two convs added → relu Activation → max pool → flatten → dense. */
function branchy(): tf.LayersModel {
  const x = tf.input({ shape: [9, 9, 3], name: 'input' });
  let y = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(1) }).apply(x);
  y = new BatchNorm({ name: 'bn1' }).apply(y);
  y = tf.layers.reLU({ name: 'relu1' }).apply(y);
  y = tf.layers.averagePooling2d({ name: 'avg', poolSize: 3, strides: 2, padding: 'same' }).apply(y);
  const a = tf.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(2) }).apply(y);
  const b = tf.layers.conv2d({ name: 'c3', filters: 4, kernelSize: 1, kernelInitializer: init(3) }).apply(y);
  y = tf.layers.add({ name: 'sum' }).apply([a, b] as tf.SymbolicTensor[]);
  y = tf.layers.activation({ name: 'act', activation: 'relu' }).apply(y);
  y = tf.layers.maxPooling2d({ name: 'max', poolSize: 2, padding: 'same' }).apply(y);
  y = tf.layers.flatten({ name: 'flat' }).apply(y);
  y = tf.layers.dense({ name: 'fc', units: 10, kernelInitializer: init(4), biasInitializer: 'randomNormal' }).apply(y);
  return tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
}

/** conv (relu) → BN that cannot fold (after a ReLU) → QAct → global average pooling → dense. */
function pooled(withQAct: boolean): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 2], name: 'input' });
  let y = tf.layers.conv2d({ name: 'c1', filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(5) }).apply(x);
  y = new BatchNorm({ name: 'bn1', relu: true }).apply(y);
  if (withQAct) y = new QAct({ name: 'qa', quant: { format: 'int', bits: 4, signed: false } }).apply(y);
  y = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(y);
  y = tf.layers.dense({ name: 'fc', units: 5, kernelInitializer: init(6) }).apply(y);
  return tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
}

/**
 * What imported models have: an explicit zero border before a 'valid' stride-2 conv, ReLU6 as a
 * capped ReLU layer and as an Activation, a depthwise conv (multiplier 2) and its batch norm, a
 * channel concatenation of two branches, then global pooling and a dense layer.
 */
function imported(): tf.LayersModel {
  const x = tf.input({ shape: [9, 9, 3], name: 'input' });
  let y = tf.layers
    .zeroPadding2d({
      name: 'pad',
      padding: [
        [1, 1],
        [1, 1],
      ],
    })
    .apply(x);
  y = tf.layers.conv2d({ name: 'c1', filters: 6, kernelSize: 3, strides: 2, kernelInitializer: init(7) }).apply(y);
  y = tf.layers.reLU({ name: 'relu6', maxValue: 6 }).apply(y);
  y = tf.layers
    .depthwiseConv2d({
      name: 'dw',
      kernelSize: 3,
      depthMultiplier: 2,
      padding: 'same',
      depthwiseInitializer: init(11),
      biasInitializer: 'randomNormal',
    })
    .apply(y);
  y = new BatchNorm({ name: 'bn_dw' }).apply(y);
  const a = tf.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 1, kernelInitializer: init(8) }).apply(y);
  let b = tf.layers
    .zeroPadding2d({
      name: 'pad2',
      padding: [
        [0, 1],
        [1, 0],
      ],
    })
    .apply(y);
  b = tf.layers.conv2d({ name: 'c3', filters: 3, kernelSize: 2, kernelInitializer: init(9) }).apply(b);
  b = tf.layers.activation({ name: 'act6', activation: 'relu6' }).apply(b);
  y = tf.layers.concatenate({ name: 'cat', axis: -1 }).apply([a, b] as tf.SymbolicTensor[]);
  y = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(y);
  y = tf.layers.dense({ name: 'fc', units: 5, kernelInitializer: init(10) }).apply(y);
  return tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
}

/** Moves batch norm statistics off their initial values so that folding them is tested. */
function perturbBatchNorms(m: tf.LayersModel): void {
  for (const l of m.layers)
    if (l instanceof BatchNorm)
      l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, i === 3 ? 2 : 0.5, 'float32', 7 + i)));
}

const int4 = { weight: { format: 'int', bits: 4, granularity: 'channel' }, activation: { format: 'int', bits: 8, signed: false } } as const;

test('every layer op runs in the runtime, ONNX and tfjs, float and quantized, and agrees with the model', async (t) => {
  const seen = new Set<string>();
  const cases: [string, () => Promise<tf.LayersModel>, tf.Tensor, { runtime: number; onnx: number }][] = [
    ['float branchy', async () => branchy(), tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 1), { runtime: 1e-4, onnx: 1e-4 }],
    ['float pooled', async () => pooled(false), tf.randomNormal([4, 8, 8, 2], 0, 1, 'float32', 2), { runtime: 1e-4, onnx: 1e-4 }],
    ['float imported', async () => imported(), tf.randomNormal([4, 9, 9, 3], 0, 8, 'float32', 5), { runtime: 1e-4, onnx: 1e-4 }],
    [
      'int4 imported',
      async () => (await quantizeModel(imported(), { ...int4, keepEndsAt8Bits: false })).model,
      tf.randomNormal([4, 9, 9, 3], 0, 8, 'float32', 6),
      { runtime: 0.05, onnx: 1e-4 },
    ],
    [
      'int4 branchy',
      async () => (await quantizeModel(branchy(), { ...int4, keepEndsAt8Bits: false })).model,
      tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 3),
      { runtime: 0.05, onnx: 1e-4 },
    ],
    [
      'int4 pooled with QAct',
      async () => (await quantizeModel(pooled(true), { ...int4, keepEndsAt8Bits: false })).model,
      tf.randomNormal([4, 8, 8, 2], 0, 1, 'float32', 4),
      { runtime: 0.05, onnx: 1e-4 },
    ],
  ];
  for (const [label, build, x, tol] of cases) {
    const model = await build();
    perturbBatchNorms(model);
    fitQuantizers(model, x);
    const r = await runEveryConsumer(model, x);
    r.classes.forEach((c) => seen.add(c));
    // The measured differences, in the test's report (what the closing notes quote).
    t.diagnostic(
      `${label}: worst relative difference runtime ${r.runtime.toExponential(2)}, ONNX ${r.onnx?.toExponential(2) ?? 'n/a'}, tfjs ${r.tfjs}`,
    );
    assert.ok(r.runtime <= tol.runtime, `${label}: runtime differs by ${r.runtime}`);
    if (r.onnx !== null) assert.ok(r.onnx <= tol.onnx, `${label}: ONNX differs by ${r.onnx}`);
    assert.ok(r.tfjs <= 1e-6, `${label}: tfjs export differs by ${r.tfjs}`);
  }
  const missing = layerClassNames().filter((c) => !seen.has(c));
  assert.deepEqual(missing, [], `layer ops without a model in this test: ${missing.join(', ')}`);
});
