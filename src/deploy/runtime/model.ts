// loadLowbit(bytes).predict(input): a packed model, validated and lowered once, then run with
// the integer runtime on batches of normalised images (NHWC float32, as the model was trained on).
import { readPacked, type PackedModel } from '../read.js';
import type { Program } from './lower.js';
import type { Value } from './ops.js';

export class LowbitModel {
  readonly packed: PackedModel;
  private readonly program: Program;

  /** A model from readPacked, which has checked and lowered it already (a file it returns always runs). */
  constructor(packed: PackedModel) {
    this.packed = packed;
    this.program = packed.program;
  }

  /** Input shape of one example (height, width, channels). */
  get inputShape(): number[] {
    return this.program.inputShape;
  }

  /** Logits [batch, classes] for `batch` examples stored one after another in `input`. */
  predict(input: Float32Array, batch: number): Float32Array {
    const per = this.program.inputShape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batch) || batch < 1 || input.length !== batch * per)
      throw new Error(`predict: ${input.length} values is not ${batch} examples of shape [${this.program.inputShape.join(', ')}]`);
    const values = new Map<string, Value>([
      [this.program.inputName, { kind: 'f', data: input, shape: [batch, ...this.program.inputShape] }],
    ]);
    for (const step of this.program.steps) step(values);
    const out = values.get(this.program.outputName)!;
    if (out.kind !== 'f') throw new Error('predict: the model ends in a quantized tensor');
    return out.data;
  }
}

/** Reads, validates and prepares a packed model (throws PackedFormatError on a damaged file). */
export function loadLowbit(bytes: Uint8Array): LowbitModel {
  return new LowbitModel(readPacked(bytes));
}
