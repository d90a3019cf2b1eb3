// Runs a tfjs model through every consumer of a packed model — pack, readPacked, the integer
// runtime, the ONNX export in onnxruntime-node and the tfjs export read back by
// tf.loadLayersModel — and compares each with the model's own predictions. Shared by the table
// test of the layer ops and the toy-op test, so an op that runs but cannot be exported fails.
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { packModel } from '../../src/deploy/pack.js';
import { readPacked } from '../../src/deploy/read.js';
import { LowbitModel } from '../../src/deploy/runtime/model.js';
import { exportOnnx } from '../../src/deploy/onnx/export.js';
import { exportTfjs } from '../../src/deploy/tfjs-export.js';
import { ort } from './ort.js';

export interface OpRun {
  /** Class names in the packed manifest. */
  classes: string[];
  /** Worst |difference| / max |reference| of each consumer against the model's predictions. */
  runtime: number;
  onnx: number | null;
  tfjs: number;
}

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'output sizes differ');
  let m = 0,
    s = 1e-6;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Number.isNaN(a[i]) ? Infinity : Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

/** x: [N, ...inputShape]. Throws if any consumer refuses the model. */
export async function runEveryConsumer(model: tf.LayersModel, x: tf.Tensor): Promise<OpRun> {
  const want = Float32Array.from((model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const input = Float32Array.from(x.dataSync() as Float32Array);
  const N = x.shape[0];
  const p = readPacked(packModel(model).bytes);
  const runtime = worst(new LowbitModel(p).predict(input, N), want);
  let onnx: number | null = null;
  if (ort) {
    const ex = exportOnnx(p);
    const s = await ort.InferenceSession.create(ex.bytes, { graphOptimizationLevel: 'disabled' });
    const r = await s.run({ input: new ort.Tensor('float32', input, x.shape) });
    onnx = worst(r.logits.data as Float32Array, want);
  }
  const a = await exportTfjs(p);
  const json = JSON.parse(JSON.stringify(a.modelJson)) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const back = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: a.weightData.slice().buffer,
    }),
  );
  const tfjs = worst((back.predict(x) as tf.Tensor).dataSync() as Float32Array, want);
  return { classes: p.manifest.layers.map((l) => l.className), runtime, onnx, tfjs };
}
