// End-to-end tests of `lowbit quantize` on tiny data: every method, PTQ calibrations, errors, resume.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
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

test('ste, lsq, ptq (min-max, percentile, MSE), slb and esb produce quantized checkpoints with their plans', () => {
  const cases = [
    ['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1'],
    ['--method', 'lsq', '--wbits', '3', '--abits', '3', '--epochs', '1'],
    ['--method', 'ptq', '--wbits', '8', '--abits', '8'],
    ['--method', 'ptq', '--wbits', '4', '--abits', '4', '--calibration', 'percentile'],
    ['--method', 'ptq', '--wbits', '4', '--abits', '4', '--calibration', 'mse', '--granularity', 'tensor'],
    ['--method', 'ste', '--format', 'dybit', '--wbits', '4', '--abits', '4', '--epochs', '1', '--bn', 'fold'],
    ['--method', 'ste', '--format', 'esb', '--k', '1', '--wbits', '4', '--abits', 'none', '--epochs', '1'],
    ['--method', 'slb', '--wbits', '2', '--abits', '4', '--epochs', '1'],
    ['--method', 'esb', '--wbits', '3', '--abits', '4', '--epochs', '1'],
    ['--method', 'dropbits', '--wbits', '3', '--abits', '4', '--epochs', '1'],
    ['--method', 'pq', '--abits', 'none', '--epochs', '1', '--pq-k', '16', '--pq-layer-steps', '2'],
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
    assert.match(
      again.stderr,
      /is already quantized \(method (ste|lsq|ptq|slb|esb|dropbits|pq)\); quantize from its full-precision checkpoint/,
    );
  }
});

test('bad quantize inputs get one clear line', () => {
  const cases: [string[], RegExp][] = [
    [['--method', 'ste', '--from', '/nonexistent/ckpt'], /--from: \/nonexistent\/ckpt does not exist/],
    [['--method', 'magic'], /Allowed choices are ste, lsq, ptq, sq, mpq, slb, esb, dropbits, pq/],
    [['--method', 'esb', '--format', 'dybit'], /method esb trains esb weights; --format dybit does not apply/],
    [['--method', 'slb', '--slb-t-start', '10', '--slb-t-end', '2'], /slb: tEnd must be at least tStart/],
    [['--method', 'ste', '--slb-lr', '0.1'], /slb: slb options need --method slb \(the method is ste\)/],
    [['--method', 'sq', '--format', 'ternary', '--sq-stages', '0.5,0.9'], /sq.stages: the last stage must quantize everything \(ratio 1\)/],
    [['--method', 'dropbits', '--format', 'po2'], /method dropbits trains int weights; --format po2 does not apply/],
    [['--method', 'dropbits', '--wbits', '8'], /dropbits: --wbits 8 is out of range: it trains 2 to 4 bits/],
    [['--method', 'dropbits', '--wbits', '3', '--dropbits-min-bits', '4'], /dropbits: --wbits 3 is below the minimum of 4 bits/],
    [['--method', 'dropbits', '--dropbits-rate', '1.5'], /dropbits.dropRate: Too big: expected number to be <1/],
    [['--method', 'ste', '--dropbits-lambda', '1'], /dropbits: dropbits options need --method dropbits/],
    [['--method', 'pq', '--pq-fc-block', '7'], /pq: layer fc1 has \d+ inputs, not a multiple of the block size 7/],
    [['--method', 'ste', '--pq-k', '16'], /pq: pq options need --method pq/],
    [['--method', 'ste', '--mpq-tau', '0.1'], /mpq: mpq options need --method mpq \(the method is ste\)/],
    [['--method', 'mpq', '--mpq-tau', '0.1', '--mpq-budget', '0.1'], /give either tau .* or budget/],
    [['--method', 'mpq', '--no-mpq-threshold-lr', '--mpq-beta', '0.3'], /--mpq-beta and --no-mpq-threshold-lr contradict each other/],
    [['--method', 'mpq', '--format', 'dybit'], /method mpq trains mpq weights; --format dybit does not apply/],
    [['--method', 'sq', '--sq-partition', 'row'], /expected one of: channel, element/],
    [['--method', 'ste', '--wbits', '9'], /invalid quantize options: wbits: Too big|wbits/],
    [['--method', 'ste', '--abits', '12'], /expected bits from 1 to 8, or none/],
    [['--method', 'ste', '--format', 'dybit', '--kmax', '7', '--wbits', '4'], /kmax must be at most the magnitude bits n/],
    [['--method', 'ste', '--epochs', '0'], /epochs: method ste retrains: epochs must be >= 1/],
  ];
  for (const [args, re] of cases) {
    const out = tmpDir();
    const r = lowbit(['quantize', '--from', fp, '--data-dir', data, '--out', out, '--quiet', ...args]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(out), [], `${args.join(' ')}: a refused run leaves nothing behind`);
  }
});

