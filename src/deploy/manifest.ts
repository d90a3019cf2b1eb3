// The manifest of a packed model (section 0 of the container): the layers of the quantized
// tfjs model in order, with their configuration, quantizer specs and parameters, and the
// tensors they read, each pointing at one section and saying how it is encoded.
import { z } from 'zod';

const name = z.string().min(1).max(256);
const dim = z
  .number()
  .int()
  .min(1)
  .max(1 << 24);
const shape = z.array(dim).min(1).max(6);
const section = z
  .number()
  .int()
  .min(0)
  .max(1 << 20);

export const tensorEntrySchema = z.discriminatedUnion('encoding', [
  z.object({ name, encoding: z.literal('float32'), section, shape }).strict(),
  /** Integer codes stored as code − offset at `bits` bits each; stored values never exceed `max`. */
  z
    .object({
      name,
      encoding: z.literal('codes'),
      section,
      shape,
      bits: z.number().int().min(1).max(16),
      offset: z.number().int().min(-65536).max(65536),
      max: z.number().int().min(0).max(65535),
    })
    .strict(),
  /** MPQ flags of `count` weights: a bitmap or Rice-coded gaps (parameter k). */
  z
    .object({
      name,
      encoding: z.literal('mpq-flags'),
      section,
      count: z
        .number()
        .int()
        .min(1)
        .max(1 << 28),
      index: z.enum(['bitmap', 'rice']),
      k: z.number().int().min(0).max(31),
      flagged: z
        .number()
        .int()
        .min(0)
        .max(1 << 28),
    })
    .strict(),
  /** IEEE half-precision values (product-code codebooks). */
  z.object({ name, encoding: z.literal('float16'), section, shape }).strict(),
  /**
   * A kernel in product codes: one index of `bits` bits per subvector (m input channels × the
   * window for a conv, d consecutive inputs for a dense layer; quant/product-blocks.ts) into the
   * k × d float16 tensor `codebook`.
   */
  z
    .object({
      name,
      encoding: z.literal('pq-indices'),
      section,
      shape,
      d: z.number().int().min(1).max(4096),
      m: z.number().int().min(1).max(4096),
      k: z.number().int().min(1).max(65536),
      bits: z.number().int().min(1).max(16),
      codebook: name,
    })
    .strict(),
  /** One bit per entry (MPQ: the extra bit of each flagged weight, in flag order). */
  z
    .object({
      name,
      encoding: z.literal('bits'),
      section,
      count: z
        .number()
        .int()
        .min(0)
        .max(1 << 28),
    })
    .strict(),
]);

export type TensorEntry = z.output<typeof tensorEntrySchema>;

const quantEntry = z.object({ spec: z.record(z.string(), z.unknown()), params: z.unknown() }).strict();

export const layerEntrySchema = z
  .object({
    name,
    /** A class in the layer-op table (layers/registry.ts); readPacked refuses others. */
    className: z.string().min(1).max(128),
    inbound: z.array(name).max(16),
    config: z.record(z.string(), z.unknown()),
    /** Role (kernel, bias, gamma, beta, movingMean, movingVariance, flags, extras, codebook) → tensor name. */
    tensors: z.record(z.string(), name).default({}),
    weightQuant: quantEntry.optional(),
    inputQuant: quantEntry.optional(),
  })
  .strict();

export type LayerEntry = z.output<typeof layerEntrySchema>;

export const manifestSchema = z
  .object({
    format: z.literal('lowbit-packed'),
    version: z.literal(1),
    createdBy: z.string().max(256),
    modelSpec: z.record(z.string(), z.unknown()),
    /** Input shape of one example (no batch dimension). */
    inputShape: shape,
    /**
     * What the model was trained on: the dataset and the per-channel normalisation of its inputs,
     * (pixel / 255 - mean) / std. A runner refuses another dataset. Absent in files of lowbit 0.1.
     */
    input: z
      .object({
        dataset: z.string().min(1).max(256).optional(),
        mean: z.array(z.number().finite()).min(1).max(64),
        std: z.array(z.number().finite().positive()).min(1).max(64),
      })
      .strict()
      .refine((i) => i.mean.length === i.std.length, 'mean and std need one entry per channel each')
      .optional(),
    layers: z.array(layerEntrySchema).min(1).max(4096),
    outputs: z.array(name).min(1).max(16),
    tensors: z.array(tensorEntrySchema).max(16384),
  })
  .strict();

export type Manifest = z.output<typeof manifestSchema>;
