// How closely the integer runtime follows the training simulation on the same images: top-1
// agreement, and logit differences in output steps. The runtime's logits are float (exact
// integer accumulators times the last layer's scale), so the step is the one an 8-bit symmetric
// output grid would have over these logits: max |simulated logit| / 127.

export interface Agreement {
  images: number;
  /** Share of images whose arg-max class is the same in both. */
  top1Agreement: number;
  /** Accuracy of the simulation on the same images. */
  simulationAccuracy: number;
  /** Output step the differences are measured in. */
  step: number;
  /** Share of images whose every logit is within one step of the simulation's. */
  withinOneStep: number;
  /** Largest logit difference, in steps. */
  maxSteps: number;
}

function argmax(x: Float32Array, at: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (x[at + j] > x[at + best]) best = j;
  return best;
}

/** Batches of runtime and simulation logits ([n, k] each, in the same order) and the labels. */
export function agreement(runtime: Float32Array[], simulation: Float32Array[], k: number, labels: number[]): Agreement {
  const rt = Float32Array.from(runtime.flatMap((b) => Array.from(b)));
  const sim = Float32Array.from(simulation.flatMap((b) => Array.from(b)));
  if (rt.length !== sim.length || rt.length !== labels.length * k)
    throw new Error(`agreement: ${rt.length} runtime and ${sim.length} simulation logits for ${labels.length} images of ${k} classes`);
  const n = labels.length;
  let peak = 0;
  for (const v of sim) peak = Math.max(peak, Math.abs(v));
  const step = peak > 0 ? peak / 127 : 1;
  let same = 0,
    simCorrect = 0,
    within = 0,
    maxSteps = 0;
  for (let i = 0; i < n; i++) {
    const a = argmax(rt, i * k, k),
      b = argmax(sim, i * k, k);
    if (a === b) same++;
    if (b === labels[i]) simCorrect++;
    let worst = 0;
    for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(rt[i * k + j] - sim[i * k + j]) / step);
    if (worst <= 1) within++;
    maxSteps = Math.max(maxSteps, worst);
  }
  return { images: n, top1Agreement: same / n, simulationAccuracy: simCorrect / n, step, withinOneStep: within / n, maxSteps };
}
