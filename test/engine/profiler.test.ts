// Training must survive a CPU profiler: its sampling signals once corrupted the heap inside
// oneDNN's sgemm (2 of 2 runs aborted with "corrupted size vs. prev_size"), which is why matmul
// runs on OpenBLAS by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { tmpDir } from '../helpers/fixtures.js';

test('training steps under node --cpu-prof do not crash', () => {
  const dir = tmpDir();
  const r = spawnSync(
    process.execPath,
    [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      path.join(repoRoot, 'dist', 'bench', 'train-step.js'),
      '--models',
      'lenet5',
      '--steps',
      '30',
      '--no-peer',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr.slice(-300)}`);
  assert.match(r.stdout, /"model":"lenet5"/);
});
