// A page script (bundled by test/runtime/browser-kernels.test.ts with esbuild): runs conv cases of
// the random-geometry corpus through the WebAssembly kernels in the browser — relaxed SIMD where the
// browser has it, or plain SIMD — and through the TypeScript conv (with a fused 2×2 max pool where the
// kernel can fuse one), and reports every case that differs.
import { convCase, type ConvCaseInput } from './conv-corpus.js';
import { prepareWasmConv, relaxedKernels, setRelaxedSimd, wasmPoolable } from '../../src/deploy/runtime/wasm-kernels.js';
import { geometry, intConv, maxPool } from '../../src/deploy/runtime/ops.js';
import { outputBytes } from '../../src/deploy/runtime/native-conv.js';
import { toBytes, type FValue, type QValue } from '../../src/deploy/runtime/values.js';

export interface CaseReport {
  ran: number;
  /** Cases also run with a fused 2×2 max pool. */
  pooled: number;
  onRelaxed: number;
  relaxedHere: boolean;
  differing: string[];
}

function runCases(cases: ConvCaseInput[], relaxed: boolean): CaseReport {
  const old = setRelaxedSimd(relaxed);
  const r: CaseReport = { ran: 0, pooled: 0, onRelaxed: 0, relaxedHere: relaxedKernels() !== null, differing: [] };
  try {
    for (const o of cases) {
      const k = convCase(o);
      if (!k) continue;
      const c = prepareWasmConv(k.wl, k.K, o.cout, k.inGrid, k.set ? { index: k.index, levels: k.set } : undefined);
      if (!c) {
        r.differing.push(`refused ${JSON.stringify(o)}`);
        continue;
      }
      r.ran++;
      if (c.kernels.relaxed) r.onRelaxed++;
      const want = intConv(k.levels, k.shape, k.wl, o.cout, k.g, k.out);
      const x = toBytes({ kind: 'q', codes: k.codes, bytes: null, shape: k.shape, grid: k.inGrid });
      const got = c.kernels.conv(c, x, k.shape, k.g, k.out, k.outGrid ? { grid: k.outGrid, bytes: outputBytes(k.outGrid) } : null);
      const a = want.kind === 'f' ? Array.from(want.data) : Array.from(toBytes({ ...want, grid: k.outGrid! }));
      const b = got.kind === 'f' ? Array.from((got as FValue).data) : Array.from(toBytes(got as QValue));
      if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) r.differing.push(JSON.stringify(o));
      // With a fused 2×2 max pool where the kernel can fuse one: the TypeScript conv's codes pooled.
      if (k.outGrid && wasmPoolable(k.g, k.shape[1], k.shape[2], k.out)) {
        const pooled = maxPool({ ...(want as QValue), grid: k.outGrid }, geometry(k.g.outH, k.g.outW, 2, 2, 2, 2, 'valid')) as QValue;
        const fused = c.kernels.conv(c, x, k.shape, k.g, k.out, { grid: k.outGrid, bytes: outputBytes(k.outGrid) }, true) as QValue;
        const p = Array.from(toBytes({ ...pooled, grid: k.outGrid })),
          f = Array.from(toBytes(fused));
        if (p.length !== f.length || p.some((v, i) => v !== f[i])) r.differing.push(`pooled ${JSON.stringify(o)}`);
        r.pooled++;
      }
    }
  } finally {
    setRelaxedSimd(old);
  }
  return r;
}

(globalThis as unknown as { runCases: typeof runCases }).runCases = runCases;
