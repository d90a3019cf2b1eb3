// loadLowbit(bytes).predict(input): a packed model, validated and lowered once, then run with
// the integer runtime on batches of normalised images (NHWC float32, as the model was trained on).
import { readPacked, type PackedModel } from '../read.js';
import type { Program } from './lower.js';
import type { Value } from './ops.js';
import { defaultThreads, oneAtATime, startedPool, threadsAvailable } from './wasm-threads.js';

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

  /** Logits [batch, classes] for `batch` examples stored one after another in `input`, on this thread. */
  predict(input: Float32Array, batch: number): Float32Array {
    const values = this.inputs('predict', input, batch);
    for (const step of this.program.steps) step(values);
    return this.logits(values);
  }

  /**
   * The same logits, bit for bit, with large layers split over `threads` threads (the calling one and
   * Web Workers) where the page is cross-origin isolated and the WebAssembly kernels run; on one
   * thread elsewhere. The workers start on first use and stay for later calls. The calling thread
   * computes its share of each split layer, then waits for the workers' without blocking.
   */
  async predictAsync(input: Float32Array, batch: number, o: { threads?: number } = {}): Promise<Float32Array> {
    const values = this.inputs('predictAsync', input, batch);
    const n = o.threads ?? defaultThreads();
    if (!Number.isInteger(n) || n < 1) throw new Error(`predictAsync: threads must be a whole number ≥ 1, got ${n}`);
    if (n === 1 || !threadsAvailable()) {
      for (const step of this.program.steps) step(values);
      return this.logits(values);
    }
    // The pool is (re)started inside the queue: a run with another thread count may still be using it.
    return oneAtATime(async () => {
      // Workers that cannot start here leave the run (and later ones) on one thread.
      const threads = (await startedPool(n)) ?? undefined;
      for (const step of this.program.steps) await step(values, threads);
      return this.logits(values);
    });
  }

  private inputs(what: string, input: Float32Array, batch: number): Map<string, Value> {
    const per = this.program.inputShape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batch) || batch < 1 || input.length !== batch * per)
      throw new Error(`${what}: ${input.length} values is not ${batch} examples of shape [${this.program.inputShape.join(', ')}]`);
    return new Map<string, Value>([[this.program.inputName, { kind: 'f', data: input, shape: [batch, ...this.program.inputShape] }]]);
  }

  private logits(values: Map<string, Value>): Float32Array {
    const out = values.get(this.program.outputName)!;
    if (out.kind !== 'f') throw new Error('predict: the model ends in a quantized tensor');
    return out.data;
  }
}

/** Reads, validates and prepares a packed model (throws PackedFormatError on a damaged file). */
export function loadLowbit(bytes: Uint8Array): LowbitModel {
  return new LowbitModel(readPacked(bytes));
}
