// docs/SCALE.md's projection: jobs scheduled first come, first served on W workers, and the page
// rendered from a bench record (here a made-up one, so the arithmetic can be checked by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderScale, scheduleEnd } from '../../experiments/render-scale.js';

test('scheduling: enough workers take every job at once; fewer take them in rounds; releases wait', () => {
  const jobs = Array.from({ length: 7 }, () => ({ release: 10, seconds: 100 }));
  assert.equal(scheduleEnd(jobs, 10, 0), 110);
  assert.equal(scheduleEnd(jobs, 100, 1), 111);
  assert.equal(scheduleEnd(jobs, 2, 0), 10 + 4 * 100);
  assert.equal(scheduleEnd(jobs, 1, 1), 10 + 7 * 101);
  assert.equal(
    scheduleEnd(
      [
        { release: 0, seconds: 5 },
        { release: 50, seconds: 5 },
      ],
      1,
      0,
    ),
    55,
  );
});

test('the page: overheads against the epochs, and the projection against the critical path', () => {
  const page = renderScale(
    {
      command: 'node dist/bench/queue.js --record results/bench-queue.json',
      gitCommit: 'abcdef0123456789',
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 24, node: 'v20', engine: 'native', cpuFlags: 'avx2 fma' },
      rows: [
        { kind: 'per-job', store: 'redis', jobs: 8, limitTrain: 4096, overheadMs: 50, vsLenet5Epoch: 0.01, vsVgg9Epoch: 0.0003 },
        { kind: 'per-job', store: 'dir', jobs: 8, overheadMs: 60, vsLenet5Epoch: 0.012, vsVgg9Epoch: 0.0004 },
        { kind: 'first-job', store: 'redis', overheadMs: 1500 },
        { kind: 'one-job-latency', store: 'redis', jobs: 1, overheadMs: 160 },
        { kind: 'transfer', store: 'redis', model: 'vgg9', bytes: 10 * 1024 * 1024, putMs: 90, getMs: 30 },
        { kind: 'epochs', lenet5EpochSeconds: 5, vgg9EpochSeconds: 160, vgg9From: 'results/x.json', vgg9SearchPlanSeconds: 120 },
      ],
    },
    { id: 'search-x', points: 7, epochs: 2 },
  );
  // Critical path 120 + 2 × 160 = 440 s; 10 workers: 440 + 0.06 + (0.16 − 0.06) s.
  assert.match(page, /\| 10 \| 7\.3 min \| 7\.3 min \| 1\.000× \|/);
  // One worker: 120 + 7 × 320.06 + 0.1 s = 2360.5 s.
  assert.match(page, /\| 1 \| 39\.3 min \| 7\.3 min \| 5\.365× \|/);
  assert.match(page, /Projected: 1\.000×, met\./);
  assert.match(page, /\| redis \| 50 ms \| 1\.00% \| 0\.030% \|/);
  assert.match(page, /Measured: 1\.00% with the Redis store, met\./);
  assert.match(page, /\| redis \| vgg9 \| 10240 KiB \| 90\.0 ms \| 30\.0 ms \|/);
  assert.match(page, /one epoch on 4096 images\)/);
  assert.doesNotMatch(page, /\{\{|\}\}/);
});
