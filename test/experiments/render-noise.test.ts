// The seed spread behind every "within the noise" sentence of RESULTS.md: mean and sample standard
// deviation over the seed runs that have records, nothing from one run alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seedSpread } from '../../experiments/render-noise.js';
import type { RunRecord } from '../../experiments/record.js';

const rec = (id: string, acc: number) => [id, { id, final: { testAccuracy: acc } } as unknown as RunRecord] as const;

test('seedSpread is the mean and sample standard deviation of the seed runs, in points', () => {
  const base = 'fp-x';
  const records = new Map([rec('fp-x.ste-int-w2a4', 0.9), rec('fp-x.ste-int-w2a4-seed2', 0.91), rec('fp-x.ste-int-w2a4-seed3', 0.92)]);
  const s = seedSpread(records, base);
  assert.ok(s);
  assert.deepEqual(
    s.accuracies.map((a) => Math.round(a * 100) / 100),
    [90, 91, 92],
  );
  assert.ok(Math.abs(s.sd - 1) < 1e-9, `sd ${s.sd}`);
  assert.ok(Math.abs(s.mean - 91) < 1e-9, `mean ${s.mean}`);
  // Two runs are the least that give a spread; one run gives none.
  assert.equal(seedSpread(new Map([rec('fp-x.ste-int-w2a4', 0.9)]), base), null);
  const two = seedSpread(new Map([rec('fp-x.ste-int-w2a4', 0.9), rec('fp-x.ste-int-w2a4-seed3', 0.9)]), base);
  assert.equal(two?.sd, 0);
});
