// The importer's intermediate graph: layers in lowbit's NHWC terms with their weights, built from
// ONNX nodes (onnx-ops.ts), then simplified (batch norm and constant adds folded into the layer
// before them) and emitted as tfjs layers (onnx.ts).
import type { ConstTensor } from './onnx-read.js';

export type Padding = 'same' | 'valid';

export type IrOp =
  | {
      kind: 'conv';
      /** [kh, kw, cin, cout], or [kh, kw, cin, multiplier] for a depthwise conv. */
      kernel: Float32Array;
      kshape: [number, number, number, number];
      bias: Float32Array | null;
      strides: [number, number];
      dilation: [number, number];
      padding: Padding;
      depthwise: boolean;
    }
  | { kind: 'dense'; kernel: Float32Array; units: number; inputs: number; bias: Float32Array | null }
  | { kind: 'batchnorm'; gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; epsilon: number }
  | { kind: 'relu'; max: number | null }
  | { kind: 'maxpool' | 'avgpool'; size: [number, number]; strides: [number, number]; padding: Padding }
  | { kind: 'gap' }
  | { kind: 'flatten' }
  | { kind: 'zeropad'; pads: [[number, number], [number, number]] }
  | { kind: 'add' }
  /** A constant per channel added to the output of the layer before it (folded into its bias). */
  | { kind: 'bias'; values: Float32Array }
  | { kind: 'concat' };

export interface IrNode {
  /** The tfjs layer name (unique, from the ONNX node's). */
  name: string;
  /** The ONNX node it came from, for errors. */
  source: string;
  op: IrOp;
  inputs: string[];
}

/**
 * An ONNX value as the importer sees it: a constant, or a tensor computed by an IR node (`ref`, or
 * 'input') with its ONNX dimensions past the batch (C, H, W for images). Images are NHWC in lowbit;
 * `flat` records that a [C·H·W] vector was flattened from an NHWC map of [C, H, W] (its entries are
 * in H, W, C order, which a dense layer after it must follow); `pooled` that a [C, 1, 1] map is held
 * as a [C] vector (global pooling with keepdims).
 */
export type Value =
  { kind: 'const'; t: ConstTensor } | { kind: 'tensor'; ref: string; dims: number[]; flat?: [number, number, number]; pooled?: boolean };

/** The importer's state while it walks the nodes. */
export interface IrBuilder {
  /** The node being converted, for errors: "node 'name' (Op)". */
  readonly where: string;
  readonly opset: number;
  value(name: string): Value;
  /** The constant input i (required unless `optional`), or null. */
  constant(i: number, optional?: boolean): ConstTensor | null;
  /** The computed-tensor input i. */
  tensor(i: number): Extract<Value, { kind: 'tensor' }>;
  attrInt(name: string, dflt?: number): number;
  attrInts(name: string, dflt?: number[]): number[];
  attrFloat(name: string, dflt: number): number;
  attrString(name: string, dflt: string): string;
  /** Adds an IR node and returns the tensor value of its output. */
  emit(op: IrOp, inputs: string[], dims: number[], extra?: { flat?: [number, number, number]; pooled?: boolean }): Value;
  fail(why: string): never;
  /** Something the user should know of how the node came in (it goes into the run's notes). */
  note(text: string): void;
}

/** Row-major strides of `dims`. */
export function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length);
  for (let i = dims.length - 1, m = 1; i >= 0; i--) ((s[i] = m), (m *= dims[i]));
  return s;
}

export const f32 = (t: ConstTensor): Float32Array => (t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));