test('QAT resumes from its checkpoint and refuses a different configuration', () => {
  const out = tmpDir();
  const a = quantize(['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1', '--out', out]);
  assert.equal(a.status, 0, a.stderr);
  // A different epoch count is a different run unless the change is explicit.
  const shorter = quantize(['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '2', '--out', out, '--resume']);
  assert.equal(shorter.status, 1);
  assert.match(shorter.stderr, /was trained with epochs=1, but this run has epochs=2 \(pass --extend-epochs/);
  const b = quantize(['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '2', '--out', out, '--resume', '--extend-epochs']);
  assert.equal(b.status, 0, b.stderr);
  assert.equal((JSON.parse(b.stdout) as { history: unknown[] }).history.length, 2);
  // --resume alone continues with the run's own settings (here: nothing left to do).
  const again = lowbit(['quantize', '--out', out, '--resume', '--json', '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { history: unknown[] }).history.length, 2);
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

interface MethodResult {
  finalAccuracy: number;
  history: { testAccuracy: number; trainLoss: number; method?: Record<string, number> }[];
  methodSummary: Record<string, unknown> | null;
  weightError: { mse: number; relativeMse: number; weights: number } | null;
}

test('sq retrains in ratio stages, by channel or by element, with any weight format', () => {
  for (const args of [
    ['--format', 'ternary', '--abits', 'none'],
    ['--format', 'binary', '--abits', 'none', '--sq-partition', 'element', '--sq-probability', 'softmax'],
    ['--format', 'int', '--wbits', '2', '--abits', '4', '--sq-selection', 'deterministic'],
  ]) {
    const r = quantize(['--method', 'sq', '--epochs', '4', '--out', tmpDir(), ...args]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as MethodResult;
    assert.deepEqual(
      res.history.map((h) => h.method?.sqRatio),
      [0.5, 0.75, 0.875, 1],
    );
    assert.ok(res.finalAccuracy > 0.3, `${args.join(' ')}: ${res.finalAccuracy}`);
    assert.ok(res.weightError && res.weightError.relativeMse > 0 && res.weightError.relativeMse < 1);
  }
});

test('without --json each method prints what it ended with (bits settled, flags, codes, logit memory)', () => {
  const cases: [string[], RegExp][] = [
    [
      ['--method', 'dropbits', '--wbits', '4', '--abits', '4'],
      /settled on \d\.\d{3} bits per low-bit weight\n\s+conv2\s+[234] bits \(of 4; keep probability/,
    ],
    [
      ['--method', 'mpq', '--wbits', '2', '--abits', '4', '--mpq-budget', '0.05'],
      /bits per low-bit weight \(extra bits and flag index included\), \d\.\d{3}x smaller than uniform 4-bit/,
    ],
    [
      ['--method', 'pq', '--abits', 'none', '--pq-k', '16', '--pq-layer-steps', '2'],
      /layers in product codes: \d\.\d{3} bits per weight \(indices and fp16 codebooks\)/,
    ],
    [
      ['--method', 'slb', '--wbits', '2', '--abits', '4'],
      /searched over 3 values per weight; logits and their Adam moments took \d+\.\d MiB/,
    ],
  ];
  for (const [args, re] of cases) {
    const out = tmpDir();
    const r = lowbit([
      'quantize',
      '--from',
      fp,
      '--data-dir',
      data,
      '--batch-size',
      '32',
      '--quiet',
      ...args,
      '--epochs',
      '1',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, re, `${args.join(' ')}:\n${r.stdout}`);
  }
});

test('mpq grants extra bits at the grant point, reports honest storage, and keeps the flags in its checkpoint', async () => {
  const args = ['--method', 'mpq', '--wbits', '2', '--abits', '4', '--mpq-budget', '0.05', '--mpq-grant-at', '0.6'];
  const whole = tmpDir();
  const r = quantize([...args, '--epochs', '2', '--out', whole]);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as MethodResult;
  const ms = res.methodSummary as { flaggedShare: number; bitsPerWeight: number; compressionVsW4: number; weights: number };
  // The budget caps the share; on this tiny run fewer weights ever switched.
  assert.ok(ms.flaggedShare > 0 && ms.flaggedShare <= 0.05, `flagged ${ms.flaggedShare}`);
  // Base 2 bits + one extra bit per flagged weight + an index of at most one bit per weight.
  assert.ok(ms.bitsPerWeight > 2 + ms.flaggedShare && ms.bitsPerWeight <= 3 + ms.flaggedShare, `bits ${ms.bitsPerWeight}`);
  assert.ok(Math.abs(ms.compressionVsW4 - 4 / ms.bitsPerWeight) < 1e-9);
  assert.equal(res.history[0].method?.flaggedShare, 0, 'nothing flagged before the grant (in epoch 2)');
  assert.equal(res.history[1].method?.flaggedShare, ms.flaggedShare);
  // The flags travel in the checkpoint: loading it gives back the flagged quantizers.
  const { loadCheckpoint } = await import('../../src/train/checkpoint.js');
  const { modelQuantizers } = await import('../../src/nn/quantizers.js');
  const ck = await loadCheckpoint(path.join(whole, 'checkpoint.lbck'));
  const flagged = modelQuantizers(ck.model).reduce((a, q) => a + (q.weight?.flags?.reduce((x, y) => x + y, 0) ?? 0), 0);
  assert.equal(flagged, Math.round(ms.flaggedShare * ms.weights));
});

test('simulate: per-layer table, totals and baselines for a quantized checkpoint; --json; clear errors', () => {
  const out = tmpDir();
  assert.equal(quantize(['--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1', '--out', out]).status, 0);
  const text = lowbit(['simulate', '--model', out, '--accel', 'bitfusion']);
  assert.equal(text.status, 0, text.stderr);
  for (const l of ['conv1', 'conv2', 'fc1', 'fc2', 'fc3', 'total']) assert.match(text.stdout, new RegExp(`^${l}\\s`, 'm'));
  assert.match(text.stdout, /vs INT8 on bitfusion .*x faster, .*x less energy/);
  assert.match(text.stdout, /vs FP32 on bitfusion-fp32, the same array with float32 MAC units/);
  const js = lowbit(['simulate', '--model', out, '--accel', 'mpq65', '--batch', '4', '--json']);
  assert.equal(js.status, 0, js.stderr);
  const r = JSON.parse(js.stdout) as {
    batch: number;
    layers: { name: string; weightBits: number; inputBits: number }[];
    speedupVsInt8: number;
  };
  assert.equal(r.batch, 4);
  assert.deepEqual(
    r.layers.map((l) => [l.name, l.weightBits, l.inputBits]),
    [
      ['conv1', 8, 8],
      ['conv2', 4, 4],
      ['fc1', 4, 4],
      ['fc2', 4, 4],
      ['fc3', 8, 8],
    ],
  );
  assert.ok(r.speedupVsInt8 > 1);
  const list = lowbit(['simulate', '--list']);
  assert.match(list.stdout, /^bitfusion .*\n^mpq65 .*\n^int8 .*\n^fp32 /m);
  const bad = lowbit(['simulate', '--model', out, '--accel', 'tpu']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--accel: 'tpu' is neither a preset \(bitfusion, mpq65, int8, fp32\) nor an existing JSON file/);
  const none = lowbit(['simulate']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /--model is required/);
});

test('pack and run: the packed model is small, loads, and the integer runtime matches the training simulation', () => {
  for (const args of [
    ['--method', 'ste', '--wbits', '4', '--abits', '4'],
    ['--method', 'mpq', '--wbits', '2', '--abits', '4', '--mpq-budget', '0.1'],
    ['--method', 'ste', '--format', 'dybit', '--wbits', '3', '--abits', '3'],
    // The related methods end in the same formats (dropbits, slb: int; esb: esb) or in product codes (pq).
    ['--method', 'dropbits', '--wbits', '3', '--abits', '4'],
    ['--method', 'slb', '--wbits', '2', '--abits', '4'],
    ['--method', 'esb', '--wbits', '3', '--abits', '4'],
    ['--method', 'pq', '--abits', 'none', '--pq-k', '16', '--pq-layer-steps', '2'],
  ]) {
    const out = tmpDir();
    const q = quantize([...args, '--epochs', '1', '--out', out]);
    assert.equal(q.status, 0, q.stderr);
    const accuracy = (JSON.parse(q.stdout) as { finalAccuracy: number }).finalAccuracy;
    const file = path.join(out, 'model.lowbit');
    const p = lowbit(['pack', '--model', out, '--out', file, '--json']);
    assert.equal(p.status, 0, p.stderr);
    const rep = JSON.parse(p.stdout) as {
      bytes: number;
      tensorBytes: number;
      manifestBytes: number;
      compressionVsFp32: number;
      bitsPerWeight: number;
    };
    assert.ok(rep.bytes <= 1.02 * (rep.tensorBytes + rep.manifestBytes), 'container overhead within 2%');
    assert.ok(rep.compressionVsFp32 > 4, `${args.join(' ')}: ${rep.compressionVsFp32}x`);
    const r = lowbit(['run', '--model', file, '--data-dir', data, '--compare', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const run = JSON.parse(r.stdout) as {
      accuracy: number;
      images: number;
      vsSimulation: { images: number; top1Agreement: number; simulationAccuracy: number };
    };
    assert.equal(run.images, 200);
    assert.ok(Math.abs(run.accuracy - accuracy) <= 0.01, `${args.join(' ')}: runtime ${run.accuracy}, simulation ${accuracy}`);
    // The rebuilt simulation scores what the quantize run reported; the runtime follows it image by image.
    assert.equal(run.vsSimulation.images, 200);
    assert.ok(
      Math.abs(run.vsSimulation.simulationAccuracy - accuracy) < 1e-9,
      `${args.join(' ')}: simulation ${run.vsSimulation.simulationAccuracy}`,
    );
    assert.ok(run.vsSimulation.top1Agreement >= 0.99, `${args.join(' ')}: top-1 agreement ${run.vsSimulation.top1Agreement}`);
    // The accelerator model fetches product-coded layers at their packed size through a codebook lookup.
    const sim = lowbit(['simulate', '--model', out, '--json']);
    assert.equal(sim.status, 0, sim.stderr);
    const coded = (JSON.parse(sim.stdout) as { layers: { name: string; energyPj: { decoder: number } }[] }).layers.filter(
      (l) => l.energyPj.decoder > 0,
    );
    if (args.includes('pq'))
      assert.deepEqual(
        coded.map((l) => l.name),
        ['conv2', 'fc1', 'fc2'],
      );
    const onnx = lowbit(['export', '--model', file, '--format', 'onnx', '--out', path.join(out, 'model.onnx')]);
    assert.equal(onnx.status, 0, onnx.stderr);
    assert.match(onnx.stdout, /ONNX opset (19|21)/);
    const tfjs = lowbit(['export', '--model', file, '--format', 'tfjs', '--out', path.join(out, 'tfjs')]);
    assert.equal(tfjs.status, 0, tfjs.stderr);
    assert.ok(existsSync(path.join(out, 'tfjs', 'model.json')) && existsSync(path.join(out, 'tfjs', 'weights.bin')));
  }
  const bad = path.join(tmpDir(), 'bad.lowbit');
  writeFileSync(bad, 'LBPK garbage that is long enough');
  const r = lowbit(['run', '--model', bad, '--data-dir', data]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.lowbit: packed model version \d+ is not supported \(expected 1 or 2\)/);
});

test('search: budgets solved, configurations and baselines retrained and simulated, front.json written', () => {
  const out = tmpDir();
  const r = lowbit([
    'search',
    '--from',
    fp,
    '--data-dir',
    data,
    '--out',
    out,
    '--budgets',
    '0.6,0.9',
    '--epochs',
    '1',
    '--batch-size',
    '32',
    '--calibration-images',
    '64',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    points: { kind: string; budget: number | null; accuracy: number; predictedCost: number; speedupVsInt8: number; atW4A4?: boolean }[];
    int8Cost: number;
  };
  // The last point is solved at exactly the cost of uniform W4A4.
  assert.deepEqual(
    res.points.map((p) => (p.atW4A4 ? 'searched@w4a4' : `${p.kind}${p.budget ?? ''}`)),
    ['uniform-w8a8', 'uniform-w4a4', 'searched0.6', 'random0.6', 'searched0.9', 'random0.9', 'searched@w4a4'],
  );
  assert.ok(res.points[6].predictedCost <= res.points[1].predictedCost + 1e-6);
  for (const p of res.points) {
    assert.ok(p.accuracy > 0.2 && p.speedupVsInt8 > 0, JSON.stringify(p));
    if (p.budget !== null) assert.ok(p.predictedCost <= p.budget * res.int8Cost + 1e-6);
  }
  assert.ok(existsSync(path.join(out, 'front.json')));
  const bad = lowbit(['search', '--from', fp, '--data-dir', data, '--out', tmpDir(), '--budgets', '0.01', '--plan-only']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /budget 0.01 is below the cheapest configuration \(0\.\d+ of INT8\)/);
});
