// Specs every format is exercised with by the conformance and fake-quantization tests.

/** Specs each format is exercised with (inputs to parseFormatSpec, so defaults are filled in). */
export const specsByFormat: Record<string, unknown[]> = {
  int: [
    ...[2, 3, 4, 8].map((bits) => ({ format: 'int', bits })),
    { format: 'int', bits: 4, granularity: 'channel' },
    { format: 'int', bits: 3, signed: false },
    { format: 'int', bits: 4, symmetric: false, signed: false },
    { format: 'int', bits: 5, symmetric: false, signed: true, granularity: 'channel' },
    { format: 'int', bits: 4, calibration: 'percentile', percentile: 99 },
    { format: 'int', bits: 3, calibration: 'mse', granularity: 'channel' },
    { format: 'int', bits: 1, signed: false },
  ],
  binary: [{ format: 'binary' }, { format: 'binary', granularity: 'tensor' }],
  ternary: [{ format: 'ternary' }, { format: 'ternary', granularity: 'tensor' }],
  po2: [
    { format: 'po2', bits: 2 },
    { format: 'po2', bits: 3 },
    { format: 'po2', bits: 4, granularity: 'channel' },
    { format: 'po2', bits: 5, calibration: 'maxabs' },
  ],
  lsq: [
    { format: 'lsq', bits: 2 },
    { format: 'lsq', bits: 4, granularity: 'channel' },
    { format: 'lsq', bits: 3, signed: false },
    { format: 'lsq', bits: 8 },
  ],
  pact: [
    { format: 'pact', bits: 2 },
    { format: 'pact', bits: 4, calibration: 'max' },
    { format: 'pact', bits: 8 },
  ],
  esb: [
    { format: 'esb', bits: 4, k: 1 },
    { format: 'esb', bits: 3, k: 0 },
    { format: 'esb', bits: 5, k: 2, granularity: 'channel' },
    { format: 'esb', bits: 4, k: 2 },
    { format: 'esb', bits: 6, k: 1 },
  ],
  dybit: [
    { format: 'dybit', bits: 4 },
    { format: 'dybit', bits: 3, kmax: 0 },
    { format: 'dybit', bits: 4, kmax: 3, granularity: 'channel' },
    { format: 'dybit', bits: 4, signed: false },
    { format: 'dybit', bits: 6, kmax: 2 },
  ],
  mpq: [
    { format: 'mpq', bits: 2 },
    { format: 'mpq', bits: 3, granularity: 'channel' },
    { format: 'mpq', bits: 4 },
  ],
};
