// QAT overhead: median seconds per training step of a model in full precision and quantized
// (fake-quantized weights and activations), same batch and optimizer, in the same run.
// Usage: node dist/bench/qat-step.js [--models vgg9,lenet5] [--steps 10] [--record results/bench-qat-step.json]
import { Command } from 'commander';
import { tf } from '../src/engine/tf.js';
import { initEngine } from '../src/engine/setup.js';
import { buildModel } from '../src/models/zoo.js';
import { quantizeModel, type QuantizeConfig } from '../src/nn/quantize-model.js';
import { timeTrainStepsInterleaved, writeBenchRecord } from './step-timing.js';
import type { InputShape } from '../src/models/common.js';

const cases: Record<string, { batch: number; shape: InputShape }> = {
  lenet5: { batch: 128, shape: [28, 28, 1] },
  mobilenet: { batch: 128, shape: [28, 28, 1] },
  resnet20: { batch: 128, shape: [32, 32, 3] },
  vgg9: { batch: 64, shape: [32, 32, 3] },
};

const configs: Record<string, QuantizeConfig> = {
  'int W4A4': { weight: { format: 'int', bits: 4, granularity: 'channel' }, activation: { format: 'int', bits: 4, signed: false } },
  'lsq+pact W4A4': { weight: { format: 'lsq', bits: 4 }, activation: { format: 'pact', bits: 4 } },
};

async function main(): Promise<void> {
  const o = new Command()
    .option('--models <list>', 'models', 'vgg9,lenet5')
    .option('--steps <n>', 'timed steps', '10')
    .option('--record <file>', 'write a JSON record')
    .parse()
    .opts<{ models: string; steps: string; record?: string }>();
  const info = await initEngine();
  const rows: Record<string, unknown>[] = [];
  for (const name of o.models.split(',')) {
    const c = cases[name];
    if (!c) throw new Error(`unknown model '${name}'`);
    // FP and QAT steps take turns so machine noise hits both alike.
    for (const [label, cfg] of Object.entries(configs)) {
      const fp = buildModel(name, { inputShape: c.shape, numClasses: 10, seed: 1 });
      const { model: q } = await quantizeModel(fp, cfg);
      const [fpS, qS] = timeTrainStepsInterleaved([{ model: fp }, { model: q }], c.batch, c.shape, Number(o.steps));
      const row = {
        model: name,
        batch: c.batch,
        quantization: label,
        fp_s: Number(fpS.toFixed(4)),
        qat_s: Number(qS.toFixed(4)),
        ratio: Number((qS / fpS).toFixed(3)),
        native: info.native,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
      fp.dispose();
      q.dispose();
    }
  }
  if (o.record) writeBenchRecord(o.record, 'bench-qat-step', `node dist/bench/qat-step.js --record ${o.record}`, rows);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
