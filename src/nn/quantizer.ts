// The quantization state of one tensor (a layer's weights or its input activations): the
// format spec, its fitted parameters, and how they are kept up to date during training.
//   - LSQ steps and PACT clips are trained variables (owned by the layer), initialised from
//     the first batch seen in training.
//   - Other weight formats refit their parameters every `refitEvery` training steps.
//   - Other activation formats track an exponential moving average of the batch range for
//     formats calibrated by their range (int), or refit on the batch every `refitEvery` steps;
//     inference uses the parameters last fitted in training.
import { tf, type Tensor } from '../engine/tf.js';
import { fakeQuant, fakeQuantLearned, type FakeQuantHook } from '../quant/fake-quant.js';
import { defaultRefitEvery, formatOf, isRangeCalibrated, learnedOf, parseFormatSpec, type FormatSpec } from '../quant/registry.js';
import { channelStats, sampleValues } from '../quant/numeric.js';

export type QuantRole = 'weight' | 'activation';
type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export interface QuantizerState {
  /** Fitted parameters (JSON-safe formats), null before the first fit. */
  params: unknown | null;
  /** EMA of the activation range (int activations). */
  range: [number, number] | null;
  steps: number;
}

/** Whether a format's parameters are a trained variable (its definition says: LSQ's step, PACT's clip). */
export function isLearned(spec: FormatSpec): boolean {
  return learnedOf(spec) !== null;
}

let calibrating = 0;

/**
 * Runs f in calibration mode: activation quantizers pass their input through unchanged and
 * record it (post-training quantization); call `finishCalibration` on each quantizer after.
 */
export function withCalibration<T>(f: () => T): T {
  calibrating++;
  try {
    return f();
  } finally {
    calibrating--;
  }
}

/** Values kept per quantizer for calibration (a random sample of every batch seen). */
const CALIBRATION_SAMPLE = 1 << 17;
/** Values of a batch an activation refit in training looks at (with the batch's exact extremes). */
const REFIT_SAMPLE = 1 << 16;

export class Quantizer {
  readonly spec: FormatSpec;
  readonly refitEvery: number;
  state: QuantizerState;
  /**
   * MPQ: one byte per weight, 1 = the weight has the extra bit. Kept apart from the JSON state
   * (it is as large as the tensor); checkpoints store it as an array.
   */
  flags: Uint8Array | null = null;
  /** A retraining method's change to the training-mode result (stochastic quantization). */
  trainingHook: FakeQuantHook | null = null;
  private observed: { sample: number[]; min: number; max: number; seen: number } | null = null;

  constructor(
    spec: unknown,
    readonly role: QuantRole,
    /** Training steps between refits of non-learned parameters (default: per format). */
    refitEvery?: number,
    /** EMA momentum of the activation range. */
    readonly momentum = 0.9,
    state?: QuantizerState,
  ) {
    this.spec = parseFormatSpec(spec);
    this.refitEvery = refitEvery ?? defaultRefitEvery(this.spec);
    if (!Number.isInteger(this.refitEvery) || this.refitEvery < 1)
      throw new Error(`refitEvery must be a positive integer, got ${refitEvery}`);
    this.state = state ?? { params: null, range: null, steps: 0 };
  }

  /** Shape of the learned parameter variable (LSQ step / PACT clip), or null. */
  learnedShape(channels: number): number[] | null {
    return learnedOf(this.spec)?.shape(this.spec, channels) ?? null;
  }

  /** Initial value of the learned parameter from data. */
  initLearned(x: Tensor): Float32Array {
    const def = formatOf(this.spec);
    const shape = x.shape;
    return Float32Array.from(learnedOf(this.spec)!.values(def.fit(x.dataSync() as Float32Array, shape, this.spec)));
  }

  /** Records x for calibration (activations seen in calibration mode): exact extremes and a random sample. */
  private observe(x: Tensor): void {
    const v = x.dataSync() as Float32Array;
    const o = (this.observed ??= { sample: [], min: Infinity, max: -Infinity, seen: 0 });
    const st = channelStats(v, 1);
    o.min = Math.min(o.min, st.min[0]);
    o.max = Math.max(o.max, st.max[0]);
    if (o.sample.length < CALIBRATION_SAMPLE)
      o.sample.push(...sampleValues(v, Math.min(8192, CALIBRATION_SAMPLE - o.sample.length), o.seen + 1));
    o.seen += v.length;
  }

