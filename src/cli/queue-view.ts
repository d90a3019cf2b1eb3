// The coordinator's view of a distributed run on stderr: on a terminal, a block redrawn in place
// (done / running on which worker at which epoch / waiting, ETA); otherwise one line whenever the
// counts change (CI logs, pipes).
import type { QueueView } from '../queue/coordinator.js';

function duration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function viewLines(v: QueueView): string[] {
  const head =
    `queue: ${v.done}/${v.total} done, ${v.running.length} running, ${v.waiting} waiting` +
    `${v.failed ? `, ${v.failed} failed` : ''}; ${v.workers} worker${v.workers === 1 ? '' : 's'}` +
    `${v.etaSeconds !== null && v.etaSeconds > 0 ? `; about ${duration(v.etaSeconds)} to go` : ''}`;
  const rows = v.running.map(({ label, progress: p }) =>
    p && p.epochs === 0
      ? `  ${label}: ${p.worker}, calibrating`
      : p
        ? `  ${label}: ${p.worker}, epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}${p.steps ? ` step ${p.step}/${p.steps}` : ''}${p.resumedFrom ? ` (resumed after epoch ${p.resumedFrom})` : ''}`
        : `  ${label}: starting`,
  );
  return [head, ...rows];
}

/** A QueueView consumer writing to stderr. */
export function queueViewPrinter(quiet = false): (v: QueueView) => void {
  if (quiet) return () => {};
  const tty = Boolean(process.stderr.isTTY);
  let drawn = 0;
  let last = '';
  return (v) => {
    const lines = viewLines(v);
    if (tty) {
      if (drawn) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
      process.stderr.write(`${lines.join('\n')}\n`);
      drawn = lines.length;
      return;
    }
    const key = `${v.done}/${v.failed}/${v.running.map((r) => `${r.label}@${r.progress?.worker ?? ''}:${r.progress?.epoch ?? ''}`).join(',')}`;
    if (key !== last) process.stderr.write(`${lines.join('\n')}\n`);
    last = key;
  };
}
