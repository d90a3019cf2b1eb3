// Nothing lost, nothing mixed up (issue 19), end to end through the CLI on tiny data: no silent
// overwrite, one writer per run directory, honest resume, finished against unfinished runs,
// bounded reads, accelerator bounds and flags that cannot mean what they say.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lowbit, lowbitAsync, oneLineError, type CliResult } from '../helpers/cli.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';
import { runTraining } from '../../src/train/train.js';
import { runQuantization } from '../../src/train/quantize.js';

const data = tmpDir();
writeIdxDataset(data, 256, 64);
const small = ['--data-dir', data, '--batch-size', '32', '--quiet'];
/** A one-epoch lenet5 training into `out`. */
const trainArgs = (out: string, ...more: string[]) => [
  ...'train --model lenet5 --data mnist --epochs 1'.split(' '),
  ...small,
  '--out',
  out,
  ...more,
];
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const ckpt = (dir: string) => path.join(dir, 'checkpoint.lbck');

function ok(r: CliResult): CliResult {
  assert.equal(r.status, 0, r.stderr);
  return r;
}

class Interrupt extends Error {}

/** A run stopped after its first of `epochs` epochs (as a kill -9 leaves it). */
async function unfinishedTrain(epochs: number): Promise<string> {
  const out = tmpDir();
  await assert.rejects(
    runTraining(
      { model: 'lenet5', data: 'mnist', dataDir: data, epochs, batchSize: 32, lr: 0.05, seed: 1 },
      {
        outDir: out,
        events: {
          onEpoch: () => {
            throw new Interrupt('stop');
          },
        },
      },
    ),
    Interrupt,
  );
  return out;
}

let fp = '';
before(() => {
  fp = tmpDir();
  ok(lowbit(trainArgs(fp)));
});

test('no silent overwrite: a finished run needs --resume or --force; never into --from; never an empty --out', () => {
  const before = sha(ckpt(fp));
  oneLineError(lowbit(trainArgs(fp)), /--out .* already holds a run .*; pass --resume to continue it or --force to replace it/);
  assert.equal(sha(ckpt(fp)), before, 'the finished run is untouched');
  oneLineError(lowbit(trainArgs('')), /--out: empty path/);
  oneLineError(
    lowbit(['quantize', '--from', fp, '--out', fp, '--method', 'ste', ...small]),
    /--out .* is the run --from reads .*choose another directory/,
  );
  const inside = path.join(fp, 'q');
  oneLineError(
    lowbit(['quantize', '--from', ckpt(fp), '--out', inside, '--method', 'ste', ...small]),
    /--out .*q is inside the run --from reads/,
  );
  assert.ok(!existsSync(inside), 'nothing created inside the FP run');
  assert.equal(sha(ckpt(fp)), before);
  const q = tmpDir();
  const quantize = (...more: string[]) =>
    lowbit(['quantize', '--from', fp, '--out', q, '--method', 'ste', '--epochs', '1', ...small, ...more]);
  ok(quantize());
  const qsha = sha(ckpt(q));
  oneLineError(quantize(), /already holds a run/);
  assert.equal(sha(ckpt(q)), qsha);
  oneLineError(quantize('--resume', '--force'), /--resume and --force contradict each other/);
  ok(quantize('--force', '--seed', '2'));
  assert.equal((JSON.parse(readFileSync(path.join(q, 'config.json'), 'utf8')) as { seed: number }).seed, 2);
  // --force on a copy: the replaced run's files go first, so nothing of it is mixed in.
  const r = tmpDir();
  ok(lowbit(trainArgs(r)));
  ok(lowbit(trainArgs(r, '--force', '--seed', '5')));
  const cfg = JSON.parse(readFileSync(path.join(r, 'config.json'), 'utf8')) as { seed: number };
  const info = JSON.parse(ok(lowbit(['checkpoint', 'info', r, '--json'])).stdout) as { status: { finished: boolean } };
  assert.equal(cfg.seed, 5);
  assert.equal(info.status.finished, true);
});

