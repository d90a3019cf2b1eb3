// Fuzzing checkpoint files (seeded, ≥ 10 000 header mutations): bit flips, digit changes, garbled
// keys, hostile number tokens and shifted bytes in the header, and damage in the body. With the
// file's digest left as it was, every change must be refused. With the digest recomputed (a
// hostile writer), a file may be accepted only if every tensor it loads equals the original's:
// offsets, lengths and shapes cannot move weights, because tensors must tile the payload in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { tf } from '../../src/engine/tf.js';
import { makeRng, type Rng } from '../../src/data/rng.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { loadCheckpointBytes, saveCheckpoint, type CheckpointData } from '../../src/train/checkpoint.js';
import { engine } from '../helpers/compare.js';
import { tmpDir } from '../helpers/fixtures.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

await engine();

const NAME = 'fuzz.lbck';

async function original(): Promise<Buffer> {
  const { model } = await quantizeModel(tinyModel(), {
    weight: { format: 'mpq', bits: 2, granularity: 'channel' },
    activation: { format: 'int', bits: 4, signed: false },
    keepEndsAt8Bits: false,
  });
  tf.tidy(() => void model.apply(tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 4), { training: true }));
  const file = path.join(tmpDir(), NAME);
  const slots = model.trainableWeights.map((w) => [
    Float32Array.from({ length: w.shape.reduce((a: number, b) => a * (b ?? 1), 1) }, (_, i) => i / 7),
  ]);
  saveCheckpoint(file, {
    model,
    modelSpec: { zoo: 'tiny', dataset: 'mnist' },
    optimizer: { config: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4, nesterov: false }, state: { step: 12, slots } },
    state: { config: { epochs: 2 }, history: [], finished: false },
    arrays: { 'method/freq': Float32Array.from({ length: 40 }, (_, i) => i * 0.25) },
  });
  return readFileSync(file);
}

/** Every tensor a loaded checkpoint holds, in order, as raw bits. */
function tensors(ck: CheckpointData): Uint32Array[] {
  const out = ck.model.getWeights().map((w) => new Uint32Array(Float32Array.from(w.dataSync() as Float32Array).buffer));
  for (const s of ck.optimizer?.state.slots ?? []) for (const a of s) out.push(new Uint32Array(a.slice().buffer));
  for (const k of Object.keys(ck.arrays).sort()) out.push(new Uint32Array(ck.arrays[k].slice().buffer));
  return out;
}

const same = (a: Uint32Array[], b: Uint32Array[]) =>
  a.length === b.length && a.every((x, i) => x.length === b[i].length && x.every((v, j) => v === b[i][j]));

const TOKENS = ['NaN', '-1', '1e309', '0.5', 'null', '"x"', '[]', '{}', '-0', '4294967296', '1e-300', 'true'];

