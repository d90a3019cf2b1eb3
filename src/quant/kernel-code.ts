// A kernel's stored form, as a model or a checkpoint holds it before packing: a number format's
// codes or a product code. The weight codecs (deploy/codecs/) encode, decode and cost each kind.
import type { FormatSpec } from './registry.js';
import type { ProductCode } from './product-blocks.js';

export type KernelCode =
  /** A number format's codes (params: the quantizer's parameters; MPQ flags inside them or in `flags`). */
  | { codec: 'format'; spec: FormatSpec; params?: unknown; flags?: Uint8Array | null }
  /** A product code: indices into a float16 codebook of subvectors. */
  | { codec: 'product'; code: ProductCode };
