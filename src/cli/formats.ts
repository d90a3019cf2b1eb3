// `lowbit formats --checkpoint run/`: fits every format at 2, 3, 4 and 8 bits to each conv/dense
// layer's weights (and to its input activations on a calibration batch) and prints SQNR per
// layer and format, so a user sees which format suits which layer.
import { Command } from 'commander';
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import { datasetOfModel, trainedInputOf } from '../data/model-data.js';
import { activationCandidates, formatError, weightCandidates } from '../quant/analysis.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { resolveCheckpoint } from '../train/quantize.js';
import { positiveInt } from './options.js';

interface Row {
  layer: string;
  tensor: 'weights' | 'inputs';
  bits: number;
  format: string;
  mse: number;
  sqnr: number;
}

function numberList(v: string): number[] {
  const xs = v.split(',').map(Number);
  if (xs.some((b) => !Number.isInteger(b) || b < 2 || b > 8))
    throw new Error(`--bits: expected comma-separated bit widths from 2 to 8, got '${v}'`);
  return xs;
}

export function formatsCommand(): Command {
  return new Command('formats')
    .description('compare number formats per layer (SQNR of weights and of input activations)')
    .requiredOption('--checkpoint <path>', 'FP checkpoint (.lbck) or run directory')
    .option('--bits <list>', 'bit widths', '2,3,4,8')
    .option('--batch <n>', 'calibration images for activations', positiveInt, 256)
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option('--json', 'print rows as JSON')
    .action(async (f: { checkpoint: string; bits: string; batch: number; dataDir?: string; json?: boolean }) => {
      const bits = numberList(f.bits);
      await initEngine();
      const ck = await loadCheckpoint(resolveCheckpoint(f.checkpoint, '--checkpoint'));
      const model = ck.model;
      const targets = model.layers.filter((l) => ['Conv2D', 'Dense', 'QConv2D', 'QDense'].includes(l.getClassName()));
      if (targets.length === 0) throw new Error(`${f.checkpoint}: no conv or dense layer to analyse`);
      const rows: Row[] = [];
      for (const layer of targets) {
        const w = layer.getWeights()[0];
        const x = w.dataSync() as Float32Array;
        for (const b of bits)
          for (const c of weightCandidates(b)) {
            const e = formatError(x, w.shape, c.spec);
            rows.push({ layer: layer.name, tensor: 'weights', bits: b, format: c.label, mse: e.mse, sqnr: e.sqnr });
          }
      }
      // Input activations of every layer but the first (its input is the image), on one batch.
      const ds = trainedInputOf(ck.modelSpec)
        ? await datasetOfModel(ck.modelSpec, f.checkpoint, f.dataDir ? { dataDir: f.dataDir } : {})
        : null;
      if (ds) {
        const idx = Uint32Array.from({ length: Math.min(f.batch, ds.train.count) }, (_, i) => i);
        const { x, y } = makeBatch(ds.train, ds.info, idx, normalizationTable(ds.info));
        const inner = targets.slice(1);
        const probe = tf.model({ inputs: model.inputs, outputs: inner.map((l) => l.input as tf.SymbolicTensor) });
        const outs = probe.predict(x) as tf.Tensor | tf.Tensor[];
        (Array.isArray(outs) ? outs : [outs]).forEach((t, i) => {
          const v = t.dataSync() as Float32Array;
          for (const b of bits)
            for (const c of activationCandidates(b)) {
              const e = formatError(v, [v.length], c.spec);
              rows.push({ layer: inner[i].name, tensor: 'inputs', bits: b, format: c.label, mse: e.mse, sqnr: e.sqnr });
            }
        });
        tf.dispose([x, y]);
      }
      if (f.json) {
        console.log(JSON.stringify(rows));
        return;
      }
      for (const tensor of ['weights', 'inputs'] as const) {
        const sel = rows.filter((r) => r.tensor === tensor);
        if (sel.length === 0) continue;
        const cols = [...new Set(sel.map((r) => `${r.format}@${r.bits}`))];
        console.log(`\nSQNR in dB of the ${tensor} (higher is better; best per row marked *)`);
        console.log(['layer'.padEnd(12), ...cols.map((c) => c.padStart(12))].join(' '));
        for (const layer of [...new Set(sel.map((r) => r.layer))]) {
          const byCol = new Map(sel.filter((r) => r.layer === layer).map((r) => [`${r.format}@${r.bits}`, r.sqnr]));
          const bestPerBits = new Map<number, number>();
          for (const r of sel.filter((q) => q.layer === layer))
            bestPerBits.set(r.bits, Math.max(bestPerBits.get(r.bits) ?? -Infinity, r.sqnr));
          const cells = cols.map((c) => {
            const v = byCol.get(c);
            const b = Number(c.split('@')[1]);
            return v === undefined ? '-'.padStart(12) : `${v === bestPerBits.get(b) ? '*' : ''}${v.toFixed(1)}`.padStart(12);
          });
          console.log([layer.padEnd(12), ...cells].join(' '));
        }
      }
    });
}
