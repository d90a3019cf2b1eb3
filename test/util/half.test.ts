// Half precision: every binary16 value survives the round trip; any float rounds to the nearest
// representable half (ties to even), checked against the two neighbours found by search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHalf, toHalf } from '../../src/util/half.js';

test('every half value round-trips (both zeros, subnormals, infinities)', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = fromHalf(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(fromHalf(toHalf(v))));
    else assert.equal(toHalf(v), h, `0x${h.toString(16)} = ${v}`);
  }
  // Golden values (IEEE 754 binary16).
  assert.equal(fromHalf(0x3c00), 1);
  assert.equal(fromHalf(0x7bff), 65504);
  assert.equal(fromHalf(0x0001), 2 ** -24);
  assert.equal(toHalf(65520), 0x7c00); // halfway above the largest finite value rounds to infinity
});

// Sorted positive finite halves, for the nearest-value oracle.
const positives = Array.from({ length: 0x7c00 }, (_, h) => fromHalf(h));

test('floats round to the nearest half, ties to even', () => {
  fc.assert(
    fc.property(fc.float({ min: Math.fround(-65000), max: Math.fround(65000), noNaN: true }), (x) => {
      const a = Math.abs(x);
      let lo = 0,
        hi = positives.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (positives[mid] <= a) lo = mid;
        else hi = mid;
      }
      const dl = a - positives[lo],
        dh = positives[hi] - a;
      const want = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
      assert.equal(toHalf(a) & 0x7fff, want, `${x}`);
      assert.equal(toHalf(x) >>> 15, x < 0 || Object.is(x, -0) ? 1 : 0);
    }),
    { numRuns: 5000 },
  );
});
