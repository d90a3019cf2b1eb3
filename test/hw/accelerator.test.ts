// The accelerator model's arithmetic pinned by hand, Bit Fusion's performance factor,
// monotonicity in the bit widths, conservation of data, and the config validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { loadAccelerator, parseAccelerator, presets } from '../../src/hw/config.js';
import { costLayer, uniqueBytes, type LayerPrecision, type LayerShape } from '../../src/hw/layer.js';
import { tmpDir } from '../helpers/fixtures.js';

const bitfusion = loadAccelerator('bitfusion');

const dense = (K: number, N: number, batch = 1): LayerShape => ({
  name: 'fc',
  kind: 'dense',
  batch,
  inH: 1,
  inW: 1,
  inC: K,
  outH: 1,
  outW: 1,
  outC: N,
  kh: 1,
  kw: 1,
  strideH: 1,
  strideW: 1,
});

const conv = (h: number, cin: number, cout: number, k = 3, stride = 1, batch = 1): LayerShape => {
  const out = Math.floor((h + 2 * Math.floor(k / 2) - k) / stride) + 1;
  return {
    name: 'conv',
    kind: 'conv2d',
    batch,
    inH: h,
    inW: h,
    inC: cin,
    outH: out,
    outW: out,
    outC: cout,
    kh: k,
    kw: k,
    strideH: stride,
    strideW: stride,
  };
};

const uniform = (w: number, a: number, out = a): LayerPrecision => ({
  weightBits: w,
  inputBits: a,
  outputBits: out,
  weightStorageBits: w,
  flaggedShare: 0,
  decoder: 'none',
  float: false,
});

test('a 64x32 dense layer at W4A4 on the Bit Fusion preset, by hand', () => {
  const c = costLayer(dense(64, 32), uniform(4, 4, 32), bitfusion);
  // MACs 64·32. Bricks ⌈4/2⌉·⌈4/2⌉ = 4, so a 16-brick unit does 4 MACs: 16 rows × 4 lanes cover
  // K = 64 in one row tile, 32 columns cover N = 32: one cycle per output pixel, utilisation 1.
  assert.equal(c.macs, 2048);
  assert.equal(c.bricksPerMac, 4);
  assert.equal(c.computeCycles, 1);
  assert.equal(c.utilization, 1);
  // Everything fits on chip: weights 64·32·4/8 = 1024 B, inputs 64·4/8 = 32 B, outputs 32·32/8 = 128 B.
  assert.deepEqual(c.dramBytes, { weights: 1024, inputs: 32, outputs: 128, total: 1184 });
  // 12.8 GB/s at 500 MHz = 25.6 B/cycle: 1184 / 25.6 = 46.25 cycles, memory bound.
  assert.equal(c.memoryCycles, 46.25);
  assert.equal(c.bound, 'memory');
  // Energy per MAC (Horowitz 45 nm fits): 4 brick multiplies (0.00299·4 + 0.00104·2 pJ each),
  // 3 fusing adds at the mean width 4 (0.003125·4), one 32-bit accumulation (0.1 pJ) = 0.19366 pJ.
  assert.ok(Math.abs(c.energyPj.compute - 2048 * 0.19366) < 1e-9);
  // DRAM: 1184 B · 8 · 20.3 pJ/bit.
  assert.ok(Math.abs(c.energyPj.dram - 192281.6) < 1e-6);
  // SRAM: weights 2048·4 bits into the array + 1024·8 bits filled from DRAM, in the 64 KB buffer
  // (20 pJ/64 b at 32 KB, 100 at 1 MB, log-log: 20·5^0.2 pJ); inputs 64·4 + 32·8 bits at 32 KB
  // (20 pJ/64 b); outputs: 32 partial sums at 32 bits once + 32 outputs at 32 bits, at 16 KB (10·√2 pJ/64 b).
  const sram = 16384 * ((20 * 5 ** 0.2) / 64) + 512 * (20 / 64) + 2048 * ((10 * Math.SQRT2) / 64);
  assert.ok(Math.abs(c.energyPj.sram - sram) < 1e-6, `${c.energyPj.sram} vs ${sram}`);
  assert.equal(c.energyPj.decoder, 0);
  assert.ok(Math.abs(c.energyPj.total - (2048 * 0.19366 + 192281.6 + sram)) < 1e-6);
});

