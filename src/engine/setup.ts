// Engine start-up: cpu backend, native kernels over it when the addon is available, thread count.
import os from 'node:os';
import { loadNative, type NativeAddon } from './native.js';
import { bindKernels } from './addon-state.js';
import { tf } from './tf.js';
import { registerConvKernels } from './kernels/conv.js';
import { registerMatmulKernels } from './kernels/matmul.js';
import { registerPoolKernels } from './kernels/pool.js';
import { registerElementwiseKernels } from './kernels/elementwise.js';
import { registerReluGrad } from './ops/relu-grad.js';
import { registerClip } from './ops/clip-grad.js';
import { setActiveAddon } from './state.js';
import { setStatsAccelerator } from '../quant/numeric.js';
import { setMseAccelerator } from '../quant/uniform.js';
import { OptionError, opt } from '../util/option-error.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface StatsKernels {
  channelStats(x: Float32Array, c: number, min: Float32Array, max: Float32Array, maxAbs: Float32Array, sumAbs: Float64Array): void;
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
}
const STATS_KERNELS: readonly (keyof StatsKernels)[] = ['channelStats', 'uniformMseCandidates'];

export interface EngineOptions {
  /** Threads for native kernels (default: all cores, or LOWBIT_THREADS). */
  threads?: number;
  /** Print nothing (the fallback notice is still recorded in `engineInfo().notice`). */
  quiet?: boolean;
}

export interface EngineInfo {
  native: boolean;
  threads: number;
  dnnl: string | null;
  notice: string | null;
}

let state: { addon: NativeAddon | null; notice: string | null } | undefined;

/** Sets the backend and registers native kernels once; safe to call repeatedly. */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  if (!state) {
    await tf.setBackend('cpu');
    await tf.ready();
    const { addon, error } = loadNative();
    if (addon) {
      // matmul runs on OpenBLAS (single-threaded for small products, see native/src/matmul.cc).
      // LOWBIT_GEMM=dnnl selects oneDNN's sgemm, which shares OpenMP's threads but corrupts the
      // heap when the process receives profiling signals (node --cpu-prof; oneDNN 2.6.3, seen here).
      addon.useBlas(process.env.LOWBIT_GEMM !== 'dnnl');
      registerConvKernels(addon);
      registerMatmulKernels(addon);
      registerPoolKernels(addon);
      registerElementwiseKernels(addon);
      registerReluGrad(addon);
      registerClip(addon);
      const stats = bindKernels<StatsKernels>(addon, STATS_KERNELS);
      setMseAccelerator((x, c, scale, zp, qmin, qmax, out) => stats.uniformMseCandidates(x, c, scale, zp, qmin, qmax, out));
      setStatsAccelerator((x, channels) => {
        const min = new Float32Array(channels),
          max = new Float32Array(channels),
          maxAbs = new Float32Array(channels);
        const sumAbs = new Float64Array(channels);
        stats.channelStats(x, channels, min, max, maxAbs, sumAbs);
        const count = x.length / channels;
        return {
          min: Float64Array.from(min),
          max: Float64Array.from(max),
          maxAbs: Float64Array.from(maxAbs),
          meanAbs: sumAbs.map((v) => v / count),
          count,
        };
      });
    }
    setActiveAddon(addon);
    state = { addon, notice: addon ? null : `lowbit: running on plain tfjs, which is much slower: ${error}` };
    // Said once per process, on stderr so JSON output stays clean.
    if (state.notice && !opts.quiet) process.stderr.write(state.notice + '\n');
  }
  const envThreads = Number(process.env.LOWBIT_THREADS ?? '');
  const threads = opts.threads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : undefined);
  if (state.addon && threads !== undefined) setThreads(threads);
  return engineInfo();
}

/** Sets the number of threads used by native kernels (oneDNN, OpenBLAS and our own). */
export function setThreads(n: number): void {
  // More threads than cores only makes the kernels wait on each other (1000 threads crawl).
  const cores = os.availableParallelism();
  if (!Number.isInteger(n) || n < 1 || n > cores)
    throw new OptionError(`${opt('threads')} ${n}: expected 1 to ${cores} (the cores of this machine)`);
  if (!state?.addon) return;
  state.addon.setThreads(n);
  state.addon.setBlasThreads(n);
}

export function engineInfo(): EngineInfo {
  const a = state?.addon ?? null;
  const i = a?.info();
  return { native: Boolean(a), threads: i?.threads ?? 1, dnnl: i?.dnnl ?? null, notice: state?.notice ?? null };
}
