// Specs every format is exercised with by the conformance and fake-quantization tests: each
// format's own examples (FormatDef.examples), so a new format brings its test cases with it.
import { formatNames, formats } from '../../src/quant/registry.js';

/** Specs each format is exercised with (inputs to parseFormatSpec, so defaults are filled in). */
export const specsByFormat: Record<string, unknown[]> = Object.fromEntries(formatNames.map((n) => [n, [...formats[n].examples]]));
