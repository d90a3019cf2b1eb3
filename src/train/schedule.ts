// Learning-rate schedules as pure functions of training progress (in epochs, fractional),
// so a resumed run computes exactly the rates an uninterrupted one would.

export type Schedule =
  | { kind: 'constant' }
  | { kind: 'cosine'; minLr?: number }
  | { kind: 'step'; stepEpochs: number; gamma: number }
  | { kind: 'multistep'; milestones: number[]; gamma: number };

export interface LrConfig {
  lr: number;
  schedule: Schedule;
  /** Linear warm-up from lr/warmupSteps to lr over the first warmupEpochs. */
  warmupEpochs: number;
  epochs: number;
}

export function learningRate(c: LrConfig, progress: number): number {
  if (c.warmupEpochs > 0 && progress < c.warmupEpochs) return c.lr * Math.max(progress / c.warmupEpochs, 1e-3);
  const s = c.schedule;
  switch (s.kind) {
    case 'constant':
      return c.lr;
    case 'cosine': {
      const span = Math.max(c.epochs - c.warmupEpochs, 1e-9);
      const t = Math.min(Math.max((progress - c.warmupEpochs) / span, 0), 1);
      const min = s.minLr ?? 0;
      return min + 0.5 * (c.lr - min) * (1 + Math.cos(Math.PI * t));
    }
    case 'step':
      return c.lr * s.gamma ** Math.floor(progress / s.stepEpochs);
    case 'multistep':
      return c.lr * s.gamma ** s.milestones.filter((m) => progress >= m).length;
    default: {
      const never: never = s;
      throw new Error(`unknown schedule ${JSON.stringify(never)}`);
    }
  }
}
