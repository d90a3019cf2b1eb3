// A retraining method is one file plus one registry line (issue 20's target): a toy method
// registered at test time gets a --method choice, its options under its name, flags generated
// from its schema (with their validation), its summary printed by the CLI, and its checkpoint
// packs, runs and exports like any other. Nothing else in the toolkit names it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { registerMethod } from '../../src/train/methods/registry.js';
import { methodLayers, standardConfig, type MethodContext, type MethodRun, type QuantMethod } from '../../src/train/methods/method.js';
import { runTraining } from '../../src/train/train.js';
import { engine } from '../helpers/compare.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';
import { cliInProcess, deployInProcess } from '../helpers/cli-in-process.js';

await engine();

const data = tmpDir();
const fp = tmpDir();

interface ToySummary {
  method: 'toy';
  steps: number;
  damping: number;
  layers: number;
}

/** A toy method: plain QAT that counts its steps and reports a damping factor it was given. */
const toyMethod = {
  name: 'toy',
  summary: 'a toy: QAT that counts its steps',
  retrains: true,
  weightFormats: 'any',
  options: z.object({ damping: z.number().gt(0).max(1).default(0.5).describe('a factor the toy only reports') }).strict(),
  quantizeConfig: standardConfig,
  start(ctx: MethodContext): MethodRun {
    const o = z.object({ damping: z.number().default(0.5) }).parse(ctx.options ?? {});
    let steps = 0;
    return {
      afterStep: () => void steps++,
      status: () => `toy ${steps} steps`,
      summary: (): ToySummary & Record<string, unknown> => ({
        method: 'toy',
        steps,
        damping: o.damping,
        layers: methodLayers(ctx.model, ctx.plan).length,
      }),
      saveState: () => ({ state: { steps }, arrays: {} }),
      loadState: (s) => void (steps = (s as { steps: number }).steps),
    };
  },
  describe: (s: unknown) => [
    `toy: ${(s as ToySummary).steps} steps over ${(s as ToySummary).layers} layers, damping ${(s as ToySummary).damping}`,
  ],
} satisfies QuantMethod;

const cli = cliInProcess;

before(async () => {
  writeIdxDataset(data, 256, 64);
  await runTraining({ model: 'lenet5', data: 'mnist', dataDir: data, epochs: 1, batchSize: 32, lr: 0.05, seed: 3 }, { outDir: fp });
  registerMethod(toyMethod);
});

test('a method registered at run time goes through the CLI, its summary, pack, run and export', async () => {
  const out = tmpDir();
  const q = await cli(
    `quantize --from ${fp} --data-dir ${data} --method toy --toy-damping 0.25 --epochs 1 --batch-size 32 --quiet --out ${out}`.split(' '),
  );
  assert.equal(q.code, 0, q.err);
  assert.match(q.out, /toy int W4A4: test accuracy/);
  assert.match(q.out, /toy: 8 steps over 3 layers, damping 0\.25/);
  // Its flags are generated with its schema's validation, and its options stay its own.
  const bad = await cli(['quantize', '--from', fp, '--data-dir', data, '--method', 'toy', '--toy-damping', '2', '--out', tmpDir()]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /invalid quantize options: toy\.damping: Too big/);
  const other = await cli(['quantize', '--from', fp, '--data-dir', data, '--method', 'ste', '--toy-damping', '0.5', '--out', tmpDir()]);
  assert.match(other.err, /toy options need --method toy \(the method is ste\)/);
  const help = await cli(['quantize', '--help']);
  assert.match(help.out + help.err, /--toy-damping <value>\s+toy: a factor the toy only reports \(default\s+0\.5\)/);
  // Its checkpoint is a quantized model like any other.
  assert.match(await deployInProcess(out, data), /accuracy \d+\.\d+% over 64 images/);
});
