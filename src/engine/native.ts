// Loads the native addon (native/build/Release/lowbit_native.node) if it was built.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Signatures of the C++ kernels in native/src (typed arrays are read/written in place). */
export interface NativeAddon {
  setThreads(n: number): number;
  getThreads(): number;
  setBlasThreads(n: number): void;
  /** GEMM backend of matmul: OpenBLAS (true, the default) or oneDNN's sgemm (false). */
  useBlas(on: boolean): void;
  info(): { dnnl: string; threads: number; cores: number };
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, dims: Int32Array, act: number): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: Int32Array): void;
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  convCacheSize(): number;
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array, bias: Float32Array | null, act: number): void;
  bnTrainForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    c: number,
    eps: number,
    relu: number,
  ): void;
  /** train=1: gradient through the batch statistics; 0: fixed (running) statistics. */
  bnBackward(
    dy: Float32Array,
    x: Float32Array,
    y: Float32Array | null,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    c: number,
    eps: number,
    train: number,
  ): void;
  bnInference(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    y: Float32Array,
    c: number,
    eps: number,
    relu: number,
  ): void;
  maxPoolForward(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, dims: Int32Array): void;
  avgPoolForward(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  relu(x: Float32Array, y: Float32Array): void;
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  binary(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    op: number,
    shape?: Int32Array,
    stridesA?: Int32Array,
    stridesB?: Int32Array,
  ): void;
  meanMiddle(x: Float32Array, out: Float32Array, n: number, k: number, c: number): void;
  sumRows(x: Float32Array, out: Float32Array, c: number): void;
  softmaxXentForward(logits: Float32Array, labels: Int32Array, probs: Float32Array, b: number, k: number): number;
  softmaxXentBackward(probs: Float32Array, labels: Int32Array, dlogits: Float32Array, b: number, k: number, dy: number): void;
  fqUniform(
    x: Float32Array,
    out: Float32Array,
    mask: Uint8Array | null,
    scale: Float32Array,
    zeroPoint: Float32Array,
    c: number,
    qmin: number,
    qmax: number,
    flags: Uint8Array | null,
  ): void;
  fqBinary(x: Float32Array, out: Float32Array, mask: Uint8Array | null, scale: Float32Array, c: number): void;
  fqTernary(x: Float32Array, out: Float32Array, mask: Uint8Array | null, scale: Float32Array, c: number, threshold: number): void;
  fqTable(
    x: Float32Array,
    out: Float32Array,
    mask: Uint8Array | null,
    tables: Float32Array,
    c: number,
    length: number,
    signed: number,
  ): void;
  fqEsb(x: Float32Array, out: Float32Array, mask: Uint8Array | null, alpha: Float32Array, c: number, bits: number, k: number): void;
  maskGrad(dy: Float32Array, mask: Uint8Array, dx: Float32Array): void;
  channelStats(x: Float32Array, c: number, min: Float32Array, max: Float32Array, maxAbs: Float32Array, sumAbs: Float64Array): void;
  lsqStepGrad(
    dy: Float32Array,
    x: Float32Array,
    scale: Float32Array,
    c: number,
    qmin: number,
    qmax: number,
    gradScale: number,
    ds: Float32Array,
  ): void;
  pactAlphaGrad(dy: Float32Array, x: Float32Array, alpha: number, dalpha: Float32Array): void;
  channelL1Error(x: Float32Array, q: Float32Array, c: number, num: Float64Array, den: Float64Array): void;
  /** MSE of each channel of x (channel-last) on each of its K candidate grids (C·K scales and zero points, channel-major). */
  uniformMseCandidates(
    x: Float32Array,
    c: number,
    scale: Float64Array,
    zeroPoint: Float64Array,
    qmin: number,
    qmax: number,
    out: Float64Array,
  ): void;
  /** A conv/dense layer of the integer runtime; see native/src/intgemm.cc for the argument lists of the two modes. */
  qconv(
    x: Uint8Array,
    geometry: Int32Array,
    meta: Int32Array,
    wp: Uint8Array,
    lut: Int8Array | null,
    corr: Int32Array | null,
    mode: 0 | 1,
    ...epilogue: (Float64Array | Int32Array | Uint8Array | Float32Array | number)[]
  ): void;
  slbSoft(a: Float32Array, levels: Float32Array, unit: Float32Array, t: number, w: Float32Array, conf: Float32Array): void;
  slbAdam(
    a: Float32Array,
    levels: Float32Array,
    unit: Float32Array,
    t: number,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
  ): void;
  slbHard(a: Float32Array, levels: Float32Array, unit: Float32Array, w: Float32Array): void;
  dropbitsForward(
    x: Float32Array,
    alpha: Float32Array,
    maxBits: number,
    minBits: number,
    masks: Float32Array | null,
    out: Float32Array,
  ): void;
  dropbitsBackward(
    x: Float32Array,
    alpha: Float32Array,
    maxBits: number,
    minBits: number,
    masks: Float32Array,
    gy: Float32Array,
    kappa: number,
    concreteTemp: number,
    gx: Float32Array,
    galpha: Float64Array,
    gtheta: Float64Array,
  ): void;
  dropbitsSample(theta: Float32Array, concreteTemp: number, seed: number, out: Float32Array): void;
  quantizeBytes(x: Float32Array, scale: number, zp: number, qmin: number, qmax: number, lut: Uint8Array, out: Uint8Array): void;
  maxPoolBytes(x: Uint8Array, dims: Int32Array, outH: number, outW: number, out: Uint8Array): void;
  keepChannels(x: Float32Array, out: Float32Array, mask: Uint8Array, keep: Uint8Array, c: number): void;
  keepElements(
    x: Float32Array,
    out: Float32Array,
    mask: Uint8Array,
    count: number,
    fn: number,
    deterministic: number,
    seed: number,
  ): number;
  mpqTrack(
    w: Float32Array,
    scale: Float32Array,
    c: number,
    qmax: number,
    codes: Int8Array,
    freq: Float32Array,
    momentum: number,
    init: number,
  ): number;
  mpqLrScale(
    w: Float32Array,
    g: Float32Array,
    out: Float32Array,
    scale: Float32Array,
    c: number,
    qmax: number,
    flags: Uint8Array | null,
    delta: number,
    beta: number,
  ): number;
  sgdMomentum(
    w: Float32Array,
    g: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: number,
  ): void;
  adam(
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    decoupled: number,
  ): void;
}

let cached: { addon: NativeAddon | null; error: string | null } | undefined;

/** Finds the package root by walking up from this file (works from src/ and dist/src/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'native'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The addon, or null with the reason (not built, disabled by LOWBIT_NATIVE=0, failed to load). */
export function loadNative(): { addon: NativeAddon | null; error: string | null } {
  if (cached) return cached;
  if (process.env.LOWBIT_NATIVE === '0') {
    cached = { addon: null, error: 'disabled by LOWBIT_NATIVE=0' };
    return cached;
  }
  // LOWBIT_NATIVE_PATH loads another build (e.g. one with AddressSanitizer, for debugging).
  const file = process.env.LOWBIT_NATIVE_PATH ?? path.join(packageRoot(), 'native', 'build', 'Release', 'lowbit_native.node');
  if (!existsSync(file)) {
    cached = { addon: null, error: `native addon not built (${file} missing; run \`npm run build:native\`)` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(file) as NativeAddon, error: null };
  } catch (e) {
    cached = { addon: null, error: `native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  return cached;
}
