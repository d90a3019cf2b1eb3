// Sensitivities and the choice table on the committed MNIST lenet5 checkpoint, solved under a
// budget: the solution fits the budget and is never worse than uniform 4 bits when that fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { makeBatch, normalizationTable } from '../../src/data/batches.js';
import { loadDataset } from '../../src/data/load.js';
import { loadAccelerator } from '../../src/hw/config.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { choiceTable, defaultCandidates } from '../../src/search/candidates.js';
import { solveKnapsack } from '../../src/search/knapsack.js';
import { layerSensitivities } from '../../src/search/sensitivity.js';
import { engine } from '../helpers/compare.js';

await engine();

test('lenet5: Hessian traces, choice table and a budgeted solution', async () => {
  const ck = await loadCheckpoint('checkpoints/fp-mnist-lenet5.lbck');
  const ds = loadDataset('mnist');
  const { x, y } = makeBatch(
    ds.train,
    ds.info,
    Uint32Array.from({ length: 128 }, (_, i) => i),
    normalizationTable(ds.info),
  );
  const s = layerSensitivities(ck.model, x, y, { maxProbes: 24, seed: 1 });
  tf.dispose([x, y]);
  assert.deepEqual(
    s.layers.map((l) => l.name),
    ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
  );
  assert.ok(s.layers.every((l) => Number.isFinite(l.trace)));
  const accel = loadAccelerator('bitfusion');
  const cands = defaultCandidates();
  assert.equal(cands.length, 16);
  const table = choiceTable(ck.model, s.layers, cands, accel, 'latency');
  assert.deepEqual(
    table.map((t) => t.choices.length),
    [1, 16, 16, 16, 1],
  );
  // More weight bits never raise the predicted loss; fewer bits never cost more cycles.
  for (const t of table.filter((x) => !x.fixed)) {
    const at = (label: string) => t.choices[t.candidates.findIndex((c) => c.label === label)];
    assert.ok(at('int2/a4').value <= at('int4/a4').value + 1e-12 && at('int4/a4').value <= at('int8/a4').value + 1e-12, t.name);
    assert.ok(at('int2/a4').cost <= at('int4/a4').cost && at('int4/a4').cost <= at('int8/a8').cost, t.name);
  }
  const pick = (label: string) => table.map((t) => (t.fixed ? 0 : t.candidates.findIndex((c) => c.label === label)));
  const total = (picks: number[], k: 'cost' | 'value') => picks.reduce((a, p, i) => a + table[i].choices[p][k], 0);
  const w4 = pick('int4/a4');
  const best = solveKnapsack(
    table.map((t) => t.choices),
    total(w4, 'cost'),
  )!;
  assert.ok(best.cost <= total(w4, 'cost'));
  assert.ok(best.value >= total(w4, 'value'), 'at the cost of uniform W4A4, the search is at least as good by its proxy');
});
