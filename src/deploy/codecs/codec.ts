// How a kernel is stored, declared once per kind of storage: a number format's integer codes
// (format-codes.ts) or a product code, indices into a codebook of subvectors (product-codes.ts).
// Each codec encodes a kernel into the packed file's tensors, decodes and checks them at read
// time, writes them to ONNX, and says what the stored form costs (bits per weight, what the
// accelerator fetches and decodes). Packing, readPacked, the ONNX export, hw/ and the report read
// the codec of a kernel and never ask which kind it is.
import type { KernelCode } from '../../quant/kernel-code.js';
import type { ProductCode } from '../../quant/product-blocks.js';
import type { LayerEntry, TensorEntry } from '../manifest.js';
import type { DecodedKernel, QuantInfo } from '../packed-model.js';

export type { DecodedKernel } from '../packed-model.js';
import type { OnnxContext } from '../layers/layer-op.js';

export type { KernelCode } from '../../quant/kernel-code.js';

export type CodecName = KernelCode['codec'];

/** What the accelerator model and the report read of a stored kernel. */
export interface StoredForm {
  /** How the report names it (a format name, or pq). */
  label: string;
  /** The width the method names (a format's bits; a product code's stored bits per weight). */
  nominalBits: number;
  /** Stored bits per weight, everything it needs included (MPQ extras and flag index, indices and codebook). */
  bitsPerWeight: number;
  /** Width the multipliers see, or null for float arithmetic on decoded weights. */
  multiplierBits: number | null;
  /** Logic per weight fetched. */
  decoder: 'none' | 'dybit' | 'shift' | 'codebook';
  /** A codebook's size in bits (a lookup table read once per weight fetch). */
  codebookBits?: number;
  /** Share of weights that take one more bit-brick pass (MPQ's flagged weights). */
  flaggedShare: number;
}

/** Where packing writes: a section per tensor, entries in the manifest. */
export interface SectionWriter {
  add(bytes: Uint8Array): number;
  tensors: TensorEntry[];
}

/** What a codec reads a kernel from: the file's tensor entries and sections, and the quantizer check. */
export interface ReadContext {
  tensor(name: string): TensorEntry | undefined;
  section(entry: TensorEntry): Uint8Array;
  /** Float tensors already read (float32 and float16 sections). */
  floats: Map<string, Float32Array>;
  /** Parses and checks a quantizer entry for `channels` output channels. */
  checkQuant(q: { spec: Record<string, unknown>; params: unknown }, what: string, channels: number | null): QuantInfo;
}

export interface WeightCodec<C extends KernelCode = KernelCode> {
  codec: C['codec'];
  /** The manifest encoding of the kernel tensor it writes. */
  encoding: TensorEntry['encoding'];
  /** Roles of the layer's tensors it owns beside the kernel (MPQ flags and extras, a codebook). */
  roles: readonly string[];
  /** Needs the layer's weight quantizer (format codes do; product codes have none). */
  quantized: boolean;
  /** Encodes a kernel; returns the layer's tensor roles and the stored bits. */
  pack(name: string, kernel: Float32Array, shape: number[], code: C, out: SectionWriter): { roles: Record<string, string>; bits: number };
  /** Decodes and checks the kernel of layer l (its tensor entry `kernel`); throws on anything the file cannot mean. */
  read(l: LayerEntry, kernel: TensorEntry, ctx: ReadContext): DecodedKernel;
  /** Writes the decoded kernel as ONNX weights; returns the tensor holding them in float. */
  toOnnx(ctx: OnnxContext, l: LayerEntry, k: DecodedKernel, kshape: number[], conv: boolean): string;
  /** The stored form's cost, for `count` weights of the given kernel shape. */
  stored(code: C, shape: number[]): StoredForm;
}
