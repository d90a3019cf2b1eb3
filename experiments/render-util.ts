// Cell formatting shared by the results renderers.
import { parseQuantizeOptions, type QuantizeOptionsInput } from '../src/train/quantize.js';
import type { RunRecord } from './record.js';
import { prose } from './prose.js';

const md = prose('render-util');

export function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

export function minutes(s: number): string {
  return s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

/** A record's commit; one made from uncommitted code says so where it is shown (the legend is in RESULTS). */
export function commit(r: { gitCommit: string; gitDirty: boolean }): string {
  return `\`${r.gitCommit.slice(0, 8)}${r.gitDirty ? '+' : ''}\`${r.gitDirty ? ' (uncommitted code†)' : ''}`;
}

/** A signed difference in points, e.g. +0.42. */
export function points(d: number): string {
  return `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
}

/** Where and when a record or benchmark was produced, for a table's caption. */
export function provenance(r: { machine: RunRecord['machine']; gitCommit: string; gitDirty: boolean; finishedAt: string }): string {
  const flags = r.machine.cpuFlags ? `; ${r.machine.cpuFlags}` : '';
  return `${r.machine.cpu} (${r.machine.cores} cores, ${r.machine.engine}${flags}), commit ${commit(r)}, ${r.finishedAt.slice(0, 10)}`;
}

/** Test images of MNIST and Fashion-MNIST (the datasets of every experiment here). */
export const TEST_IMAGES = 10000;

/** Binomial standard error of a test accuracy measured on TEST_IMAGES images. */
export function accuracySE(a: number): number {
  return Math.sqrt((a * (1 - a)) / TEST_IMAGES);
}

/**
 * Where a baseline ended against the FP checkpoint it started from (accuracies as fractions), as a
 * sentence; when it lost (almost) nothing, `nothingToRecover` says what that means for the method.
 */
export function fpGapNote(fp: number, baseline: number, nothingToRecover: string): string {
  const loss = 100 * (fp - baseline);
  const where = loss > 0 ? `${loss.toFixed(2)} points below` : `${(-loss).toFixed(2)} points above`;
  return ` The baseline ends ${where} the FP checkpoint (${pct(fp)})${loss < 0.3 ? `: ${nothingToRecover}` : ''}.`;
}

/**
 * The noise of a difference between two single runs, as a sentence (the accuracies as fractions),
 * with the measured seed-to-seed spread of the base when there is one (render-noise.ts).
 */
export function differenceNoise(a: number, b: number, seedSd: { sd: number; runs: number } | null): string {
  const se = 100 * Math.hypot(accuracySE(a), accuracySE(b));
  const seeds = seedSd
    ? md('measured-on-this-network-the', { runs: seedSd.runs, sd: seedSd.sd.toFixed(2), sd2: (Math.SQRT2 * seedSd.sd).toFixed(2) })
    : ' Seed-to-seed variation is not measured for this network yet ("Run-to-run noise").';
  return md('one-run-each-on-test', { TEST_IMAGES: TEST_IMAGES.toLocaleString('en-US'), se: se.toFixed(2), seeds });
}

/** The weight bits an experiment's options resolve to (the format's own width when not given); its rows all have scalar weights. */
export function weightBits(o: QuantizeOptionsInput): number {
  const b = parseQuantizeOptions(o).wbits;
  if (b === undefined) throw new Error(`method ${o.method} has no weight bits (product codes)`);
  return b;
}
