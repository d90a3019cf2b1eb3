// The weight codecs: how a kernel may be stored. Consumers look a kernel's codec up here, by its
// stored form (packing, the accelerator model, the report) or by its tensor encoding (readPacked).
import type { TensorEntry } from '../manifest.js';
import type { CodecName, KernelCode, StoredForm, WeightCodec } from './codec.js';
import { formatCodec } from './format-codes.js';
import { productCodec } from './product-codes.js';

export type { KernelCode, StoredForm, WeightCodec, DecodedKernel } from './codec.js';

const codecs: Record<CodecName, unknown> = { format: formatCodec, product: productCodec };

export function codecOf(name: CodecName): WeightCodec {
  return codecs[name] as WeightCodec;
}

/** The codec writing kernels in this tensor encoding, or undefined (float32 kernels have none). */
export function codecOfEncoding(encoding: TensorEntry['encoding']): WeightCodec | undefined {
  return (Object.values(codecs) as WeightCodec[]).find((c) => c.encoding === encoding);
}

/** What a stored kernel costs (bits, what the hardware fetches and decodes). */
export function storedForm(code: KernelCode, shape: number[]): StoredForm {
  return codecOf(code.codec).stored(code, shape);
}

/** Every role some codec owns (a layer may hold one only with a kernel of that codec). */
export const codecRoles: ReadonlySet<string> = new Set((Object.values(codecs) as WeightCodec[]).flatMap((c) => c.roles));