/** One change in the header JSON (bytes 12 .. 12 + hlen): returns the new bytes and whether the JSON length changed. */
function mutateHeader(buf: Buffer, rng: Rng): Buffer {
  const hlen = buf.readUInt32LE(8);
  const json = buf.subarray(12, 12 + hlen);
  const text = json.toString('latin1');
  const pick = (re: RegExp): number[] => [...text.matchAll(re)].map((m) => m.index!);
  const kind = rng.next();
  let next: string;
  if (kind < 0.3) {
    // A bit flip anywhere in the prefix or header.
    const b = Buffer.from(buf);
    for (let f = 1 + rng.int(3); f > 0; f--) b[rng.int(12 + hlen)] ^= 1 << rng.int(8);
    return b;
  } else if (kind < 0.6) {
    const at = pick(/\d/g);
    const i = at[rng.int(at.length)];
    const d = String((Number(text[i]) + 1 + rng.int(9)) % 10);
    next = text.slice(0, i) + d + text.slice(i + 1);
  } else if (kind < 0.75) {
    // A garbled key or string: one letter replaced.
    const at = pick(/[a-zA-Z]/g);
    const i = at[rng.int(at.length)];
    next = text.slice(0, i) + String.fromCharCode(97 + rng.int(26)) + text.slice(i + 1);
  } else if (kind < 0.9) {
    // A number replaced by a hostile token.
    const nums = [...text.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
    const m = nums[rng.int(nums.length)];
    next = text.slice(0, m.index) + TOKENS[rng.int(TOKENS.length)] + text.slice(m.index! + m[0].length);
  } else {
    // A byte deleted or inserted: everything after it shifts.
    const i = rng.int(text.length);
    next = rng.next() < 0.5 ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + '0' + text.slice(i);
  }
  const nj = Buffer.from(next, 'latin1');
  const pre = Buffer.from(buf.subarray(0, 12));
  // A careless writer keeps the old length; a hostile one fixes it.
  if (rng.next() < 0.7) pre.writeUInt32LE(nj.length, 8);
  return Buffer.concat([pre, nj, buf.subarray(12 + hlen)]);
}

/** The digest a writer who wanted the file accepted would put at the end. */
function resealed(b: Buffer): Buffer {
  const body = b.subarray(0, b.length - 32);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

test(
  'checkpoint fuzz: 10 000+ header mutations, none accepted with other weights; body damage always refused',
  { timeout: 600_000 },
  async () => {
    const good = await original();
    const base = tensors(await loadCheckpointBytes(good, NAME));
    const rng = makeRng(20261203);
    const counts = { header: 0, resealed: 0, body: 0, accepted: 0, acceptedResealed: 0, acceptedOtherWeights: 0 };
    const check = async (bytes: Buffer, resealedCase: boolean) => {
      let ck: CheckpointData;
      try {
        ck = await loadCheckpointBytes(bytes, NAME);
      } catch (e) {
        // One line naming the file: never a TypeError from deep inside.
        const msg = (e as Error).message;
        assert.ok(msg.startsWith(`${NAME}: `) && !msg.includes('\n'), `unexpected error: ${(e as Error).name}: ${msg}`);
        return;
      }
      counts.accepted++;
      if (resealedCase) counts.acceptedResealed++;
      if (!same(tensors(ck), base)) counts.acceptedOtherWeights++;
      ck.model.dispose();
    };
    for (let i = 0; i < 8000; i++) {
      const b = mutateHeader(good, rng);
      if (b.equals(good)) continue;
      counts.header++;
      await check(b, false);
    }
    for (let i = 0; i < 3000; i++) {
      const b = resealed(mutateHeader(good, rng));
      if (b.equals(good)) continue;
      counts.resealed++;
      await check(b, true);
    }
    const hlen = good.readUInt32LE(8);
    for (let i = 0; i < 1000; i++) {
      const b = Buffer.from(good);
      // Flips in the payload or the digest, or a cut anywhere.
      const flip = rng.next() < 0.8;
      if (flip) for (let f = 1 + rng.int(3); f > 0; f--) b[12 + hlen + rng.int(b.length - 12 - hlen)] ^= 1 << rng.int(8);
      counts.body++;
      await check(flip ? b : b.subarray(0, rng.int(b.length)), false);
    }
    console.log(`checkpoint fuzz: ${JSON.stringify(counts)}`);
    assert.ok(counts.header + counts.resealed >= 10_000, `${counts.header + counts.resealed} header mutations`);
    // Damage under the original digest is always caught.
    assert.equal(counts.accepted - counts.acceptedResealed, 0, 'a change under the original digest was accepted');
    assert.equal(counts.acceptedOtherWeights, 0, 'a mutated header loaded other weights');
  },
);

test('non-finite weights are refused at save and at load', async () => {
  const m = tinyModel();
  const dir = tmpDir();
  const w = m.getWeights();
  const bad = w.map((t, i) => (i === 0 ? tf.fill(t.shape, NaN) : t));
  m.setWeights(bad);
  assert.throws(
    () => saveCheckpoint(path.join(dir, 'nan.lbck'), { model: m, modelSpec: {} }),
    /refusing to save .*nan\.lbck: weight conv1\/kernel holds a non-finite value \(NaN\)/,
  );
  // A file written by someone else with an infinite weight, its digest correct.
  const ok = tinyModel();
  const file = path.join(dir, 'ok.lbck');
  saveCheckpoint(file, { model: ok, modelSpec: {} });
  const b = Buffer.from(readFileSync(file));
  const hlen = b.readUInt32LE(8);
  b.writeFloatLE(Infinity, 12 + hlen + 8);
  await assert.rejects(
    loadCheckpointBytes(resealed(b), 'inf.lbck'),
    /inf\.lbck: weight conv1\/kernel holds a non-finite value \(Infinity\) at 2/,
  );
});