  /** Fits the parameters to everything observed in calibration mode; false if nothing was seen. */
  finishCalibration(learned?: LayerVariable): boolean {
    const o = this.observed;
    if (!o || o.seen === 0) return false;
    const def = formatOf(this.spec);
    // Range-calibrated formats need the exact extremes, which a sample may miss.
    const data = isRangeCalibrated(this.spec) ? Float32Array.from([o.min, o.max, ...o.sample]) : Float32Array.from(o.sample);
    const learnedDef = learnedOf(this.spec);
    if (learnedDef) {
      if (!learned) throw new Error(`${this.spec.format} quantizer needs its learned parameter`);
      const v = learnedDef.values(def.fit(data, [data.length], this.spec));
      const shape = learned.shape as number[];
      learned.write(tf.fill(shape, v[0]));
      this.state.steps = Math.max(this.state.steps, 1);
    } else {
      this.state.params = def.fit(data, [data.length], this.spec);
      if (isRangeCalibrated(this.spec)) this.state.range = [o.min, o.max];
    }
    this.observed = null;
    return true;
  }

  /** Fake-quantizes x; `learned` is the layer's LSQ step or PACT clip variable. */
  apply(x: Tensor, training: boolean, learned?: LayerVariable): Tensor {
    const spec = this.spec;
    if (calibrating > 0 && this.role === 'activation') {
      this.observe(x);
      return x;
    }
    if (isLearned(spec)) {
      if (!learned) throw new Error(`${spec.format} quantizer needs its learned parameter`);
      if (
        training &&
        this.state.steps === 0 &&
        learned
          .read()
          .dataSync()
          .every((v) => v === 0)
      ) {
        const init = this.initLearned(x);
        learned.write(tf.tensor(init, learned.shape as number[]));
      }
      if (training) this.state.steps++;
      return fakeQuantLearned(x, learned.read(), spec);
    }
    if (training || this.state.params === null) this.update(x, training);
    return fakeQuant(x, spec, this.params, training ? this.trainingHook : null);
  }

  /**
   * The parameters inference uses, in the format's own parameter shape (what encode/decode and
   * the packer take): LSQ's learned step and PACT's learned clip become uniform parameters;
   * other formats their fitted parameters with MPQ flags attached. Null before any fit.
   */
  effectiveParams(learned?: LayerVariable): unknown {
    const spec = this.spec;
    const learnedDef = learnedOf(spec);
    if (!learnedDef) return this.params;
    if (!learned) throw new Error(`${spec.format} quantizer needs its learned parameter`);
    return learnedDef.params(Array.from(learned.read().dataSync() as Float32Array), spec);
  }

  /** The parameters fake quantization uses: the fitted ones, with MPQ flags attached. */
  get params(): unknown {
    const p = this.state.params;
    if (!this.flags || p === null) return p;
    return { ...(p as object), flags: this.flags };
  }

  private update(x: Tensor, training: boolean): void {
    const def = formatOf(this.spec);
    const due = this.state.params === null || (training && this.state.steps % this.refitEvery === 0);
    if (training) this.state.steps++;
    if (this.role === 'activation' && isRangeCalibrated(this.spec)) {
      // One native pass (channelStats) instead of a JavaScript loop over every activation.
      const st = channelStats(x.dataSync() as Float32Array, 1);
      const lo = st.min[0],
        hi = st.max[0];
      const r = this.state.range;
      const m = this.momentum;
      this.state.range = r && training ? [m * r[0] + (1 - m) * lo, m * r[1] + (1 - m) * hi] : [lo, hi];
      this.state.params = def.fit(Float32Array.from(this.state.range), [2], this.spec);
      return;
    }
    if (!due) return;
    const v = x.dataSync() as Float32Array;
    const perChannel = (this.spec as { granularity?: string }).granularity === 'channel';
    if (this.role === 'weight' || perChannel || v.length <= REFIT_SAMPLE) {
      this.state.params = def.fit(v, x.shape, this.spec);
      return;
    }
    // Activations fitted per tensor (the default): a search (MSE clip, percentile, DyBit's scale and kmax)
    // over every value of a batch cost more than the training step itself on vgg9 (8 M values,
    // 100 candidate grids); a random sample plus the exact extremes, as in calibration, fits the
    // same grid to well within the noise of one batch.
    const st = channelStats(v, 1);
    const data = Float32Array.from([st.min[0], st.max[0], ...sampleValues(v, REFIT_SAMPLE, this.state.steps + 1)]);
    this.state.params = def.fit(data, [data.length], this.spec);
  }

  /** Bits per value a packer would store (for reports). */
  get bits(): number {
    return this.spec.bits;
  }
}
