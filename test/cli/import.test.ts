// `lowbit import` end to end on tiny data: a LeNet exported by PyTorch (test/fixtures/onnx) goes
// import → quantize → search → pack → run → export from the CLI, and a wrong dataset, a damaged
// file or an occupied run directory stop with one line and leave nothing behind.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lowbit, oneLineError, repoRoot } from '../helpers/cli.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'onnx');
const lenet = path.join(fixtures, 'lenet-op13.onnx');
const data = tmpDir();
before(() => writeIdxDataset(data, 300, 100));

const importArgs = (file: string, out: string, ...more: string[]) => [
  'import',
  file,
  '--data',
  'fashion-mnist',
  '--data-dir',
  data,
  '--out',
  out,
  ...more,
];

test('an imported PyTorch LeNet goes through quantize, search, pack, run and export', () => {
  const fp = tmpDir();
  const r = lowbit(importArgs(lenet, fp, '--json', '--fold-bn'));
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    inputShape: number[];
    numClasses: number;
    source: { sha256: string; opset: number };
    folded: { batchNorm: number };
  };
  assert.deepEqual(res.inputShape, [28, 28, 1]);
  assert.equal(res.numClasses, 10);
  assert.equal(res.source.sha256, createHash('sha256').update(readFileSync(lenet)).digest('hex'));
  assert.equal(res.source.opset, 13);
  // torch.onnx.export folded the batch norm into the conv already: nothing is left to fold.
  assert.equal(res.folded.batchNorm, 0);
  const q = tmpDir();
  const common = ['--data-dir', data, '--batch-size', '32', '--quiet'];
  const steps: string[][] = [
    ['quantize', '--from', fp, '--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1', '--out', q, ...common],
    ['search', '--from', fp, '--budgets', '0.8', '--epochs', '1', '--out', tmpDir(), '--data-dir', data, '--batch-size', '32'],
    ['pack', '--model', q, '--out', path.join(q, 'm.lowbit')],
    ['run', '--model', path.join(q, 'm.lowbit'), '--data-dir', data, '--compare', '--json'],
    ['export', '--model', path.join(q, 'm.lowbit'), '--format', 'onnx', '--out', path.join(q, 'm.onnx')],
    ['export', '--model', q, '--format', 'tfjs', '--out', path.join(q, 'tfjs')],
  ];
  for (const args of steps) {
    const s = lowbit(args);
    assert.equal(s.status, 0, `${args[0]}: ${s.stderr}`);
    if (args[0] === 'run') {
      const run = JSON.parse(s.stdout) as { vsSimulation: { top1Agreement: number } };
      assert.equal(run.vsSimulation.top1Agreement, 1, 'the integer runtime agrees with the training simulation');
    }
  }
  assert.ok(existsSync(path.join(q, 'm.onnx')) && existsSync(path.join(q, 'tfjs', 'model.json')));
});

test('a model for other images, a damaged file, a non-ONNX file and an occupied run stop with one line and no output', () => {
  const out = path.join(tmpDir(), 'run');
  oneLineError(
    lowbit(importArgs(path.join(fixtures, 'plain-op13.onnx'), out)),
    /plain-op13\.onnx takes 16×16×3 images \(height × width × channels\); fashion-mnist has 28×28×1/,
  );
  assert.ok(!existsSync(out));
  const damaged = path.join(tmpDir(), 'damaged.onnx');
  writeFileSync(damaged, readFileSync(lenet).subarray(0, 5000));
  oneLineError(lowbit(importArgs(damaged, out)), /damaged\.onnx is not an ONNX model/);
  assert.ok(!existsSync(out));
  oneLineError(lowbit(importArgs(path.join(repoRoot, 'package.json'), out)), /package\.json: expected an \.onnx file/);
  const fp = tmpDir();
  assert.equal(lowbit(importArgs(lenet, fp)).status, 0);
  oneLineError(lowbit(importArgs(lenet, fp)), /already holds a run .*--force to replace it/);
  assert.equal(lowbit(importArgs(lenet, fp, '--force')).status, 0);
});