test('one writer per run directory: a second gets one line naming the holder; a dead holder is taken over', async () => {
  const out = tmpDir();
  // Long enough (40 short epochs) that the second writer arrives while the first works.
  const first = lowbitAsync(['train', '--model', 'lenet5', '--data', 'mnist', '--epochs', '40', ...small, '--seed', '1', '--out', out]);
  const lock = path.join(out, '.lowbit.lock');
  const deadline = Date.now() + 60_000;
  while (!existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(existsSync(lock), 'the first writer holds the lock');
  const second = lowbit(trainArgs(out, '--seed', '9', '--force'));
  const code = await new Promise((r) => first.once('exit', r));
  assert.equal(code, 0);
  oneLineError(second, new RegExp(`is being written by train \\(pid ${first.pid} on ${os.hostname()}, since .*\\); wait for it to finish`));
  // The folder holds one run, whole: the first one's settings, checkpoint and metrics.
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as { seed: number; epochs: number };
  const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { config: { seed: number }; history: unknown[] };
  assert.deepEqual([cfg.seed, cfg.epochs, metrics.config.seed, metrics.history.length], [1, 40, 1, 40]);
  assert.ok(!existsSync(lock), 'released at exit');
  // A lock left by a process that is gone (kill -9) is stale on this host and taken over.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const out2 = tmpDir();
  writeFileSync(path.join(out2, '.lowbit.lock'), JSON.stringify({ pid: dead, host: os.hostname(), command: 'train', startedAt: 'then' }));
  ok(lowbit(trainArgs(out2)));
  // A lock held on another host cannot be checked from here: reported, never broken.
  const out3 = tmpDir();
  writeFileSync(path.join(out3, '.lowbit.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', command: 'quantize', startedAt: 'then' }));
  oneLineError(
    lowbit(trainArgs(out3)),
    /being written by quantize \(pid 1 on elsewhere.*remove .*\.lowbit\.lock if that process is not lowbit or its host is down/,
  );
});

test('honest resume: every setting and the FP checkpoint itself must match; epochs change only with --extend-epochs', () => {
  const r = tmpDir();
  ok(lowbit(trainArgs(r, '--no-augment')));
  // --resume alone continues with the run's own settings (--no-augment included).
  ok(lowbit(['train', '--out', r, '--resume', '--quiet']));
  oneLineError(lowbit(['train', '--out', r, '--resume', '--seed', '9']), /--resume: .* was trained with seed=1, but this run has seed=9/);
  oneLineError(lowbit(['train', '--out', r, '--resume', '--augment']), /was trained with augment=false, but this run has augment=true/);
  const cfgBefore = readFileSync(path.join(r, 'config.json'), 'utf8');
  oneLineError(
    lowbit(['train', '--out', r, '--resume', '--epochs', '2']),
    /was trained with epochs=1, but this run has epochs=2 \(pass --extend-epochs/,
  );
  assert.equal(readFileSync(path.join(r, 'config.json'), 'utf8'), cfgBefore, 'a refused resume leaves config.json alone');
  oneLineError(lowbit(trainArgs(r, '--extend-epochs', '--epochs', '2')), /--extend-epochs .* needs --resume/);
  const ext = JSON.parse(ok(lowbit(['train', '--out', r, '--resume', '--epochs', '2', '--extend-epochs', '--json'])).stdout) as {
    history: unknown[];
  };
  assert.equal(ext.history.length, 2);
  const saved = JSON.parse(readFileSync(path.join(r, 'config.json'), 'utf8')) as { threads: number };
  if (saved.threads > 1)
    oneLineError(
      lowbit(['train', '--out', r, '--resume', '--threads', '1']),
      new RegExp(`was trained with threads=${saved.threads}, but this run has threads=1`),
    );
  // A quantization resumed after its FP checkpoint was replaced at the same path.
  const q = tmpDir();
  ok(lowbit(['quantize', '--from', r, '--out', q, '--method', 'ste', '--epochs', '1', ...small]));
  ok(lowbit(trainArgs(r, '--force', '--seed', '3')));
  oneLineError(
    lowbit(['quantize', '--out', q, '--resume', '--epochs', '2', '--extend-epochs', '--quiet']),
    /--resume: .* was quantized from a checkpoint with sha256 [0-9a-f]{12}…, but .* is now [0-9a-f]{12}…; start a new run/,
  );
});

test('unfinished runs: quantize, pack, simulate, export and search refuse them unless --allow-partial, and then say so', async () => {
  const u = await unfinishedTrain(3);
  const info = JSON.parse(ok(lowbit(['checkpoint', 'info', u, '--json'])).stdout) as { status: { finished: boolean; done: number } };
  assert.deepEqual([info.status.finished, info.status.done], [false, 1]);
  const partial = /is an unfinished run \(1 of 3 epochs\); finish it with --resume, or pass --allow-partial/;
  oneLineError(lowbit(['quantize', '--from', u, '--out', tmpDir(), '--method', 'ptq', ...small]), partial);
  oneLineError(lowbit(['search', '--from', u, '--out', tmpDir(), '--data-dir', data]), partial);
  const q = tmpDir();
  const r = ok(lowbit(['quantize', '--from', u, '--out', q, '--method', 'ptq', '--allow-partial', ...small]));
  assert.match(r.stderr, /note: .* is an unfinished run \(1 of 3 epochs\) \(used as it is\)/);
  // A quantization stopped after one of its two epochs.
  const uq = tmpDir();
  await assert.rejects(
    runQuantization(
      { from: fp, method: 'ste', wbits: 4, abits: 4, epochs: 2, batchSize: 32, dataDir: data },
      {
        outDir: uq,
        events: {
          onEpoch: () => {
            throw new Interrupt('stop');
          },
        },
      },
    ),
    Interrupt,
  );
  const file = path.join(tmpDir(), 'm.lowbit');
  const unfinished = /is an unfinished run \(1 of 2 epochs\)/;
  oneLineError(lowbit(['pack', '--model', uq, '--out', file]), unfinished);
  assert.ok(!existsSync(file));
  oneLineError(lowbit(['simulate', '--model', uq]), unfinished);
  oneLineError(lowbit(['export', '--model', uq, '--out', path.join(tmpDir(), 'm.onnx')]), unfinished);
  for (const args of [
    ['pack', '--model', uq, '--out', file],
    ['simulate', '--model', uq],
    ['export', '--model', uq, '--out', path.join(tmpDir(), 'm.onnx')],
  ])
    assert.match(ok(lowbit([...args, '--allow-partial'])).stderr, /note: .* unfinished run \(1 of 2 epochs\) \(used as it is/);
});

test('bounded reads: /dev/zero as a model, checkpoint or accelerator is refused in seconds', () => {
  const t0 = Date.now();
  oneLineError(lowbit(['run', '--model', '/dev/zero'], { timeoutMs: 30_000 }), /\/dev\/zero: not a lowbit packed model \(bad magic\)/);
  oneLineError(
    lowbit(['quantize', '--from', '/dev/zero', '--out', tmpDir(), '--method', 'ptq'], { timeoutMs: 30_000 }),
    /\/dev\/zero: not a lowbit checkpoint \(bad magic\)/,
  );
  oneLineError(
    lowbit(['simulate', '--model', fp, '--accel', '/dev/zero'], { timeoutMs: 30_000 }),
    /\/dev\/zero: more than the 1048576-byte limit of an accelerator config/,
  );
  oneLineError(lowbit(['checkpoint', 'info', '/dev/zero'], { timeoutMs: 30_000 }), /not a lowbit checkpoint/);
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
});

test('accelerator numbers outside real hardware are refused; results are never NaN', () => {
  const base = JSON.parse(readFileSync('src/hw/presets/bitfusion.json', 'utf8')) as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ clockMHz: 1e308 }, /clockMHz: Too big: expected number to be <=100000/],
    [{ clockMHz: 1e-9 }, /clockMHz: Too small/],
    [{ dramGBps: 1e-30 }, /dramGBps: Too small/],
    [{ sramKB: { weights: 1e-12, activations: 64, outputs: 64 } }, /sramKB\.weights: Too small/],
    [{ sramKB: { weights: 64, activations: 1e300, outputs: 64 } }, /sramKB\.activations: Too big/],
  ];
  for (const [change, re] of cases) {
    const f = path.join(tmpDir(), 'accel.json');
    writeFileSync(f, JSON.stringify({ ...base, ...change }));
    oneLineError(lowbit(['simulate', '--model', fp, '--accel', f]), re);
  }
});

