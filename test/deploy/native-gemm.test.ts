// The native integer conv (panel gathering, blocked AVX2 GEMM, epilogue) against the TypeScript
// one on random geometries: odd sizes, padding, strides, outputs not a multiple of the 16-channel
// block, reductions not a multiple of 16, small levels (maddubs with int16 sums), 8-bit levels
// (the exact 16-bit kernel), signed grids (offset correction), weights stored at 2 and 4 bits
// through a level table, float outputs and grid outputs (uniform thresholds by shift, others by
// search, ReLU floors), and shapes large enough to span several panels and work items.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeConv, prepareNativeConv, qconvKernels, type NativeConv } from '../../src/deploy/runtime/native-conv.js';
import { engine } from '../helpers/compare.js';
import { corpusAgainstTypeScript, largeLayersAgainstTypeScript, type ByteConv } from '../helpers/byte-conv-check.js';

const hasNative = await engine();
const native: ByteConv = {
  prepare: prepareNativeConv,
  run: (c, bytes, shape, g, out, target) => nativeConv(qconvKernels()!, c as NativeConv, bytes, shape, g, out, target),
};

test('native integer conv equals the TypeScript conv', { skip: !hasNative }, () => {
  // The corpus's weights all fit int8, so the native path takes every case.
  corpusAgainstTypeScript(native, () => false);
});

test('native integer conv splits large layers over panels and channel blocks exactly', { skip: !hasNative }, () => {
  largeLayersAgainstTypeScript(native, (cv, table) => {
    const meta = (cv as NativeConv).meta;
    assert.equal(meta[5], table ? 4 : 8, 'weights stored at 4 bits through the table');
    assert.equal(meta[4], table ? 0 : 1, 'kernel chosen by the value ranges');
  });
});
