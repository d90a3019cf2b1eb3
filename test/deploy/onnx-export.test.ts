// ONNX export checked in onnxruntime-node: with graph optimisations off, ORT evaluates the QDQ
// graph in float and matches the quantized model's own predictions (the training simulation);
// with ORT's default optimisations (QDQ fused into its integer kernels, with ORT's own
// requantization) the top-1 agrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ort } from '../helpers/ort.js';
import { tf } from '../../src/engine/tf.js';
import { exportOnnx } from '../../src/deploy/onnx/export.js';
import { packModel } from '../../src/deploy/pack.js';
import { readPacked } from '../../src/deploy/read.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { engine } from '../helpers/compare.js';
import { fitQuantizers, formatCases, tinyModel } from '../helpers/tiny-model.js';

await engine();

test(
  'ONNX QDQ export runs in onnxruntime-node and predicts what the quantized model predicts',
  { skip: ort ? false : 'onnxruntime-node is not installed' },
  async () => {
    const N = 16;
    const x = tf.randomNormal([N, 8, 8, 1], 0, 1, 'float32', 11);
    const input = Float32Array.from(x.dataSync() as Float32Array);
    for (const [label, config] of formatCases) {
      const { model } = await quantizeModel(tinyModel(), { ...config, keepEndsAt8Bits: false });
      fitQuantizers(model, x);
      const ex = exportOnnx(readPacked(packModel(model).bytes));
      const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const scale = Math.max(...Array.from(want, Math.abs));
      const run = async (opts: object) => {
        const s = await ort!.InferenceSession.create(ex.bytes, opts);
        const r = await s.run({ input: new ort!.Tensor('float32', input, [N, 8, 8, 1]) });
        return r.logits.data as Float32Array;
      };
      const plain = await run({ graphOptimizationLevel: 'disabled' });
      const worst = Math.max(...Array.from(plain, (v, i) => Math.abs(v - want[i])));
      if (ex.notes.length === 0) assert.ok(worst <= 1e-4 * scale, `${label}: ORT (no optimisation) differs by ${worst} (scale ${scale})`);
      const fused = await run({});
      const top = (v: Float32Array, i: number) => Array.from(v.subarray(i * 10, i * 10 + 10)).reduce((b, y, k, a) => (y > a[b] ? k : b), 0);
      let agree = 0;
      for (let i = 0; i < N; i++) if (top(fused, i) === top(want, i)) agree++;
      assert.ok(agree >= N - 1, `${label}: ORT with its integer kernels agrees on ${agree}/${N}`);
    }
  },
);
