// SQ, MPQ, SLB, DropBits and PQ runs interrupted after an epoch and resumed reproduce the uninterrupted run: the
// method's state (MPQ codes, frequencies and flags; SQ's stage and draws; SLB's logits, Adam moments and frozen grid; DropBits' steps and drop rates, with layers narrowed at the checkpoint; PQ's codebooks, assignments and the layers still to cluster) survives the checkpoint.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runTraining } from '../../src/train/train.js';
import { runQuantization, type QuantizeOptionsInput } from '../../src/train/quantize.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

const data = tmpDir();
const fp = tmpDir();

before(async () => {
  writeIdxDataset(data, 512, 128);
  await runTraining({ model: 'lenet5', data: 'mnist', dataDir: data, epochs: 1, batchSize: 32, lr: 0.05, seed: 3 }, { outDir: fp });
});

class Interrupt extends Error {}

async function interruptedThenResumed(o: QuantizeOptionsInput, stopAfter: number) {
  const out = tmpDir();
  await assert.rejects(
    runQuantization(o, {
      outDir: out,
      events: {
        onEpoch: (r) => {
          if (r.epoch === stopAfter) throw new Interrupt('stop');
        },
      },
    }),
    Interrupt,
  );
  return runQuantization(o, { outDir: out, resume: true });
}

for (const [name, extra] of [
  ['mpq', { method: 'mpq', wbits: 2, abits: 4, mpq: { budget: 0.05, grantAt: 0.5 } }],
  ['sq', { method: 'sq', format: 'ternary', wbits: 2, abits: null, sq: { partition: 'element' } }],
  ['slb', { method: 'slb', wbits: 2, abits: 4, slb: {} }],
  // A large regularizer narrows layers at epoch ends; the resumed run must widen them again.
  ['dropbits', { method: 'dropbits', wbits: 4, abits: 4, dropbits: { lambda: 2, dropRate: 0.4, rateLr: 0.05 } }],
  // Layers are clustered at steps 0, 10 and 20 (16 steps per epoch): the stop after epoch 1 falls between two.
  ['pq', { method: 'pq', abits: null, pq: { k: 16, layerSteps: 10, blocks: 500, calibrationImages: 64 } }],
] as const) {
  test(`${name}: an interrupted and resumed run equals the uninterrupted one`, async () => {
    const o: QuantizeOptionsInput = {
      from: path.join(fp, 'checkpoint.lbck'),
      dataDir: data,
      epochs: 4,
      batchSize: 32,
      seed: 5,
      ...(extra as Partial<QuantizeOptionsInput>),
    } as QuantizeOptionsInput;
    const whole = await runQuantization(o, { outDir: tmpDir() });
    // Stop before the MPQ grant (half way, after epoch 2) and after it.
    for (const stop of [1, 3]) {
      const resumed = await interruptedThenResumed(o, stop);
      const strip = (h: typeof whole.history) => h.map(({ seconds: _s, imagesPerSecond: _i, ...rest }) => rest);
      assert.deepEqual(strip(resumed.history), strip(whole.history), `stopped after epoch ${stop}`);
      assert.deepEqual(resumed.methodSummary, whole.methodSummary);
    }
  });
}
