// Step time of the seed methods against plain QAT of the same format, in the same run: SQ
// (channel and element partition) against STE on ternary weights, MPQ (tracking every weight's
// code, threshold-aware learning rate; before and after the extra-bit grant) against STE on
// int weights of the base width; SLB (soft weights from per-weight logits, Adam on the logits)
// ESB (α refitted by the aligner) and DropBits (masks, multi-class STE backward, Adam on steps
// and drop rates) against STE on the same grid, PQ (teacher forward, centroid gradients) against
// a float training step (issue 9's methods; no target,
// the cost is reported). Issue 4's target: at most 1.3x the plain QAT step.
// Usage: node dist/bench/method-step.js [--models vgg9] [--steps 10] [--methods dropbits,pq] [--record results/bench-method-step.json]
import { Command } from 'commander';
import { initEngine } from '../src/engine/setup.js';
import { tf } from '../src/engine/tf.js';
import { buildModel } from '../src/models/zoo.js';
import { quantizeModel, type QuantizeConfig } from '../src/nn/quantize-model.js';
import { methods } from '../src/train/methods/registry.js';
import { methodLayers, type MethodRun, type QuantMethod } from '../src/train/methods/method.js';
import { timeTrainStepsInterleaved, writeBenchRecord } from './step-timing.js';
import type { InputShape } from '../src/models/common.js';

const cases: Record<string, { batch: number; shape: InputShape }> = {
  lenet5: { batch: 128, shape: [28, 28, 1] },
  vgg9: { batch: 64, shape: [32, 32, 3] },
};

const A4 = { format: 'int', bits: 4, signed: false };

interface Case {
  label: string;
  baseline: QuantizeConfig;
  method: 'sq' | 'mpq' | 'slb' | 'esb' | 'dropbits' | 'pq';
  config: QuantizeConfig;
  options: Record<string, unknown>;
  /**
   * MPQ: time the steps after the grant (tracking off) with this share of weights flagged. Set
   * before the run starts, because on random data too few weights switch in a few steps for a
   * budget grant to fill.
   */
  flaggedShare?: number;
}

const ternary: QuantizeConfig = { weight: { format: 'ternary', granularity: 'channel' }, activation: null };
const int3: QuantizeConfig = { weight: { format: 'int', bits: 3, granularity: 'channel' }, activation: A4 };
const mpq3: QuantizeConfig = { weight: { format: 'mpq', bits: 3, granularity: 'channel' }, activation: A4 };
const int2: QuantizeConfig = { weight: { format: 'int', bits: 2, granularity: 'channel' }, activation: A4 };
const int4: QuantizeConfig = { weight: { format: 'int', bits: 4, granularity: 'channel' }, activation: A4 };
const float: QuantizeConfig = { weight: null, activation: null };
const esb3: QuantizeConfig = { weight: { format: 'esb', bits: 3, k: 0, granularity: 'channel' }, activation: A4 };

const benchCases: Case[] = [
  { label: 'sq ternary, channel', baseline: ternary, method: 'sq', config: ternary, options: { partition: 'channel' } },
  { label: 'sq ternary, element', baseline: ternary, method: 'sq', config: ternary, options: { partition: 'element' } },
  { label: 'mpq W3A4, tracking', baseline: int3, method: 'mpq', config: mpq3, options: { budget: 0.05, grantAt: 0.99 } },
  // 0.7%: the share the vgg9 budget run flagged (results/fp-fashion-vgg9.mpq-w3a4-budget.json).
  { label: 'mpq W3A4, granted', baseline: int3, method: 'mpq', config: mpq3, options: { budget: 0.007 }, flaggedShare: 0.007 },
  { label: 'slb W2A4', baseline: int2, method: 'slb', config: int2, options: {} },
  { label: 'esb W3A4 (aligner)', baseline: int3, method: 'esb', config: esb3, options: {} },
  { label: 'dropbits W4A4 (learned widths)', baseline: int4, method: 'dropbits', config: int4, options: {} },
  // Every layer clustered at the first step (k = 256, d = 9 / 4), then distillation steps.
  { label: 'pq d 9/4 (distillation)', baseline: float, method: 'pq', config: float, options: { layerSteps: 0, iterations: 5 } },
];

/** Flags every layer's weights at `share`, spread evenly (flag cost does not depend on which). */
function presetFlags(layers: ReturnType<typeof methodLayers>, share: number): void {
  for (const l of layers) {
    const n = l.kernel.size;
    const every = Math.max(1, Math.round(1 / share));
    l.quantizer.flags = Uint8Array.from({ length: n }, (_, i) => (i % every === 0 ? 1 : 0));
  }
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--models <list>', 'models', 'vgg9')
    .option('--steps <n>', 'timed steps', '10')
    .option('--methods <list>', 'only these methods (sq, mpq, slb, esb, dropbits, pq)')
    .option('--record <file>', 'write a JSON record')
    .parse()
    .opts<{ models: string; steps: string; methods?: string; record?: string }>();
  const info = await initEngine();
  const steps = Number(o.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got '${o.steps}'`);
  const rows: Record<string, unknown>[] = [];
  const only = o.methods?.split(',');
  const known = new Set(benchCases.map((b) => b.method));
  for (const m of only ?? [])
    if (!known.has(m as Case['method'])) throw new Error(`--methods: unknown method '${m}' (expected some of ${[...known].join(', ')})`);
  if (only && o.record) throw new Error('--record writes the whole table: run it without --methods');
  for (const name of o.models.split(',')) {
    const c = cases[name];
    if (!c) throw new Error(`unknown model '${name}'`);
    for (const bc of benchCases.filter((b) => !only || only.includes(b.method))) {
      const fp = buildModel(name, { inputShape: c.shape, numClasses: 10, seed: 1 });
      const { model: base } = await quantizeModel(fp, bc.baseline);
      const { model: q, plan } = await quantizeModel(fp, bc.config);
      if (bc.flaggedShare !== undefined) presetFlags(methodLayers(q, plan), bc.flaggedShare);
      const method = methods[bc.method] as QuantMethod;
      // stepsPerEpoch 100 and one epoch: the hooks' positions in the timing are step / 100.
      const run: MethodRun = method.start!({
        model: q,
        plan,
        options: bc.options,
        seed: 1,
        epochs: 1,
        stepsPerEpoch: 100,
        lr: { lr: 0.01, schedule: { kind: 'constant' }, warmupEpochs: 0, epochs: 1 },
        teacher: fp,
        sampleInputs: (n, seed) => tf.randomNormal([n, ...c.shape], 0, 1, 'float32', seed),
      });
      // Plain QAT and the method take turns step by step, so machine noise hits both alike.
      const [baseS, methodS] = timeTrainStepsInterleaved([{ model: base }, { model: q, hooks: run }], c.batch, c.shape, steps);
      const row = {
        model: name,
        batch: c.batch,
        method: bc.label,
        qat_s: Number(baseS.toFixed(4)),
        method_s: Number(methodS.toFixed(4)),
        ratio: Number((methodS / baseS).toFixed(3)),
        status: run.status?.() ?? '',
        native: info.native,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
      for (const m of [fp, base, q]) m.dispose();
    }
  }
  if (o.record)
    writeBenchRecord(
      o.record,
      'bench-method-step',
      `node dist/bench/method-step.js --models ${o.models} --steps ${steps} --record ${o.record}`,
      rows,
    );
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