test('flags that cannot mean what they say are refused by the method and format schemas', () => {
  const q = (...a: string[]) => lowbit(['quantize', '--from', fp, '--out', tmpDir(), ...small, ...a]);
  oneLineError(
    q('--method', 'ste', '--format', 'binary', '--wbits', '4'),
    /--format binary stores 1 bit per weight; --wbits 4 does not apply/,
  );
  oneLineError(q('--method', 'lsq', '--format', 'binary'), /method lsq trains lsq weights; --format binary does not apply/);
  oneLineError(q('--method', 'pq', '--wbits', '3'), /method pq stores product codes; --wbits 3 does not apply/);
  oneLineError(q('--method', 'ste', '--augment', '--no-augment'), /--augment and --no-augment contradict each other/);
  oneLineError(q('--method', 'ptq', '--epochs', '3'), /method ptq calibrates and does not retrain; --epochs 3 does not apply/);
  oneLineError(
    q('--method', 'ste', '--calibration-batches', '4'),
    /--calibration-batches applies to methods that calibrate without retraining \(ptq\); method ste calibrates on its training batches/,
  );
  oneLineError(
    q('--method', 'ste', '--abits', 'none', '--aformat', 'dybit'),
    /--aformat dybit needs quantized activations; --abits is none/,
  );
  oneLineError(lowbit(trainArgs(tmpDir(), '--threads', '1000')), /--threads 1000: expected 1 to \d+ \(the cores of this machine\)/);
  oneLineError(lowbit(trainArgs('/etc/hostname/run')), /cannot create the directory: .*not a directory \(ENOTDIR\)/);
  // Binary without --wbits stores what it says.
  const out = tmpDir();
  const r = JSON.parse(
    ok(lowbit(['quantize', '--from', fp, '--out', out, '--method', 'ste', '--format', 'binary', '--epochs', '1', ...small, '--json']))
      .stdout,
  ) as {
    options: { wbits: number };
  };
  assert.equal(r.options.wbits, 1);
  // A packed model knows its dataset: another one of the same shape is refused, not scored at 10%.
  const file = path.join(out, 'model.lowbit');
  ok(lowbit(['pack', '--model', out, '--out', file]));
  oneLineError(
    lowbit(['run', '--model', file, '--data', 'fashion-mnist', '--data-dir', data]),
    /trained on mnist; --data fashion-mnist is another dataset/,
  );
  ok(lowbit(['run', '--model', file, '--data-dir', data]));
});