test('a depthwise 3x3 layer maps badly: each channel takes the array alone, by hand', () => {
  // 16 channels, multiplier 1, 8×8 output, W4A4 on Bit Fusion (16 rows × 4 lanes, 32 columns).
  const s: LayerShape = { ...conv(8, 16, 16), kind: 'depthwise' };
  const c = costLayer(s, uniform(4, 4), bitfusion);
  // K = 9 per output (no reduction over channels): 9 · 16 · 64 MACs.
  assert.equal(c.macs, 9 * 16 * 64);
  // One row tile and one column tile per channel, 64 pixels each, the channels in turn: 16 · 64 cycles.
  assert.equal(c.computeCycles, 16 * 64);
  // 9 MACs a cycle out of 16 · 4 · 32: 0.44% of the array, where a pointwise conv of the same size keeps it full.
  assert.ok(Math.abs(c.utilization - 9 / (64 * 32)) < 1e-12, `${c.utilization}`);
  const pointwise = costLayer({ ...conv(8, 64, 32, 1), name: 'pw' }, uniform(4, 4), bitfusion);
  assert.equal(pointwise.utilization, 1);
  // Weights are 9 per channel: 9 · 16 · 4 bits = 72 bytes, read once; the 8×8×16 input once (512 bytes at 4 bits).
  assert.equal(c.dramBytes.weights, 72);
  assert.equal(c.dramBytes.inputs, (8 * 8 * 16 * 4) / 8);
  assert.ok(uniqueBytes(s, uniform(4, 4)) <= c.dramBytes.total);
});

test("Bit Fusion's performance factor: 8x8, 4x4 and 2x2 operands take 16, 4 and 1 bricks", () => {
  // A large conv keeps the array fully used at every width, so compute cycles follow the bricks.
  const s = conv(16, 256, 256);
  const cyc = (w: number, a: number) => costLayer(s, uniform(w, a), bitfusion).computeCycles;
  assert.equal(cyc(8, 8) / cyc(4, 4), 4);
  assert.equal(cyc(4, 4) / cyc(2, 2), 4);
  assert.equal(cyc(8, 8) / cyc(8, 2), 4);
  // Widths between supported precisions round up (3 bits cost what 4 do); 1-bit weights take a 2-bit brick.
  assert.equal(cyc(3, 3), cyc(4, 4));
  assert.equal(cyc(1, 2), cyc(2, 2));
  // A fixed INT8 array gains nothing from narrower operands; 16-bit ones take four passes.
  const int8 = loadAccelerator('int8');
  const c8 = (w: number, a: number) => costLayer(s, uniform(w, a), int8).computeCycles;
  assert.equal(c8(4, 4), c8(8, 8));
  assert.equal(c8(16, 16), 4 * c8(8, 8));
});

test('MPQ flags cost one more brick pass; DyBit pays a decoder per weight fetch', () => {
  const s = conv(16, 128, 128);
  const base = costLayer(s, uniform(2, 4), bitfusion);
  const mpq = costLayer(s, { ...uniform(2, 4), flaggedShare: 0.25 }, bitfusion);
  // 2 bricks per MAC (1 weight brick × 2 activation bricks); a quarter of the MACs add 2 more.
  assert.equal(mpq.bricksPerMac, 2 + 0.25 * 2);
  assert.ok(Math.abs(mpq.computeCycles / base.computeCycles - 1.25) < 1e-12);
  assert.ok(mpq.energyPj.compute > base.energyPj.compute);
  const dy = costLayer(s, { ...uniform(3, 4), decoder: 'dybit' }, bitfusion);
  assert.ok(dy.energyPj.decoder > 0);
  assert.equal(dy.computeCycles, costLayer(s, uniform(3, 4), bitfusion).computeCycles);
});

