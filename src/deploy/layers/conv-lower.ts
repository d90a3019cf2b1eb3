// The runtime step of a conv/dense layer. It absorbs the batch norm (any op declaring `affine`)
// and the ReLU (any op declaring `activation`) that follow it; when its output reaches the next
// grid-input layer only through code-keeping layers (max pooling, flattening), it requantizes
// straight into that layer's input grid (fixed point) and the tensors in between stay integer
// codes. Without both quantizers it runs in float on the decoded weights.
import { formatOf } from '../../quant/registry.js';
import { intGrid, sharedLevels, type IntGrid } from '../../quant/grid.js';
import type { LayerEntry } from '../manifest.js';
import type { Step } from '../packed-model.js';
import { floatConv, floatDepthwise, geometry, intConv, intDepthwise, maxPool } from '../runtime/ops.js';
import { prepareWasmConv, wasmKernels, wasmPoolable, type WasmConv } from '../runtime/wasm-kernels.js';
import { byteOffset, levelsOf, toBytes } from '../runtime/values.js';
import { gridOutput, type FloatOutput } from '../runtime/requant.js';
import { nativeConv, nativePoolable, outputBytes, prepareNativeConv, qconvKernels, type NativeConv } from '../runtime/native-conv.js';
import type { WeightTable } from '../runtime/byte-weights.js';
import { asFloat, quantizeValue, reshape } from '../runtime/convert.js';
import { fail } from './config-values.js';
import type { Value } from '../runtime/values.js';
import type { LowerContext } from './layer-op.js';

/** Multiply-adds below which a layer stays on one thread (waking a worker and copying its inputs cost about what 1M of them do). */
const PARALLEL_MACS = 2 ** 21;

