// A packed model as read and checked by readPacked (read.ts): what every consumer (the runtime,
// the exports) takes. Types only, so the readers and the checks can share them without a cycle.
import type { FormatSpec } from '../quant/registry.js';
import type { ProductCode } from '../quant/product-blocks.js';
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
  /** Product-coded kernels by tensor name (their decoded values are in floats too), for exporters that keep the code. */
  productCodes: Map<string, ProductCode & { k: number; codebookHalf: Uint16Array }>;
  /** Every layer checked once (check-layers.ts): the configuration values and shapes consumers use. */
  layers: Map<string, CheckedLayer>;
  /** The runtime's steps, lowered once by readPacked (runtime/lower.ts). */
  program: Program;
}

/** One runtime step: reads its inputs' values from the map and writes its output's. */
export type Step = (values: Map<string, Value>) => void;

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
}
