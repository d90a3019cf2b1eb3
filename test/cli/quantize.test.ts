// End-to-end tests of `lowbit quantize` on tiny data: every method, PTQ calibrations, errors, resume.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { lowbit } from '../helpers/cli.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

const data = tmpDir();
const fp = tmpDir();
before(() => {
  writeIdxDataset(data, 600, 200);
  const r = lowbit([
    'train',
    '--model',
    'lenet5',
    '--data',
    'fashion-mnist',
    '--data-dir',
    data,
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--out',
    fp,
    '--quiet',
  ]);
  assert.equal(r.status, 0, r.stderr);
});

function quantize(args: string[]) {
  return lowbit(['quantize', '--from', fp, '--data-dir', data, '--batch-size', '32', '--quiet', '--json', ...args]);
}

test('ste, lsq and ptq (min-max, percentile, MSE) produce quantized checkpoints with their plans', () => {
  const cases = [
    ['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1'],
    ['--method', 'lsq', '--wbits', '3', '--abits', '3', '--epochs', '1'],
    ['--method', 'ptq', '--wbits', '8', '--abits', '8'],
    ['--method', 'ptq', '--wbits', '4', '--abits', '4', '--calibration', 'percentile'],
    ['--method', 'ptq', '--wbits', '4', '--abits', '4', '--calibration', 'mse', '--granularity', 'tensor'],
    ['--method', 'ste', '--format', 'dybit', '--wbits', '4', '--abits', '4', '--epochs', '1', '--bn', 'fold'],
    ['--method', 'ste', '--format', 'esb', '--k', '1', '--wbits', '4', '--abits', 'none', '--epochs', '1'],
  ];
  for (const args of cases) {
    const out = tmpDir();
    const r = quantize([...args, '--out', out]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as {
      finalAccuracy: number;
      fpAccuracy: number;
      plan: { name: string; weight: { bits: number; format: string } | null }[];
    };
    assert.ok(existsSync(path.join(out, 'checkpoint.lbck')) && existsSync(path.join(out, 'metrics.json')));
    assert.ok(res.finalAccuracy > 0.3, `${args.join(' ')}: accuracy ${res.finalAccuracy} (FP ${res.fpAccuracy})`);
    assert.equal(res.plan[0].weight?.bits, 8, 'first layer at 8 bits');
    assert.equal(res.plan[res.plan.length - 1].weight?.bits, 8, 'last layer at 8 bits');
    // A quantized checkpoint loads again (its layers and quantizer states are in the file).
    const again = lowbit([
      'quantize',
      '--from',
      out,
      '--data-dir',
      data,
      '--method',
      'ptq',
      '--wbits',
      '8',
      '--abits',
      '8',
      '--out',
      tmpDir(),
      '--quiet',
    ]);
    assert.equal(again.status, 1, 'quantizing a quantized model is refused');
    assert.match(again.stderr, /is already quantized \(method (ste|lsq|ptq)\); quantize from its full-precision checkpoint/);
  }
});

test('bad quantize inputs get one clear line', () => {
  const cases: [string[], RegExp][] = [
    [['--method', 'ste', '--from', '/nonexistent/ckpt'], /--from: \/nonexistent\/ckpt does not exist/],
    [['--method', 'sq'], /Allowed choices are ste, lsq, ptq/],
    [['--method', 'ste', '--wbits', '9'], /invalid quantize options: wbits: Too big|wbits/],
    [['--method', 'ste', '--abits', '12'], /expected bits from 1 to 8, or none/],
    [['--method', 'ste', '--format', 'dybit', '--kmax', '7', '--wbits', '4'], /kmax must be at most the magnitude bits n/],
    [['--method', 'ste', '--epochs', '0'], /epochs: method ste retrains: epochs must be >= 1/],
  ];
  for (const [args, re] of cases) {
    const r = lowbit(['quantize', '--from', fp, '--data-dir', data, '--out', tmpDir(), '--quiet', ...args]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('QAT resumes from its checkpoint and refuses a different configuration', () => {
  const out = tmpDir();
  const a = quantize(['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1', '--out', out]);
  assert.equal(a.status, 0, a.stderr);
  const b = quantize(['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '2', '--out', out, '--resume']);
  assert.equal(b.status, 0, b.stderr);
  assert.equal((JSON.parse(b.stdout) as { history: unknown[] }).history.length, 2);
  const c = quantize(['--method', 'ste', '--wbits', '3', '--abits', '4', '--epochs', '2', '--out', out, '--resume']);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /--resume: .* was trained with wbits=4, but this run has wbits=3/);
});

test('formats: SQNR of every candidate format per layer, weights and input activations', () => {
  const r = lowbit(['formats', '--checkpoint', fp, '--data-dir', data, '--bits', '2,4', '--batch', '64', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { layer: string; tensor: string; bits: number; format: string; sqnr: number }[];
  const layers = ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'];
  for (const l of layers)
    for (const b of [2, 4])
      assert.ok(
        rows.some((x) => x.layer === l && x.tensor === 'weights' && x.bits === b && x.format === 'dybit'),
        `${l}@${b}`,
      );
  assert.ok(
    rows.filter((x) => x.tensor === 'inputs').every((x) => x.layer !== 'conv1'),
    'the image input is not analysed',
  );
  // More bits never hurt a uniform grid fitted the same way.
  for (const l of layers) {
    const at = (b: number) => rows.find((x) => x.layer === l && x.tensor === 'weights' && x.bits === b && x.format === 'int/ch')!.sqnr;
    assert.ok(at(4) > at(2), l);
  }
  const bad = lowbit(['formats', '--checkpoint', fp, '--bits', '1,4']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--bits: expected comma-separated bit widths from 2 to 8, got '1,4'/);
});
