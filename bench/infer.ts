// Inference throughput of the integer runtime next to onnxruntime-node in the same run:
// vgg9 (CIFAR-10 shape, batch 64) and lenet5 (MNIST shape, batch 256) at W8A8, W4A4 and W2A2
// (int weights per channel, first conv and last FC at 8 bits, batch norm folded), against ORT
// on the FP32 model and on the W8A8 model exported as QDQ (ORT fuses it into QLinearConv /
// QLinearMatMul). Weights are random and quantizers fitted on random data: speed does not depend
// on accuracy. Prints one JSON row per model and configuration.
// Usage: node dist/bench/infer.js [--models vgg9,lenet5] [--runs 5] [--record results/bench-infer.json]
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { tf } from '../src/engine/tf.js';
import { initEngine } from '../src/engine/setup.js';
import { buildModel } from '../src/models/zoo.js';
import { quantizeModel, type QuantizeConfig } from '../src/nn/quantize-model.js';
import { packModel } from '../src/deploy/pack.js';
import { readPacked } from '../src/deploy/read.js';
import { loadLowbit } from '../src/deploy/runtime/model.js';
import { exportOnnx } from '../src/deploy/onnx/export.js';
import { intConfig } from './int-config.js';
import { median, writeBenchRecord } from './step-timing.js';
import type { InputShape } from '../src/models/common.js';

type Ort = typeof import('onnxruntime-node');

const cases: Record<string, { batch: number; shape: InputShape }> = {
  vgg9: { batch: 64, shape: [32, 32, 3] },
  lenet5: { batch: 256, shape: [28, 28, 1] },
};

const int = intConfig;

async function quantized(name: string, shape: InputShape, cfg: QuantizeConfig, x: tf.Tensor): Promise<tf.LayersModel> {
  const { model } = await quantizeModel(buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 }), cfg);
  tf.tidy(() => void model.apply(x, { training: true }));
  return model;
}

function timeIt(runs: number, f: () => void): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function timeOrt(
  ort: Ort,
  bytes: Uint8Array,
  input: Float32Array,
  dims: number[],
  runs: number,
  threads: number,
): Promise<{ ms: number; ops: string[] }> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const feeds = { input: new ort.Tensor('float32', input, dims) };
  await s.run(feeds);
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    t.push(performance.now() - t0);
  }
  return { ms: median(t), ops: [] };
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--models <list>', 'models', 'vgg9,lenet5')
    .option('--runs <n>', 'timed runs per measurement', '5')
    .option('--record <file>', 'write a JSON record')
    .parse()
    .opts<{ models: string; runs: string; record?: string }>();
  const info = await initEngine();
  const runs = Number(o.runs);
  let ort: Ort | null = null;
  try {
    ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
  } catch {
    console.error('bench: onnxruntime-node is not installed; ORT columns stay empty');
  }
  const rows: Record<string, unknown>[] = [];
  for (const name of o.models.split(',')) {
    const c = cases[name];
    if (!c) throw new Error(`unknown model '${name}'`);
    const x = tf.randomNormal([c.batch, ...c.shape], 0, 1, 'float32', 1);
    const input = Float32Array.from(x.dataSync() as Float32Array);
    const dims = [c.batch, ...c.shape];
    // The peers in the same run: ORT FP32 on the float model, ORT INT8 on the W8A8 QDQ export.
    let ortFp32: number | null = null,
      ortInt8: number | null = null;
    const fpBytes = exportOnnx(readPacked(packModel(buildModel(name, { inputShape: c.shape, numClasses: 10, seed: 1 })).bytes)).bytes;
    const int8 = await quantized(name, c.shape, int(8), x);
    const int8Onnx = exportOnnx(readPacked(packModel(int8).bytes)).bytes;
    if (ort) {
      ortFp32 = (await timeOrt(ort, fpBytes, input, dims, runs, info.threads)).ms;
      ortInt8 = (await timeOrt(ort, int8Onnx, input, dims, runs, info.threads)).ms;
    }
    for (const bits of [8, 4, 2]) {
      const q = bits === 8 ? int8 : await quantized(name, c.shape, int(bits), x);
      const { bytes, report } = packModel(q);
      const rt = loadLowbit(bytes);
      const ms = timeIt(runs, () => rt.predict(input, c.batch));
      const row = {
        model: name,
        batch: c.batch,
        config: `W${bits}A${bits}`,
        lowbit_ms: Number(ms.toFixed(2)),
        lowbit_images_per_s: Math.round((c.batch / ms) * 1000),
        ort_fp32_ms: ortFp32 === null ? null : Number(ortFp32.toFixed(2)),
        ort_int8_ms: ortInt8 === null ? null : Number(ortInt8.toFixed(2)),
        vs_ort_int8: ortInt8 === null ? null : Number((ortInt8 / ms).toFixed(3)),
        packed_bytes: report.bytes,
        fp32_bytes: report.fp32Bytes,
        onnx_fp32_bytes: fpBytes.length,
        onnx_int8_bytes: int8Onnx.length,
        threads: info.threads,
        native: info.native,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    x.dispose();
  }
  if (o.record) writeBenchRecord(o.record, 'bench-infer', `node dist/bench/infer.js --record ${o.record}`, rows);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
