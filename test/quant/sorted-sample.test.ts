// SortedSample scores a grid in O(L log n) from prefix sums; it must agree with rounding every
// value to its nearest level and summing, which is what the po2 and dybit scale searches mean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { nearestIndex, SortedSample } from '../../src/quant/numeric.js';
import { dybitMagnitudes } from '../../src/quant/dybit.js';
import { formatOf, parseFormatSpec } from '../../src/quant/registry.js';

function bruteForce(v: ArrayLike<number>, levels: Float64Array): number {
  let e = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i] - levels[nearestIndex(levels, v[i])];
    e += d * d;
  }
  return e;
}

const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= 1e-9 * Math.max(scale, 1e-300);

test('SortedSample.squaredError equals the nearest-level error summed value by value', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 0, maxLength: 300 }),
      fc.uniqueArray(fc.double({ min: -12, max: 12, noNaN: true }), { minLength: 1, maxLength: 17 }),
      (values, lv) => {
        // Levels ascending; values drawn partly from the levels and their midpoints (the ties).
        const levels = Float64Array.from(lv).sort();
        const mids = Array.from(levels.slice(1), (l, i) => (l + levels[i]) / 2);
        const v = [...values, ...levels, ...mids];
        const s2 = v.reduce((a, x) => a + x * x, 0) + levels.reduce((a, l) => a + l * l, 0) * v.length;
        assert.ok(close(new SortedSample(v).squaredError(levels), bruteForce(v, levels), s2));
      },
    ),
  );
  assert.equal(new SortedSample([]).squaredError(Float64Array.of(0, 1)), 0);
});

/** The per-channel values of a channel-last tensor. */
function channel(x: Float32Array, C: number, c: number): number[] {
  return Array.from({ length: x.length / C }, (_, i) => x[i * C + c]);
}

test('po2 and dybit MSE fits land on the grid a brute-force search of the same candidates finds', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('po2', 'dybit'),
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      (format, bits, C, seed) => {
        let s = seed;
        const x = Float32Array.from({ length: 64 * C }, () => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const u = s / 2 ** 32 - 0.5;
          return Math.fround(u * u * u * 8); // heavy-tailed, so clipping is worth it
        });
        const spec = parseFormatSpec(
          format === 'po2' ? { format, bits, granularity: 'channel', calibration: 'mse' } : { format, bits, granularity: 'channel' },
        );
        const f = formatOf(spec);
        const p = f.fit(x, [64, C], spec);
        const q = f.decode(f.encode(x, [64, C], spec, p), [64, C], spec, p);
        for (let c = 0; c < C; c++) {
          const v = channel(x, C, c),
            got = channel(q, C, c);
          const err = v.reduce((a, xv, i) => a + (xv - got[i]) ** 2, 0);
          // Every candidate the search could have chosen: no better grid among them.
          const maxAbs = Math.max(...v.map(Math.abs));
          const candidates: Float64Array[] = [];
          if (format === 'po2')
            for (let i = 0; i < 64; i++) candidates.push(f.levels(spec, { scale: [Math.fround(maxAbs * 2 ** (-i / 64))] }, 0));
          else {
            const n = bits - 1;
            for (let k = 0; k <= n; k++)
              for (let i = 0; i <= 40; i++) {
                const scale = Math.fround((maxAbs * (1 - (0.7 * i) / 40)) / dybitMagnitudes(n, k)[2 ** n - 1]);
                candidates.push(f.levels(spec, { scale: [scale], kmax: [k] }, 0));
              }
          }
          const floor = Math.min(...candidates.map((l) => bruteForce(v, l)));
          assert.ok(err <= floor * (1 + 1e-6) + 1e-12, `${format} ${bits}b channel ${c}: fitted ${err} > best ${floor}`);
        }
      },
    ),
    { numRuns: 60 },
  );
});
