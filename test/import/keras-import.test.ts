// tfjs layers models as tensorflowjs_converter writes Keras models (model.json and float32
// weights): Keras batch norms, separable and depthwise convs, ReLU6 inside a conv and as a layer,
// zero padding, concatenation, residual adds, dropout and a softmax output. The imported model
// predicts what the source predicts (its logits through the dropped softmax), and packs, runs and
// exports with those logits; models lowbit cannot take are refused by layer name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { importTfjsLayers } from '../../src/import/keras.js';
import { engine } from '../helpers/compare.js';
import { runEveryConsumer } from '../helpers/op-harness.js';

await engine();

/** A model's model.json and weight bytes, as the converter would write them. */
async function saved(m: tf.LayersModel): Promise<{ json: object; data: ArrayBuffer }> {
  let art: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const data = art!.weightData as ArrayBuffer;
  return {
    json: {
      format: 'layers-model',
      modelTopology: art!.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: art!.weightSpecs }],
    },
    data,
  };
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** A small Keras-style MobileNet block model, functional. */
function kerasLike(): tf.LayersModel {
  const x = tf.input({ shape: [12, 12, 3] });
  let y = tf.layers
    .zeroPadding2d({
      padding: [
        [0, 1],
        [0, 1],
      ],
    })
    .apply(x);
  y = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, kernelInitializer: init(1) }).apply(y);
  y = tf.layers.batchNormalization({ betaInitializer: 'randomNormal', movingVarianceInitializer: 'ones' }).apply(y);
  y = tf.layers.activation({ activation: 'relu6' }).apply(y);
  const a = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2) }).apply(y);
  const b = tf.layers
    .separableConv2d({
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu6',
      depthwiseInitializer: init(3),
      pointwiseInitializer: init(4),
    })
    .apply(y);
  y = tf.layers.add().apply([a, b] as tf.SymbolicTensor[]);
  y = tf.layers.batchNormalization({ center: false }).apply(y);
  y = tf.layers.reLU({ maxValue: 6 }).apply(y);
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'relu6', kernelInitializer: init(5) }).apply(y);
  y = tf.layers.concatenate().apply([y, c] as tf.SymbolicTensor[]);
  y = tf.layers.globalAveragePooling2d({}).apply(y);
  y = tf.layers.dropout({ rate: 0.3 }).apply(y);
  y = tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init(6) }).apply(y);
  return tf.model({ inputs: x, outputs: y as tf.SymbolicTensor });
}

test('a Keras-style model imports with its predictions, and packs, runs and exports with them', async () => {
  const src = kerasLike();
  // Batch norm statistics away from their initial values.
  for (const l of src.layers)
    if (l.getClassName() === 'BatchNormalization')
      l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 10 + i)));
  const { json, data } = await saved(src);
  const r = await importTfjsLayers(json, data, { file: 'model.json' });
  assert.deepEqual(r.inputShape, [12, 12, 3]);
  assert.equal(r.numClasses, 5);
  const classes = r.model.layers.map((l) => l.getClassName());
  assert.ok(!classes.some((c) => ['BatchNormalization', 'SeparableConv2D', 'Dropout'].includes(c)), classes.join());
  assert.equal(classes.filter((c) => c === 'LowbitBatchNorm').length, 2);
  assert.ok(r.notes.some((n) => /softmax .* dropped/.test(n)) && r.notes.some((n) => /split into/.test(n)), r.notes.join('; '));
  const x = tf.randomNormal([4, 12, 12, 3], 0, 2, 'float32', 7);
  const want = (src.predict(x) as tf.Tensor).dataSync();
  const got = tf.softmax(r.model.predict(x) as tf.Tensor).dataSync();
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  assert.ok(err < 1e-6, `softmax of the imported logits differs by ${err}`);
  const run = await runEveryConsumer(r.model, x);
  assert.ok(run.runtime <= 1e-5 && (run.onnx ?? 0) <= 1e-5 && run.tfjs <= 1e-6, JSON.stringify(run));
});

test('what lowbit cannot take is refused by name: an unknown layer, a shared layer, a vector input, wrong weight bytes, not a model', async () => {
  const bad = async (
    m: tf.LayersModel,
    re: RegExp,
    edit?: (s: { json: object; data: ArrayBuffer }) => { json: object; data: ArrayBuffer },
  ) => {
    let s = await saved(m);
    if (edit) s = edit(s);
    await assert.rejects(
      importTfjsLayers(s.json, s.data, { file: 'm.json' }),
      (e: Error) => re.test(e.message) && !e.message.includes('\n'),
    );
  };
  const x = tf.input({ shape: [6, 6, 1] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(x) as tf.SymbolicTensor;
  const up = tf.layers.upSampling2d({ name: 'up' }).apply(conv);
  const head = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(up));
  await bad(
    tf.model({ inputs: x, outputs: head as tf.SymbolicTensor }),
    /layer up is a UpSampling2D, which lowbit does not import \(supported: .*Conv2D/,
  );
  const shared = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', name: 'twice' });
  const once = shared.apply(x) as tf.SymbolicTensor;
  const twice = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(shared.apply(once)));
  await bad(
    tf.model({ inputs: x, outputs: twice as tf.SymbolicTensor }),
    /layer twice is applied 2 times \(shared layers are not imported\)/,
  );
  const v = tf.input({ shape: [4] });
  await bad(
    tf.model({ inputs: v, outputs: tf.layers.dense({ units: 2 }).apply(v) as tf.SymbolicTensor }),
    /the input is \[4\]; expected \[height, width, channels\]/,
  );
  const ok = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 1] }), tf.layers.dense({ units: 2 })] });
  await bad(ok, /the weights need \d+ bytes, the weight files hold \d+/, (s) => ({ json: s.json, data: s.data.slice(0, 8) }));
  await bad(ok, /is not a tfjs layers model/, (s) => ({ json: { weightsManifest: [] }, data: s.data }));
});
