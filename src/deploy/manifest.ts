// The manifest of a packed model (section 0 of the container): the layers of the quantized
// tfjs model in order, with their configuration, quantizer specs and parameters, and the
// tensors they read, each pointing at one section and saying how it is encoded.
import * as z from 'zod/mini';

// zod/mini (functional checks) rather than the full zod: this schema is part of lowbit/runtime,
// whose download must stay small.
const int = (lo: number, hi: number) => z.int().check(z.minimum(lo), z.maximum(hi));
const name = z.string().check(z.minLength(1), z.maxLength(256));
const dim = int(1, 1 << 24);
const shape = z.array(dim).check(z.minLength(1), z.maxLength(6));
const section = int(0, 1 << 20);
const count = int(0, 1 << 28);

export const tensorEntrySchema = z.discriminatedUnion('encoding', [
  z.strictObject({ name, encoding: z.literal('float32'), section, shape }),
  /** Integer codes stored as code − offset at `bits` bits each; stored values never exceed `max`. */
  z.strictObject({ name, encoding: z.literal('codes'), section, shape, bits: int(1, 16), offset: int(-65536, 65536), max: int(0, 65535) }),
  /** MPQ flags of `count` weights: a bitmap or Rice-coded gaps (parameter k). */
  z.strictObject({
    name,
    encoding: z.literal('mpq-flags'),
    section,
    count: int(1, 1 << 28),
    index: z.enum(['bitmap', 'rice']),
    k: int(0, 31),
    flagged: count,
  }),
  /** IEEE half-precision values (product-code codebooks). */
  z.strictObject({ name, encoding: z.literal('float16'), section, shape }),
  /**
   * A kernel in product codes: one index of `bits` bits per subvector (m input channels × the
   * window for a conv, d consecutive inputs for a dense layer; quant/product-blocks.ts) into the
   * k × d float16 tensor `codebook`.
   */
  z.strictObject({
    name,
    encoding: z.literal('pq-indices'),
    section,
    shape,
    d: int(1, 4096),
    m: int(1, 4096),
    k: int(1, 65536),
    bits: int(1, 16),
    codebook: name,
  }),
  /** One bit per entry (MPQ: the extra bit of each flagged weight, in flag order). */
  z.strictObject({ name, encoding: z.literal('bits'), section, count }),
]);

export type TensorEntry = z.output<typeof tensorEntrySchema>;

const quantEntry = z.strictObject({ spec: z.record(z.string(), z.unknown()), params: z.unknown() });

export const layerEntrySchema = z.strictObject({
  name,
  /** A class in the layer-op table (layers/registry.ts); readPacked refuses others. */
  className: z.string().check(z.minLength(1), z.maxLength(128)),
  inbound: z.array(name).check(z.maxLength(16)),
  config: z.record(z.string(), z.unknown()),
  /** Role (kernel, bias, gamma, beta, movingMean, movingVariance, flags, extras, codebook) → tensor name. */
  tensors: z._default(z.record(z.string(), name), {}),
  weightQuant: z.optional(quantEntry),
  inputQuant: z.optional(quantEntry),
});

export type LayerEntry = z.output<typeof layerEntrySchema>;

export const manifestSchema = z.strictObject({
  format: z.literal('lowbit-packed'),
  version: z.literal(1),
  createdBy: z.string().check(z.maxLength(256)),
  modelSpec: z.record(z.string(), z.unknown()),
  /** Input shape of one example (no batch dimension). */
  inputShape: shape,
  /**
   * What the model was trained on: the dataset and the per-channel normalisation of its inputs,
   * (pixel / 255 - mean) / std. A runner refuses another dataset. Absent in files of lowbit 0.1.
   */
  input: z.optional(
    z
      .strictObject({
        dataset: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
        /** Class names in index order (image folders; a registered dataset's are in its registry). */
        classes: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(2), z.maxLength(256))),
        mean: z.array(z.number()).check(z.minLength(1), z.maxLength(64)),
        std: z.array(z.number().check(z.positive())).check(z.minLength(1), z.maxLength(64)),
      })
      .check(z.refine((i) => i.mean.length === i.std.length, 'mean and std need one entry per channel each')),
  ),
  layers: z.array(layerEntrySchema).check(z.minLength(1), z.maxLength(4096)),
  outputs: z.array(name).check(z.minLength(1), z.maxLength(16)),
  tensors: z.array(tensorEntrySchema).check(z.maxLength(16384)),
});

export type Manifest = z.output<typeof manifestSchema>;
