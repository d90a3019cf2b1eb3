// DropBits' per-weight arithmetic: the grid groups (by hand from the definition), the hard
// forward equals the int format at each weight's bit width, the multi-class STE gradients match
// finite differences of the soft expectation Σ π̃_j·g_j, the native kernels agree with the
// TypeScript ones, masks keep each bit with probability σ(θ), and the options are validated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropBackward, dropForward, dropGrid, maskUniform, sampleMasks } from '../../src/train/methods/dropbits-grid.js';
import { dropbitsOptionsSchema, settledBits } from '../../src/train/methods/dropbits.js';
import { fakeQuantArrays } from '../../src/quant/fake-quant.js';
import { parseFormatSpec } from '../../src/quant/registry.js';
import { engine, withNative } from '../helpers/compare.js';

const hasNative = await engine();

let seed = 11;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 32);

test('grid groups: the 2-bit points, then those added at 3 and at 4 bits', () => {
  const g = dropGrid(4, 2);
  // 4-bit narrow grid −7..7; 2 bits = {−4, 0, 4} (step 4); 3 bits adds ±2, ±6 (step 2); 4 bits the odd points.
  const byHand: Record<number, number> = { 0: 0, 4: 0, 2: 1, 6: 1, 1: 2, 3: 2, 5: 2, 7: 2 };
  assert.equal(g.q.length, 15);
  g.q.forEach((q, j) => assert.equal(g.group[j], byHand[Math.abs(q)], `q = ${q}`));
  const g3 = dropGrid(3, 3);
  assert.equal(g3.groups, 0);
  assert.deepEqual(Array.from(g3.group), [0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => dropGrid(4, 1), /2 <= minBits <= maxBits <= 8/);
});

test('the hard forward is the int format at each weight’s own bit width', () => {
  withNative(false, () => {
    const C = 3,
      n = C * 200;
    const alpha = Float32Array.of(0.01, 0.02, 0.005);
    const x = Float32Array.from({ length: n }, () => (rnd() - 0.5) * 0.3);
    const g = dropGrid(4, 2);
    const cases: [number[], number][] = [
      [[1, 1], 4],
      [[1, 0], 3],
      [[0, 1], 2], // bit 3 dropped drops bit 4 too
      [[0, 0], 2],
    ];
    for (const [m, bits] of cases) {
      const masks = Float32Array.from({ length: n * 2 }, (_, i) => (m[i % 2] ? 0.9 : 0.1));
      const out = new Float32Array(n);
      dropForward(x, alpha, g, masks, out);
      const scale = Array.from(alpha, (a) => a * 2 ** (4 - bits));
      const ref = fakeQuantArrays(x, [n / C, C], parseFormatSpec({ format: 'int', bits, granularity: 'channel' }), {
        scale,
        zeroPoint: [0, 0, 0],
      }).out;
      assert.deepEqual(Array.from(out), Array.from(ref), `masks ${m.join(',')}`);
    }
  });
});

/** The soft expectation Σ π̃_j·g_j of one weight, written out from the definition. */
function softValue(x: number, a: number, m: number[], kappa: number, maxBits: number, minBits: number): number {
  const g = dropGrid(maxBits, minBits);
  const sig = (u: number) => 1 / (1 + Math.exp(-u));
  let S = 0,
    num = 0;
  g.q.forEach((q, j) => {
    let M = 1;
    for (let k = 0; k < g.group[j]; k++) M *= m[k];
    const p = sig((a * (q + 0.5) - x) / (kappa * a)) - sig((a * (q - 0.5) - x) / (kappa * a));
    S += M * p;
    num += M * p * a * q;
  });
  return num / S;
}

test('multi-class STE: gradients of x, α and θ are those of the soft expectation (finite differences)', () => {
  withNative(false, () => {
    const kappa = 0.4,
      lam = 0.7,
      a = 0.05;
    const g = dropGrid(4, 2);
    for (let t = 0; t < 40; t++) {
      const x = (rnd() - 0.5) * 0.9;
      const u = [rnd(), rnd()],
        theta = [rnd() * 4 - 2, rnd() * 4 - 2];
      const mOf = (th: number[]) => th.map((v, k) => 1 / (1 + Math.exp(-(v + Math.log(u[k]) - Math.log(1 - u[k])) / lam)));
      const m = mOf(theta);
      const gy = rnd() * 2 - 1;
      const r = dropBackward(Float32Array.of(x), Float32Array.of(a), g, Float32Array.from(m), Float32Array.of(gy), kappa, lam);
      const h = 1e-6;
      const dx = (softValue(x + h, a, m, kappa, 4, 2) - softValue(x - h, a, m, kappa, 4, 2)) / (2 * h);
      assert.ok(Math.abs(r.gx[0] - gy * dx) < 1e-4 * Math.max(1, Math.abs(gy * dx)), `x = ${x}: ${r.gx[0]} vs ${gy * dx}`);
      // α: the hard point's own share q* plus the soft expectation's dependence through π̃.
      const dropped = m[0] <= 0.5 ? 2 : m[1] <= 0.5 ? 1 : 0;
      const bits = 4 - dropped,
        stride = 2 ** dropped,
        qm = 2 ** (bits - 1) - 1;
      const qHard = Math.max(-qm, Math.min(qm, Math.round(Math.fround(x / (a * stride))))) * stride;
      // The forward is Σ r_j·α·q_j with r one-hot: its α-derivative is q* plus Σ g_j·∂π̃_j/∂α, i.e. the soft
      // expectation's derivative without its own direct share Σ π̃_j·q_j (= soft value / α).
      const da = (softValue(x, a + h, m, kappa, 4, 2) - softValue(x, a - h, m, kappa, 4, 2)) / (2 * h);
      const wantA = gy * (qHard + da - softValue(x, a, m, kappa, 4, 2) / a);
      assert.ok(Math.abs(r.galpha[0] - wantA) < 1e-4 * Math.max(1, Math.abs(wantA)), `α at x = ${x}: ${r.galpha[0]} vs ${wantA}`);
      for (let k = 0; k < 2; k++) {
        const up = theta.slice(),
          dn = theta.slice();
        up[k] += h;
        dn[k] -= h;
        const dt = (gy * (softValue(x, a, mOf(up), kappa, 4, 2) - softValue(x, a, mOf(dn), kappa, 4, 2))) / (2 * h);
        assert.ok(Math.abs(r.gtheta[k] - dt) < 1e-4 * Math.max(1, Math.abs(dt)), `θ${k} at x = ${x}: ${r.gtheta[k]} vs ${dt}`);
      }
    }
  });
});

test('far outside the grid the weight gets no gradient (the clipping of the expectation)', () => {
  withNative(false, () => {
    const r = dropBackward(
      Float32Array.of(5),
      Float32Array.of(0.01),
      dropGrid(3, 2),
      Float32Array.of(0.9),
      Float32Array.of(1),
      1 / 3,
      2 / 3,
    );
    assert.equal(r.gx[0], 0);
  });
});

test('native kernels agree with the TypeScript ones', { skip: !hasNative && 'no native addon' }, () => {
  const C = 4,
    n = C * 5000;
  const alpha = Float32Array.of(0.01, 0.03, 0.02, 0.004);
  const x = Float32Array.from({ length: n }, () => (rnd() - 0.5) * 0.3);
  const gy = Float32Array.from({ length: n }, () => rnd() - 0.5);
  for (const [maxBits, minBits] of [
    [4, 2],
    [3, 2],
    [2, 2],
  ]) {
    const g = dropGrid(maxBits, minBits);
    const theta = Float64Array.from({ length: g.groups }, () => rnd() * 2 - 1);
    const masks = (on: boolean) => {
      const m = new Float32Array(n * g.groups);
      withNative(on, () => sampleMasks(theta, n, 2 / 3, 1234, m));
      return m;
    };
    const mn = masks(true),
      mt = masks(false);
    for (let i = 0; i < mn.length; i++) assert.ok(Math.abs(mn[i] - mt[i]) < 1e-6, `mask ${i}: ${mn[i]} vs ${mt[i]}`);
    const fwd = (on: boolean) => {
      const o = new Float32Array(n);
      withNative(on, () => dropForward(x, alpha, g, mt, o));
      return o;
    };
    assert.deepEqual(Array.from(fwd(true)), Array.from(fwd(false)), `forward at ${maxBits}/${minBits} bits`);
    const bn = withNative(true, () => dropBackward(x, alpha, g, mt, gy, 1 / 3, 2 / 3));
    const bt = withNative(false, () => dropBackward(x, alpha, g, mt, gy, 1 / 3, 2 / 3));
    for (let i = 0; i < n; i++)
      assert.ok(
        Math.abs(bn.gx[i] - bt.gx[i]) <= 1e-5 * (1 + Math.abs(bt.gx[i])),
        `gx ${i} (x ${x[i]}, α ${alpha[i % C]}): ${bn.gx[i]} vs ${bt.gx[i]}`,
      );
    for (let c = 0; c < C; c++) assert.ok(Math.abs(bn.galpha[c] - bt.galpha[c]) <= 1e-7 * (1 + Math.abs(bt.galpha[c])), `galpha ${c}`);
    for (let k = 0; k < g.groups; k++)
      assert.ok(Math.abs(bn.gtheta[k] - bt.gtheta[k]) <= 1e-7 * (1 + Math.abs(bt.gtheta[k])), `gtheta ${k}`);
  }
});

test('masks keep each bit with probability σ(θ); uniforms are spread over (0, 1)', () => {
  const theta = Float64Array.of(1.2, -0.4);
  const n = 40000,
    m = new Float32Array(2 * n);
  sampleMasks(theta, n, 2 / 3, 99, m);
  for (let k = 0; k < 2; k++) {
    let kept = 0;
    for (let i = 0; i < n; i++) kept += m[2 * i + k] > 0.5 ? 1 : 0;
    const p = 1 / (1 + Math.exp(-theta[k]));
    // 5 standard deviations of a binomial share.
    assert.ok(Math.abs(kept / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `bit ${k}: kept ${kept / n}, expected ${p}`);
  }
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 50000; i++) bins[Math.floor(maskUniform(7, i) * 10)]++;
  for (const b of bins) assert.ok(Math.abs(b - 5000) < 5 * Math.sqrt(4500), `uniform bins ${bins.join(',')}`);
});

test('settled bits and options', () => {
  const g = dropGrid(4, 2);
  assert.equal(settledBits(g, Float64Array.of(1, 1)), 4);
  assert.equal(settledBits(g, Float64Array.of(1, -1)), 3);
  assert.equal(settledBits(g, Float64Array.of(-1, 1)), 2);
  assert.throws(() => dropbitsOptionsSchema.parse({ dropRate: 1 }), /dropRate/);
  assert.throws(() => dropbitsOptionsSchema.parse({ minBits: 1 }), /minBits/);
  assert.throws(() => dropbitsOptionsSchema.parse({ speed: 2 }), /speed/);
});
