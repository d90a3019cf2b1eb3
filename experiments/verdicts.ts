// What the renderers of docs/RESULTS.md hand up while they render: each targeted comparison's
// verdict, for the one-screen summary that opens RESULTS, and the evidence too long for RESULTS
// itself (epoch-by-epoch curves, ablations, per-layer detail), for the appendix
// docs/results/details.md. Reset by renderResults before every render.
export interface Verdict {
  /** The run (base.experiment), or what was measured when it is not one run. */
  id: string;
  result: string;
  /** What it is measured against (a baseline run or the FP model), with its accuracy. */
  against: string;
  /** The measured difference or ratio. */
  measured: string;
  /** The difference two single runs show by chance on this base (±, points), when measured. */
  noise: string;
  target: string;
  met: boolean;
}

let verdicts: Verdict[] = [];
let details: string[] = [];

export function resetCollectors(): void {
  verdicts = [];
  details = [];
}

export function noteVerdict(v: Verdict): void {
  verdicts.push(v);
}

export function takeVerdicts(): Verdict[] {
  return verdicts;
}

/**
 * Moves a titled piece of evidence into the appendix; returns the line RESULTS keeps in its place
 * (a link to it), or nothing when there is no evidence.
 */
export function toDetails(title: string, lines: string[]): string[] {
  if (lines.every((l) => l.trim() === '')) return [];
  details.push('', `## ${title}`, '', ...lines.filter((l, i) => i > 0 || l.trim() !== ''));
  const anchor = title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
  return ['', `${title}: in [results/details.md](results/details.md#${anchor}).`];
}

export function takeDetails(): string[] {
  return details;
}

/** The two-run chance difference on a base, from its seed spread (± √2·sd), or '—'. */
export function chanceText(spread: { sd: number } | null): string {
  return spread ? `±${(Math.SQRT2 * spread.sd).toFixed(2)}` : '—';
}
