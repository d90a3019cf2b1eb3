// One layer kind of a packed model, declared once: what the packed format stores for it, how its
// configuration is checked, how the runtime runs it, how it is written to ONNX and to tfjs, and
// what it costs on the accelerator. Packing, readPacked, the runtime, both exports and hw/ read
// these declarations from the table in registry.ts and never switch over class names, so a new
// layer kind is one file and one registry line (docs/ARCHITECTURE.md).
//
// Types only here and no value import of tfjs: the runtime (and its browser bundle) reads the
// table without pulling in the training engine.
import type { LayerShape } from '../../hw/layer-shape.js';
import type { IntGrid } from '../../quant/grid.js';
import type { LayerEntry, Manifest } from '../manifest.js';
import type { CheckedLayer, PackedModel, QuantInfo, Step } from '../packed-model.js';
import type { OnnxGraph, OnnxTensor } from '../onnx/tensors.js';

/** What a layer's check reads: the manifest, the float tensors and the validated quantizers. */
export interface CheckContext {
  manifest: Manifest;
  floats: Map<string, Float32Array>;
  weightQuant: Map<string, QuantInfo>;
  inputQuant: Map<string, QuantInfo>;
  /** Shape of a tensor of the file, by name. */
  shapeOf(tensor: string): number[];
  /** Output shapes (one example, no batch) of the layers this one reads, in order. */
  inputs: number[][];
}

/** What a layer's lowering reads and may mark (fusion across layers). */
export interface LowerContext {
  packed: Omit<PackedModel, 'program'>;
  /** The op of a layer (every layer of a checked model has one). */
  op(l: LayerEntry): LayerOp;
  checked(name: string): CheckedLayer;
  float(l: LayerEntry, role: string): Float32Array;
  shapeOf(tensor: string): number[];
  /** The one layer reading `name`'s output (null when several do, or when it is the model's output). */
  sole(name: string): LayerEntry | null;
  /** The integer grid of a layer's input quantizer, if it has one. */
  inputGrid(l: LayerEntry): IntGrid | null;
  /** Marks a layer as computed by another's step (it gets no step of its own). */
  fuse(name: string): void;
  /** Marks a layer as receiving its input already in its grid (requantized by its producer). */
  deliverQuantized(name: string): void;
  preQuantized(name: string): boolean;
}

export type OnnxLayout = 'nchw' | 'flat';

/** What a layer's ONNX writer appends to and reads. */
export interface OnnxContext {
  packed: PackedModel;
  nodes: OnnxGraph['nodes'];
  initializers: OnnxTensor[];
  /** What could not be exported exactly, one line each. */
  notes: string[];
  /** A tensor name not used before. */
  fresh(base: string): string;
  /** ONNX tensor and layout of the i-th layer this one reads. */
  input(l: LayerEntry, i?: number): { name: string; layout: OnnxLayout };
  /** Records the layer's ONNX output. */
  output(l: LayerEntry, name: string, layout: OnnxLayout): void;
  /** Appends a Relu after x. */
  relu(x: string, base: string): string;
  /** Raises the model's opset (INT4 initializers need 21). */
  needOpset(opset: number): void;
}

/** A tfjs layer's geometry as the accelerator model reads it (shapes with their batch dimension, batch from the caller). */
export interface CostInput {
  name: string;
  batch: number;
  kernel: number[];
  input: number[];
  output: number[];
  config: Record<string, unknown>;
}

/** A float tensor to give a tfjs layer. */
export interface TfjsWeight {
  values: Float32Array;
  shape: number[];
}

export interface LayerOp {
  /** The layer's class name in tfjs and in the manifest. */
  className: string;
  /** How many layers it reads. */
  inputs: 'none' | 'one' | 'many';
  /** Tensor roles it must have and may have in the file (`kernel` is the role packing codes). */
  tensors?: { need: readonly string[]; may: readonly string[] };
  /** The roles of its tfjs weights, in order, given its configuration (packing reads them). */
  weightRoles?(config: Record<string, unknown>): string[];
  /** May hold a weight quantizer with a coded kernel (or a product-coded one), and an input quantizer. */
  quantizers?: { weight: boolean; input: boolean };
  /** Reads its input in its input quantizer's grid, so a producer may requantize straight into it. */
  gridInput?: boolean;
  /** Passes integer codes through unchanged in meaning (pooling by max, flattening), so a producer may look past it. */
  keepsCodes?: boolean;
  /** Is an inference-time per-channel affine map y = x·g + h (then ReLU if `relu`) that a preceding conv/dense may fold in. */
  affine?(l: LayerEntry, ctx: LowerContext): { g: Float64Array; h: Float64Array; relu: boolean };
  /** Is a pure activation a preceding conv/dense may fuse: true for ReLU, false for identity. */
  activation?(l: LayerEntry, ctx: LowerContext): boolean;
  /** Parses the configuration and checks shapes: the values every consumer reads. Throws on what the runtime cannot run. */
  check(l: LayerEntry, ctx: CheckContext): CheckedLayer;
  /** The runtime step (null when the layer needs none: the input, or layers fused away). */
  lower(l: LayerEntry, ctx: LowerContext): Step | null;
  /** Appends the layer's ONNX nodes and initializers and records its output. */
  toOnnx(l: LayerEntry, c: CheckedLayer, ctx: OnnxContext): void;
  /**
   * tfjs: extra configuration for rebuilding the layer from a packed file (quantizer specs and states),
   * its weights in tfjs order, and the stock-layer form for the `--plain` export (throws when there is none).
   */
  tfjs?: {
    config?(l: LayerEntry, p: PackedModel): Record<string, unknown>;
    weights?(l: LayerEntry, p: PackedModel): TfjsWeight[];
    plain?(layer: { class_name: string; config: Record<string, unknown> }): void;
  };
  /** The layer as the accelerator sees it; absent for layers the accelerator model treats as free. */
  cost?(input: CostInput): LayerShape;
}