export function lowerConv(l: LayerEntry, ctx: LowerContext): Step {
  const p = ctx.packed;
  const what = `layer ${l.name}`;
  const src = l.inbound[0];
  const g = ctx.checked(l.name).conv!;
  const conv = g.conv;
  const kshape = ctx.shapeOf(l.tensors.kernel);
  const { cout, cin, strides, padding: pad, dilation: dil } = g;
  const bias = l.tensors.bias ? ctx.float(l, 'bias') : null;
  let relu = ctx.checked(l.name).relu;
  // Fuse the affine map and the ReLU that follow (an affine map after a ReLU cannot fold into a·acc + b).
  let end = l.name;
  let bn: { g: Float64Array; h: Float64Array } | null = null;
  const next = ctx.sole(end);
  const nextOp = next && ctx.op(next);
  if (!relu && next && nextOp?.affine) {
    const f = nextOp.affine(next, ctx);
    bn = f;
    relu = f.relu;
    ctx.fuse(next.name);
    end = next.name;
  }
  const after = ctx.sole(end);
  const afterOp = after && ctx.op(after);
  if (!relu && after && afterOp?.activation?.(after, ctx)) {
    relu = true;
    ctx.fuse(after.name);
    end = after.name;
  }
  const wq = p.weightQuant.get(l.name);
  const gin = ctx.inputGrid(l);
  const kernelCodes = wq ? p.codes.get(l.tensors.kernel)! : null;
  const kernel4 = conv ? kshape : [1, 1, kshape[0], kshape[1]];
  // A depthwise conv reads one input channel per output: m outputs per input channel.
  const mult = g.depthwise ? cout / cin : 0;
  const a = new Float64Array(cout),
    b = new Float64Array(cout);
  for (let c = 0; c < cout; c++) {
    const gc = bn ? bn.g[c] : 1;
    a[c] = gc;
    b[c] = (bias ? bias[c] : 0) * gc + (bn ? bn.h[c] : 0);
  }
  // A 2×2, stride-2 max pool right after an integer conv joins its step: the kernels that read windows
  // in place pool the accumulators of each window before requantizing (no full-size output, a quarter
  // of the epilogues); the other paths pool the conv's output codes, which gives the same codes.
  let pool: string | null = null;
  const following = conv && wq && gin ? ctx.sole(end) : null;
  const fp = following && following.className === 'MaxPooling2D' ? ctx.checked(following.name).pool : null;
  if (following && fp && fp.size.every((v) => v === 2) && fp.strides.every((v) => v === 2) && fp.padding === 'valid') {
    ctx.fuse(following.name);
    pool = following.name;
    end = following.name;
  }
  // Where the output goes: into the next grid-input layer's grid, through code-keeping layers only.
  let target: LayerEntry | null = null;
  for (let t = ctx.sole(end); t; t = ctx.sole(t.name)) {
    const op = ctx.op(t);
    if (op?.gridInput && ctx.inputGrid(t)) {
      target = t;
      break;
    }
    if (!op?.keepsCodes) break;
  }
  const outName = end;
  const flat = (shape: number[]) => (conv ? shape : [shape[0], 1, 1, shape.slice(1).reduce((s, d) => s * d, 1)]);
  if (wq && gin) {
    // Integer path: levels of weights per output channel, unit of input × unit of weight in a.
    const wg = intGrid(wq.spec, wq.params, cout, `${what} weights`);
    // Plain loops: a mapping callback per weight costs seconds on millions of weights.
    const wl = new Int32Array(kernelCodes!.length);
    for (let i = 0, c = 0; i < wl.length; i++, c = c + 1 === cout ? 0 : c + 1)
      wl[i] = wg.levels[wg.channels === 1 ? 0 : c][kernelCodes![i] - wg.codeMin];
    for (let c = 0; c < cout; c++) a[c] *= gin.unit[0] * wg.unit[wg.channels === 1 ? 0 : c];
    const tgrid = target ? ctx.inputGrid(target)! : null;
    const K = kernel4[0] * kernel4[1] * (g.depthwise ? 1 : cin);
    let table: WeightTable | undefined | null = null;
    const tableOf = () => (table === null ? (table = weightTable(wg, kernelCodes!)) : table);
    // Each byte path lays the weights out for its kernels on first use.
    let nat: NativeConv | null | undefined;
    const native = () => (nat === undefined ? (nat = prepareNativeConv(wl, K, cout, gin, tableOf())) : nat);
    // Without the addon: the WebAssembly kernels where they run and every level fits a byte.
    let wc: WasmConv | null | undefined;
    const wasm = () => (wc === undefined ? (wc = prepareWasmConv(wl, K, cout, gin, tableOf())) : wc);
    // The byte paths write bytes of the target grid; a grid that does not fit bytes stays on the TypeScript path.
    const tbytes = tgrid && byteOffset(tgrid) !== null ? { grid: tgrid, bytes: outputBytes(tgrid) } : null;
    const nativeFits = !tgrid || tbytes !== null;
    const out: ReturnType<typeof gridOutput> | FloatOutput = tgrid ? gridOutput(a, b, relu, tgrid, what) : { kind: 'float', a, b, relu };
    if (target) ctx.deliverQuantized(target.name);
    const preq = ctx.preQuantized(l.name);
    const inq = p.inputQuant.get(l.name)!;
    return (vals, threads) => {
      const v = vals.get(src)!;
      // The byte kernels (native, WebAssembly) run full convolutions; depthwise ones run on the TypeScript loops.
      const active = nativeFits && !g.depthwise ? qconvKernels() : null;
      const n = active ? native() : null;
      const addon = n ? active : null;
      const w = !addon && nativeFits && !g.depthwise && wasmKernels() ? wasm() : null;
      const x = preq && v.kind === 'q' ? v : quantizeValue(v, inq, gin, addon !== null || w !== null);
      const shape = flat(x.shape);
      if (shape[3] !== cin) fail(`${what}: input has ${shape[3]} channels, the kernel ${cin}`);
      const geo = geometry(shape[1], shape[2], kernel4[0], kernel4[1], strides[0], strides[1], pad, dil[0], dil[1]);
      // The fused pool: in the kernel where it reads windows in place into a grid, else on the conv's output.
      const fusedPool =
        pool !== null && (addon ? nativePoolable(addon, n!, shape, geo, out) : w !== null && wasmPoolable(geo, shape[1], shape[2], out));
      const done = (y: Value) => {
        if (y.kind === 'q') y.grid = tgrid!;
        const pooled = pool && !fusedPool ? maxPool(y, geometry(geo.outH, geo.outW, 2, 2, 2, 2, 'valid')) : y;
        vals.set(outName, conv ? pooled : reshape(pooled, [shape[0], cout]));
      };
      // Large layers split over worker threads when predictAsync offers them.
      if (w && threads && shape[0] * geo.outH * geo.outW * K * cout >= PARALLEL_MACS)
        return w.kernels.convParallel(threads, w, toBytes(x), shape, geo, out, tbytes, fusedPool).then(done);
      done(
        addon
          ? nativeConv(addon, n!, toBytes(x), shape, geo, out, tbytes, fusedPool)
          : w
            ? w.kernels.conv(w, toBytes(x), shape, geo, out, tbytes, fusedPool)
            : g.depthwise
              ? intDepthwise(levelsOf(x), shape, wl, mult, geo, out)
              : intConv(levelsOf(x), shape, wl, cout, geo, out),
      );
    };
  }
  // Float path: float activations (or an unquantized layer), weights as decoded values (once, at load).
  const kernelValues = Float32Array.from(
    wq ? formatOf(wq.spec).decode(kernelCodes!, kshape, wq.spec as never, wq.params as never) : p.floats.get(l.tensors.kernel)!,
  );
  return (vals) => {
    const x = asFloat(vals.get(src)!);
    const shape = flat(x.shape);
    if (shape[3] !== cin) fail(`${what}: input has ${shape[3]} channels, the kernel ${cin}`);
    const geo = geometry(shape[1], shape[2], kernel4[0], kernel4[1], strides[0], strides[1], pad, dil[0], dil[1]);
    const y = g.depthwise
      ? floatDepthwise(x.data, shape, kernelValues, mult, geo)
      : floatConv(x.data, shape, kernelValues, null, cout, geo, false);
    for (let i = 0; i < y.data.length; i++) {
      const c = i % cout;
      const v = y.data[i] * a[c] + b[c];
      y.data[i] = relu && v < 0 ? 0 : v;
    }
    vals.set(outName, conv ? y : reshape(y, [shape[0], cout]));
  };
}

/** The weights as indices into one table of levels when every channel has the same levels (≤ 16 of them). */
function weightTable(wg: IntGrid, codes: Int32Array): WeightTable | undefined {
  const lv = sharedLevels(wg);
  if (!lv || lv.length > 16 || lv.some((v) => v < -128 || v > 127)) return undefined;
  const index = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) index[i] = codes[i] - wg.codeMin;
  return { index, levels: lv };
}
