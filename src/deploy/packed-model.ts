// A packed model as read and checked by readPacked (read.ts): what every consumer (the runtime,
// the exports) takes. Types only, so the readers and the checks can share them without a cycle.
import type { WasmThreads } from './runtime/wasm-threads.js';
import type { FormatSpec } from '../quant/registry.js';
import type { ProductCode } from '../quant/product-blocks.js';
import type { KernelCode } from '../quant/kernel-code.js';
import type { Manifest } from './manifest.js';
import type { Value } from './runtime/values.js';

export interface QuantInfo {
  spec: FormatSpec;
  /** The format's parameters (MPQ: with the decoded flags). */
  params: unknown;
}

export interface PackedModel {
  manifest: Manifest;
  /** Float tensors by name. */
  floats: Map<string, Float32Array>;
  /** Kernel codes by tensor name (MPQ: fine-grid codes, base and extra bit combined). */
  codes: Map<string, Int32Array>;
  /** Validated quantizers by layer name. */
  weightQuant: Map<string, QuantInfo>;
  inputQuant: Map<string, QuantInfo>;
  /** Coded kernels as their weight codecs read them, by tensor name (decoded product codes are in floats too), for exporters that keep the code. */
  kernels: Map<string, DecodedKernel>;
  /** Every layer checked once (check-layers.ts): the configuration values and shapes consumers use. */
  layers: Map<string, CheckedLayer>;
  /** The runtime's steps, lowered once by readPacked (runtime/lower.ts). */
  program: Program;
}

/**
 * One runtime step: reads its inputs' values from the map and writes its output's. Given worker
 * threads (predictAsync), it may split its work over them and return a promise; without, it runs
 * synchronously.
 */
export type Step = (values: Map<string, Value>, threads?: WasmThreads) => void | Promise<void>;

export interface Program {
  steps: Step[];
  inputName: string;
  outputName: string;
  inputShape: number[];
}

export type Padding = 'same' | 'valid';

export interface ConvCheck {
  conv: boolean;
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  cin: number;
  cout: number;
  /** The input's height and width (convs; 1×1 for dense layers). */
  inHW: [number, number];
  /** A depthwise conv: output channel c·m + q reads input channel c only (cout = cin·m). */
  depthwise?: boolean;
}

export interface CheckedLayer {
  /** Shape of one example at the layer's output (no batch dimension). */
  out: number[];
  /** Conv / dense geometry (dense layers as 1×1 convolutions on a 1×1 image). */
  conv?: ConvCheck;
  pool?: { size: [number, number]; strides: [number, number]; padding: Padding };
  /** The layer ends in a ReLU (its activation, or a batch norm's fused ReLU; a ReLU or relu Activation layer). */
  relu: boolean;
  /** Batch norm epsilon. */
  epsilon?: number;
  /** The cap of a capped ReLU (ReLU6: 6); such a ReLU is not fused into the layer before it. */
  clampMax?: number;
  /** Zero padding: [[top, bottom], [left, right]]. */
  pads?: [[number, number], [number, number]];
}

/** A kernel as readPacked decoded it. */
export interface DecodedKernel {
  codec: KernelCode['codec'];
  /** Its float values (decoded product codes), when the codec has them without a quantizer. */
  values?: Float32Array;
  /** Its codes and validated quantizer (format codes). */
  codes?: Int32Array;
  quant?: QuantInfo;
  /** Codec-specific data the ONNX writer keeps (a product code's indices and fp16 codebook). */
  product?: ProductCode & { k: number; codebookHalf: Uint16Array };
}
