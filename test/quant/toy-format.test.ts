// A number format is one file plus one registry line (issue 20's target): a toy format registered
// at test time — three levels {-s, 0, +s} with s the channel's largest magnitude — becomes a
// --format choice, trains through the native fake-quantization path its plan names, and its
// checkpoint packs, runs and exports like any other, with nothing else in the toolkit naming it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { registerFormat, parseFormatSpec, formatOf } from '../../src/quant/registry.js';
import type { FormatDef } from '../../src/quant/types.js';
import { channelCount, channelStats, safeScale } from '../../src/quant/numeric.js';
import { decodeUniform, encodeUniform, uniformLevels } from '../../src/quant/uniform.js';
import { runTraining } from '../../src/train/train.js';
import { engine } from '../helpers/compare.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';
import { cliInProcess as cli, deployInProcess } from '../helpers/cli-in-process.js';

await engine();

const toySchema = z
  .object({ format: z.literal('toy'), bits: z.literal(2).default(2), granularity: z.enum(['tensor', 'channel']).default('channel') })
  .strict();
type ToySpec = z.output<typeof toySchema>;
interface ToyParams {
  scale: number[];
  zeroPoint: number[];
}

/** The whole toy format: all a format declares. */
const toyFormat: FormatDef<ToySpec, ToyParams> = {
  name: 'toy' as never,
  schema: toySchema,
  summary: 'a toy: three levels {-s, 0, +s}, s the largest magnitude',
  examples: [{ format: 'toy' }, { format: 'toy', granularity: 'tensor' }],
  gradientRule: 'straight-through inside [-s, s], zero outside',
  roundsToNearest: true,
  fit(x, shape, spec) {
    const st = channelStats(x, channelCount(shape, spec.granularity === 'channel'));
    const scale = Array.from(st.min, (lo, c) => safeScale(Math.max(-lo, st.max[c])));
    return { scale, zeroPoint: scale.map(() => 0) };
  },
  encode: (x, shape, _s, p) => encodeUniform(x, shape, p, -1, 1),
  decode: (codes, shape, _s, p) => decodeUniform(codes, shape, p),
  channels: (p) => p.scale.length,
  levels: (_s, p, c) => uniformLevels(p.scale[c], 0, -1, 1),
  codeRange: () => [-1, 1],
  passes: (v, _s, p, c) => Math.abs(v) <= p.scale[c],
  plan: (_s, p) => ({ kind: 'uniform', scale: Float32Array.from(p.scale), zeroPoint: Float32Array.from(p.zeroPoint), qmin: -1, qmax: 1 }),
  storage: () => ({ kind: 'fixed', bitsPerValue: 2 }),
  hardware: () => ({ operandBits: 2, multiplierBits: 2, decoder: 'none', extraPassForFlagged: false }),
};

const data = tmpDir();
const fp = tmpDir();

before(async () => {
  writeIdxDataset(data, 256, 64);
  await runTraining({ model: 'lenet5', data: 'mnist', dataDir: data, epochs: 1, batchSize: 32, lr: 0.05, seed: 3 }, { outDir: fp });
});

test('a format registered at run time goes through the CLI, training, pack, run and both exports', async () => {
  const before = await cli(['quantize', '--from', fp, '--data-dir', data, '--method', 'ste', '--format', 'toy', '--out', tmpDir()]);
  assert.equal(before.code, 1);
  assert.match(before.err, /--format.*toy.*(invalid|Allowed choices)/i);
  registerFormat(toyFormat as never);
  assert.throws(() => registerFormat(toyFormat as never), /format 'toy' is already registered/);
  // Its spec is validated by its own schema, and the three levels are what it encodes to.
  assert.throws(() => parseFormatSpec({ format: 'toy', bits: 3 }), /invalid toy spec/);
  const spec = parseFormatSpec({ format: 'toy', granularity: 'tensor' });
  const x = Float32Array.from([-2, -1.1, 0.2, 0.9, 1.5]);
  const def = formatOf(spec);
  const p = def.fit(x, [5], spec);
  assert.deepEqual(Array.from(def.decode(def.encode(x, [5], spec, p), [5], spec, p)), [-2, -2, 0, 0, 2]);
  const out = tmpDir();
  const q = await cli(
    `quantize --from ${fp} --data-dir ${data} --method ste --format toy --epochs 1 --batch-size 32 --quiet --out ${out}`.split(' '),
  );
  assert.equal(q.code, 0, q.err);
  assert.match(q.out, /ste toy W2A4: test accuracy/);
  const run = await deployInProcess(out, data);
  assert.match(run, /accuracy \d+\.\d+% over 64 images/);
  // The integer runtime and the training simulation agree on every image.
  assert.match(run, /same top-1 on 100\.00% of images/);
});
