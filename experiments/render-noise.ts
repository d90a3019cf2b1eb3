// Run-to-run noise: the uniform W2A4 retraining repeated with other seeds. Every table here
// compares single runs; this spread says how much of a difference chance alone can make.
import { experiments, type QuantExperiment } from './registry.js';
import type { RunRecord } from './record.js';
import { intReferenceId, NOISE_SEEDS } from './seed-methods.js';
import { pct } from './render-util.js';
import { prose } from './prose.js';

const md = prose('render-noise');

type Records = Map<string, RunRecord>;

export interface SeedSpread {
  accuracies: number[];
  /** Mean test accuracy over the seeds, in percent. */
  mean: number;
  /** Sample standard deviation of the test accuracy, in points. */
  sd: number;
}

/** The seed spread of one base's uniform W2A4 run, once at least two seeds have records. */
export function seedSpread(records: Records, base: string): SeedSpread | null {
  const ref = intReferenceId(base, 2);
  const ids = [ref, ...NOISE_SEEDS.map((s) => `${ref}-seed${s}`)];
  const accuracies = ids.flatMap((id) => {
    const r = records.get(id);
    return r ? [100 * r.final.testAccuracy] : [];
  });
  if (accuracies.length < 2) return null;
  const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
  const sd = Math.sqrt(accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / (accuracies.length - 1));
  return { accuracies, mean, sd };
}

/** seedSpread in the shape differenceNoise takes. */
export function spreadOf(records: Records, base: string): { sd: number; runs: number } | null {
  const s = seedSpread(records, base);
  return s ? { sd: s.sd, runs: s.accuracies.length } : null;
}

export function noiseSection(records: Records): string[] {
  const rows = experiments.filter((e): e is QuantExperiment => e.group === 'quant' && e.table === 'noise');
  if (rows.length === 0) return [];
  const bases = [...new Set(rows.map((e) => e.base))];
  const lines = [
    '### Run-to-run noise',
    '',
    md('the-uniform-int-w2a4-retraining', { NOISE_SEEDS: NOISE_SEEDS.join(' and ') }),
    '',
    '| base | seed 1 | ' + NOISE_SEEDS.map((s) => `seed ${s}`).join(' | ') + ' | standard deviation (points) |',
    '|---|---|' + NOISE_SEEDS.map(() => '---|').join('') + '---|',
  ];
  for (const base of bases) {
    const ref = intReferenceId(base, 2);
    const cell = (id: string) => {
      const r = records.get(id);
      return r ? pct(r.final.testAccuracy) : `not run yet (\`node dist/experiments/run.js ${id}\`)`;
    };
    const spread = seedSpread(records, base);
    lines.push(
      `| ${base} | ${cell(ref)} | ${NOISE_SEEDS.map((s) => cell(`${ref}-seed${s}`)).join(' | ')} | ${spread ? `${spread.sd.toFixed(2)} (${spread.accuracies.length} runs)` : ''} |`,
    );
  }
  return [...lines, ''];
}

/** The measured seed spread per base, so that a ✓ or ✗ within it reads as the chance it may be. */
export function noiseNote(records: Records, bases: string[]): string[] {
  const parts = bases.flatMap((base) => {
    const s = spreadOf(records, base);
    return s
      ? [`${base} ${s.sd.toFixed(2)} points (${s.runs} runs; a difference of two single runs ±${(Math.SQRT2 * s.sd).toFixed(2)})`]
      : [];
  });
  if (parts.length === 0) return [];
  return [
    '',
    `Seed-to-seed standard deviation of the uniform W2A4 retraining ("Run-to-run noise"): ${parts.join('; ')}. A ✓ or ✗ decided by less than that is chance as much as method.`,
  ];
}