const shapeArb = fc.oneof(
  fc
    .record({
      h: fc.integer({ min: 1, max: 32 }),
      cin: fc.integer({ min: 1, max: 300 }),
      cout: fc.integer({ min: 1, max: 300 }),
      k: fc.constantFrom(1, 3),
      stride: fc.constantFrom(1, 2),
      batch: fc.integer({ min: 1, max: 4 }),
    })
    .map((r) => conv(r.h, r.cin, r.cout, r.k, r.stride, r.batch)),
  fc
    .record({ K: fc.integer({ min: 1, max: 5000 }), N: fc.integer({ min: 1, max: 1000 }), batch: fc.integer({ min: 1, max: 64 }) })
    .map((r) => dense(r.K, r.N, r.batch)),
);
const bitsArb = fc.integer({ min: 1, max: 8 });

test('fewer bits never cost more cycles, DRAM bytes or energy (any layer, any preset)', () => {
  const accels = ['bitfusion', 'mpq65', 'int8'].map(loadAccelerator);
  fc.assert(
    fc.property(shapeArb, bitsArb, bitsArb, bitsArb, bitsArb, fc.constantFrom(0, 1, 2), (s, w1, w2, a1, a2, ai) => {
      const lo = uniform(Math.min(w1, w2), Math.min(a1, a2)),
        hi = uniform(Math.max(w1, w2), Math.max(a1, a2));
      const a = accels[ai];
      const cl = costLayer(s, lo, a),
        ch = costLayer(s, hi, a);
      assert.ok(cl.computeCycles <= ch.computeCycles, 'compute cycles');
      assert.ok(cl.dramBytes.total <= ch.dramBytes.total + 1e-9, 'DRAM bytes');
      assert.ok(cl.cycles <= ch.cycles + 1e-9, 'cycles');
      assert.ok(cl.energyPj.total <= ch.energyPj.total * (1 + 1e-12), `energy ${cl.energyPj.total} > ${ch.energyPj.total}`);
    }),
    { numRuns: 300 },
  );
});

test('DRAM traffic is never below the unique data a layer touches', () => {
  fc.assert(
    fc.property(shapeArb, bitsArb, bitsArb, fc.constantFrom('bitfusion', 'mpq65', 'int8', 'fp32'), (s, w, a, name) => {
      const p = uniform(w, a);
      const accel = loadAccelerator(name);
      const c = costLayer(s, p, accel);
      const unique = accel.arithmetic === 'fp32' ? uniqueBytes(s, uniform(32, 32)) : uniqueBytes(s, p);
      assert.ok(c.dramBytes.total >= unique - 1e-9, `${c.dramBytes.total} < ${unique}`);
      assert.ok(c.utilization > 0 && c.utilization <= 1);
    }),
    { numRuns: 300 },
  );
});

test('accelerator configs are validated with clear messages; presets name their sources', () => {
  for (const name of Object.keys(presets)) {
    const a = loadAccelerator(name);
    assert.ok(Object.keys(a.sources).length > 0, `${name} states its sources`);
  }
  const good = presets.bitfusion as Record<string, unknown>;
  assert.throws(() => parseAccelerator({ ...good, clockMHz: -1 }), /clockMHz: Too small|clockMHz/);
  assert.throws(() => parseAccelerator({ ...good, precisions: [8, 4] }), /precisions must be ascending/);
  assert.throws(() => parseAccelerator({ ...good, energyTable: 'nope' }), /unknown energy table 'nope'/);
  assert.throws(() => parseAccelerator({ ...good, extra: 1 }), /Unrecognized key/);
  assert.throws(
    () => loadAccelerator('eyeriss'),
    /'eyeriss' is neither a preset \(bitfusion, mpq65, int8, fp32\) nor an existing JSON file/,
  );
  const dir = tmpDir();
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{ not json');
  assert.throws(() => loadAccelerator(bad), /bad\.json is not valid JSON/);
  const mine = path.join(dir, 'mine.json');
  writeFileSync(mine, JSON.stringify({ ...good, name: 'mine', array: { rows: 8, cols: 8 } }));
  assert.equal(loadAccelerator(mine).array.rows, 8);
});