test('search: --plan-only writes nowhere; a finished search needs --resume or --force; report reads a search alone', () => {
  const cwd = tmpDir();
  const plan = ok(
    lowbit(['search', '--from', path.resolve(fp), '--plan-only', '--budgets', '0.6', '--calibration-images', '32', '--data-dir', data], {
      cwd,
    }),
  );
  assert.match(plan.stdout, /uniform-w8a8/);
  assert.deepEqual(readdirSync(cwd), [], 'plan-only wrote something');
  const s = tmpDir();
  const front = {
    settings: {},
    complete: true,
    points: [
      { kind: 'searched', budget: 0.5, accuracy: 0.9, latencyMs: 1, energyUj: 2, weightBytes: 3, speedupVsFp32: 4, speedupVsInt8: 2 },
    ],
  };
  writeFileSync(path.join(s, 'front.json'), JSON.stringify(front));
  oneLineError(
    lowbit(['search', '--from', fp, '--out', s, '--budgets', '0.6', '--data-dir', data]),
    /--out .* already holds a search .*--resume .*--force/,
  );
  const html = path.join(tmpDir(), 'r.html');
  ok(lowbit(['report', '--runs', s, '--out', html]));
  assert.ok(existsSync(html));
});

test('a diverged training stops with one line and leaves its run unfinished', () => {
  const out = tmpDir();
  const r = lowbit(['train', '--model', 'lenet5', '--data', 'mnist', '--epochs', '2', ...small, '--lr', '100', '--out', out]);
  oneLineError(r, /training diverged at epoch 1, step \d+ \(loss .*\); the run is left unfinished after epoch 0; lower --lr/);
  const m = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { finished: boolean; stopped: string };
  assert.equal(m.finished, false);
  assert.match(m.stopped, /diverged/);
});
