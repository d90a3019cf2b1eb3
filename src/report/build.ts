// Runs and searches in, report.html out: the library entry point of `lowbit report` and the demo.
import { writeFileAtomic } from '../util/atomic.js';
import { collectRun, collectSearch, isSearch, type RunData, type SearchData } from './collect.js';
import { renderReport } from './html.js';

export interface BuildReportOptions {
  /** Run directories and search results, in the order the report lists them. */
  inputs: string[];
  out: string;
  accelerator?: string;
  title?: string;
}

export async function buildReport(o: BuildReportOptions): Promise<{ runs: RunData[]; searches: SearchData[]; bytes: number }> {
  if (o.inputs.length === 0) throw new Error('report: no runs given (expected run directories or search results)');
  const runs: RunData[] = [],
    searches: SearchData[] = [];
  for (const p of o.inputs) {
    if (isSearch(p)) searches.push(collectSearch(p));
    else runs.push(await collectRun(p, o.accelerator ?? 'bitfusion'));
  }
  const html = await renderReport({ runs, searches, ...(o.title ? { title: o.title } : {}) });
  writeFileAtomic(o.out, html);
  return { runs, searches, bytes: Buffer.byteLength(html) };
}
