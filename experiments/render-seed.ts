// The issue 4 sections of docs/RESULTS.md: stochastic quantization against BWN/TWN, its
// ablations, MPQ against uniform QAT, the formats at 4 and 3 bits, and the methods' step time.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { experiments, type QuantExperiment } from './registry.js';
import type { RunRecord } from './record.js';
import type { MpqSummary } from '../src/train/methods/mpq.js';
import { intReferenceId } from './seed-methods.js';
import { noiseNote, noiseSection, spreadOf } from './render-noise.js';
import { differenceNoise, fpGapNote, minutes, pct, points, provenance, weightBits } from './render-util.js';
import { prose } from './prose.js';
import { chanceText, noteVerdict, toDetails } from './verdicts.js';

const md = prose('render-seed');

type Records = Map<string, RunRecord>;

const quant = () => experiments.filter((e): e is QuantExperiment => e.group === 'quant');
const bases = () => [...new Set(quant().map((e) => e.base))];

function notRun(e: QuantExperiment): string {
  return `not run yet (\`node dist/experiments/run.js ${e.id}\`)`;
}

/** Issue 4's MPQ target: at least this compression versus W4A4, at most this drop (points). */
const MPQ_TARGET = { compression: 1.3, drop: 0.2 };
const mpqTargetText = `≥ ${MPQ_TARGET.compression}×, ≥ −${MPQ_TARGET.drop}`;

/**
 * Where uniform W3A4 on the same grid already meets the MPQ target's bar (≥ 1.3×, within 0.2 of
 * W4A4), say so: there the extra bits are not what meets it.
 */
function uniformAlsoMeets(records: Records): string[] {
  const out: string[] = [];
  for (const base of bases()) {
    const w4 = records.get(intReferenceId(base, 4)),
      w3 = records.get(intReferenceId(base, 3));
    if (!w4 || !w3) continue;
    const d = 100 * (w3.final.testAccuracy - w4.final.testAccuracy);
    if (4 / 3 >= MPQ_TARGET.compression && d >= -MPQ_TARGET.drop) out.push(md('uniform-w3a4-on-the-same', { base, d: points(d) }));
  }
  return out.length ? ['', ...out] : [];
}

/** Where MPQ put its extra bits: flagged weights per layer of every recorded MPQ run. */
function mpqPerLayer(records: Records): string[] {
  const lines: string[] = [];
  for (const e of quant().filter((x) => x.table === 'mpq' && x.options.method === 'mpq')) {
    const per = (records.get(e.id)?.methodSummary as MpqSummary | undefined)?.perLayer;
    if (!per?.length) continue;
    const cells = per.map(
      (l) =>
        `${l.name} ${l.flagged.toLocaleString('en-US')} of ${l.weights.toLocaleString('en-US')} (${pct(l.flagged / l.weights)}, ${l.bitsPerWeight.toFixed(2)} b)`,
    );
    lines.push(`- ${e.id}: ${cells.join('; ')}`);
  }
  return lines.length
    ? ['', 'Flagged weights per layer (count, share, and stored bits per weight with the flag index):', '', ...lines]
    : [];
}

/** The evidence behind a missed SQ target: SQ and its STE baseline epoch by epoch, and the noise. */
function sqCurves(records: Records): string[] {
  const lines: string[] = [];
  for (const base of bases().filter((b) => b.includes('vgg9'))) {
    for (const [name, suffix] of ['bwn', 'twn'].flatMap((n) => [
      [n, ''],
      [n, '-long'],
    ])) {
      const a = records.get(`${base}.ste-${name}${suffix}`),
        b = records.get(`${base}.sq-${name}${suffix}`);
      if (!a || !b || 100 * (b.final.testAccuracy - a.final.testAccuracy) >= 0.3) continue;
      const ratio = (i: number) => (b.history[i]?.method as { sqRatio?: number } | undefined)?.sqRatio;
      const full = b.history.filter((h) => (h.method as { sqRatio?: number } | undefined)?.sqRatio === 1).length;
      const last = b.history.length - 1;
      const climbing = last > 0 && b.history[last].testAccuracy > b.history[last - 1].testAccuracy;
      const longSte = records.get(`${base}.ste-${name}-long`),
        longSq = records.get(`${base}.sq-${name}-long`);
      // The short pair points to the long one; the long pair's own curves end the story.
      const longNote = suffix
        ? ''
        : longSte && longSq
          ? md('at-epochs-ste-ends-at', {
              historyLength: longSq.history.length,
              testAccuracy: pct(longSte.final.testAccuracy),
              testAccuracy2: pct(longSq.final.testAccuracy),
              testAccuracy3: points(100 * (longSq.final.testAccuracy - longSte.final.testAccuracy)),
            })
          : `the next experiment is the pair at twice the epochs (\`node dist/experiments/run.js ${base}.ste-${name}-long ${base}.sq-${name}-long\`)`;
      // What SQ could recover at most: the baseline's loss against the FP checkpoint it started from.
      const fp = records.get(base);
      const fpNote = fp
        ? fpGapNote(
            fp.final.testAccuracy,
            a.final.testAccuracy,
            md('the-weights-costs-this-network', { value: name === 'bwn' ? 'binarizing' : 'ternarizing' }),
          )
        : '';
      lines.push(
        '',
        `### ${base}: SQ-${name.toUpperCase()} against ${name.toUpperCase()} epoch by epoch (${b.history.length} epochs)`,
        '',
        md('test-accuracy-of-the-fully', {
          full,
          historyLength: b.history.length,
          historyLength2: a.history.length,
          trainAccuracy: pct(a.history[a.history.length - 1].trainAccuracy),
          trainAccuracy2: pct(b.history[last].trainAccuracy),
          value: climbing ? "; SQ's test accuracy was still rising in its last epoch" : '',
          testAccuracy: differenceNoise(a.final.testAccuracy, b.final.testAccuracy, spreadOf(records, base)),
          fpNote,
          value2: longNote ? ` Whether longer stages close the gap: ${longNote}.` : '',
        }),
        '',
        '| epoch | SQ ratio | STE test | SQ test | SQ train |',
        '|---|---|---|---|---|',
      );
      for (let i = 0; i < Math.max(a.history.length, b.history.length); i++) {
        const x = a.history[i],
          y = b.history[i];
        lines.push(
          `| ${i + 1} | ${ratio(i) ?? ''} | ${x ? pct(x.testAccuracy) : ''} | ${y ? pct(y.testAccuracy) : ''} | ${y ? pct(y.trainAccuracy) : ''} |`,
        );
      }
    }
  }
  return lines;
}

function sqSection(records: Records): string[] {
  const lines = [
    '### Stochastic quantization against BWN and TWN',
    '',
    md('weights-binary-bwn-sign-mean'),
    'Issue 4 target: SQ beats its baseline by ≥ 0.3 points on Fashion-MNIST vgg9. Paper (CIFAR-10 VGG-9): BWN 89.33% → SQ-BWN 90.60% (+1.27), TWN 90.13% → SQ-TWN 91.63% (+1.50).',
    '',
    '| base | weights | STE | SQ | Δ (points) | target | epochs | wall (STE / SQ) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const base of bases()) {
    for (const [name, suffix] of ['bwn', 'twn'].flatMap((n) => [
      [n, ''],
      [n, '-long'],
    ])) {
      const ste = quant().find((e) => e.id === `${base}.ste-${name}${suffix}`);
      const sq = quant().find((e) => e.id === `${base}.sq-${name}${suffix}`);
      if (!ste || !sq) continue;
      const a = records.get(ste.id),
        b = records.get(sq.id);
      const target = base.includes('vgg9') ? '≥ +0.3' : '';
      if (!a || !b) {
        lines.push(
          `| ${base} | ${name.toUpperCase()} | ${a ? pct(a.final.testAccuracy) : notRun(ste)} | ${b ? pct(b.final.testAccuracy) : notRun(sq)} | | ${target} | ${sq.options.epochs} | |`,
        );
        continue;
      }
      const d = 100 * (b.final.testAccuracy - a.final.testAccuracy);
      const met = target ? (d >= 0.3 ? ' ✓' : ' ✗') : '';
      if (target)
        noteVerdict({
          id: sq.id,
          result: pct(b.final.testAccuracy),
          against: `STE ${pct(a.final.testAccuracy)}`,
          measured: points(d),
          noise: chanceText(spreadOf(records, base)),
          target,
          met: d >= 0.3,
        });
      lines.push(
        md('block', {
          base,
          name: name.toUpperCase(),
          testAccuracy: pct(a.final.testAccuracy),
          testAccuracy2: pct(b.final.testAccuracy),
          d: points(d),
          target,
          met,
          historyLength: b.history.length,
          wallSeconds: minutes(a.wallSeconds),
          wallSeconds2: minutes(b.wallSeconds),
        }),
      );
    }
  }
  lines.push(...noiseNote(records, bases()), ...toDetails('SQ against STE epoch by epoch', sqCurves(records)));
  const abl = quant().filter((e) => e.table === 'sq-ablation');
  if (abl.length) {
    const ablation = [
      md('each-variant-changes-one-choice'),
      '',
      '| experiment | variant | test accuracy | Δ vs default SQ (points) | Δ vs STE (points) | wall time |',
      '|---|---|---|---|---|---|',
    ];
    for (const e of abl) {
      const r = records.get(e.id),
        ref = e.compareTo ? records.get(e.compareTo) : undefined;
      const ste = steBaseline(records, e.compareTo);
      const what = e.title.split(', ').slice(-1)[0];
      if (!r) {
        ablation.push(`| ${e.id} | ${what} | ${notRun(e)} | | | |`);
        continue;
      }
      const against = (x: RunRecord | undefined) => (x ? points(100 * (r.final.testAccuracy - x.final.testAccuracy)) : '');
      ablation.push(`| ${e.id} | ${what} | ${pct(r.final.testAccuracy)} | ${against(ref)} | ${against(ste)} | ${minutes(r.wallSeconds)} |`);
    }
    // The best setting per base stays here; the table of every variant goes to the appendix.
    lines.push(...bestVariants(records, abl), ...toDetails('SQ ablations', ablation));
  }
  return [...lines, ''];
}

/** The STE record a default SQ row is compared with (same format and epochs), if it has run. */
function steBaseline(records: Records, sqId: string | undefined): RunRecord | undefined {
  const steId = quant().find((x) => x.id === sqId)?.compareTo;
  return steId ? records.get(steId) : undefined;
}

/** Per base and format: the most accurate SQ run (default or variant) against the STE baseline. */
function bestVariants(records: Records, abl: QuantExperiment[]): string[] {
  const lines: string[] = [];
  for (const defaultId of [...new Set(abl.map((e) => e.compareTo ?? ''))]) {
    const ste = steBaseline(records, defaultId);
    const runs = [defaultId, ...abl.filter((e) => e.compareTo === defaultId).map((e) => e.id)].flatMap((id) => {
      const r = records.get(id);
      return r ? [{ id, r }] : [];
    });
    if (!ste || runs.length < 2) continue;
    const best = runs.reduce((a, b) => (b.r.final.testAccuracy > a.r.final.testAccuracy ? b : a));
    const d = 100 * (best.r.final.testAccuracy - ste.final.testAccuracy);
    const sd = spreadOf(records, quant().find((x) => x.id === defaultId)?.base ?? '')?.sd;
    const verdict =
      d <= 0
        ? 'no SQ setting beats STE here'
        : sd === undefined
          ? 'SQ beats STE here'
          : `above STE by ${d <= Math.SQRT2 * sd ? 'less' : 'more'} than two single runs differ by chance (±${(Math.SQRT2 * sd).toFixed(2)}), and picking the best of ${runs.length} favours chance too`;
    lines.push(
      `- ${defaultId}: the best of ${runs.length} SQ runs is ${best.id} at ${pct(best.r.final.testAccuracy)}, ${points(d)} points against STE (${pct(ste.final.testAccuracy)}); ${verdict}.`,
    );
  }
  return lines.length ? ['', 'The best SQ setting per base and format (default and every variant) against STE:', '', ...lines] : [];
}

function mpqSection(records: Records): string[] {
  const lines = [
    '### MPQ: extra bits for the weights that keep switching',
    '',
    md('activations-int-4-bits-first'),
    'Issue 4 target: ≥ 1.3× compression versus uniform W4A4 with accuracy within 0.2 points of it. Paper (CIFAR-10 VGG-9): 1.37× with no accuracy loss.',
    md('the-w4a4-reference-of-each'),
    '',
    '| base | configuration | test accuracy | Δ vs W4A4 (points) | bits / weight | compression vs W4 | flagged | target | wall time |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const base of bases()) {
    // The W4A4 reference on the same MSE-fitted grid as MPQ's base when it has been run (like for
    // like), else issue 3's max-abs QAT row.
    const refId = records.has(intReferenceId(base, 4)) ? intReferenceId(base, 4) : `${base}.ste-int-w4a4`;
    const w4 = records.get(refId);
    const rows = [
      refId,
      ...quant()
        .filter((e) => e.base === base && e.table === 'mpq')
        .map((e) => e.id),
    ];
    if (rows.length === 1) continue;
    for (const id of rows) {
      const e = quant().find((x) => x.id === id);
      if (!e) continue;
      const r = records.get(id);
      const config = e.title.split(', ').slice(1).join(', ');
      const isMpq = e.options.method === 'mpq';
      if (!r) {
        lines.push(`| ${base} | ${config} | ${notRun(e)} | | | | | ${isMpq ? mpqTargetText : ''} | |`);
        continue;
      }
      const ms = r.methodSummary as MpqSummary | undefined;
      const bits = ms ? ms.bitsPerWeight : weightBits(e.options);
      const comp = 4 / bits;
      const d = w4 ? 100 * (r.final.testAccuracy - w4.final.testAccuracy) : NaN;
      const met = isMpq && w4 ? (comp >= MPQ_TARGET.compression && d >= -MPQ_TARGET.drop ? ' ✓' : ' ✗') : '';
      // The summary holds MPQ as specified (threshold-aware learning rate, no budget); the variants stay in this table.
      if (isMpq && w4 && /\.mpq-w\da\d$/.test(e.id))
        noteVerdict({
          id: e.id,
          result: pct(r.final.testAccuracy),
          against: `W4A4 ${pct(w4.final.testAccuracy)}`,
          measured: `${comp.toFixed(2)}×, ${points(d)}`,
          noise: chanceText(spreadOf(records, base)),
          target: mpqTargetText,
          met: met === ' ✓',
        });
      lines.push(
        md('block-2', {
          base,
          config,
          testAccuracy: pct(r.final.testAccuracy),
          value: Number.isNaN(d) ? '' : points(d),
          bits: bits.toFixed(3),
          comp: comp.toFixed(3),
          value2: ms ? pct(ms.flaggedShare) : '—',
          value3: isMpq ? `${mpqTargetText}${met}` : '',
          wallSeconds: minutes(r.wallSeconds),
        }),
      );
    }
  }
  return [
    ...lines,
    ...uniformAlsoMeets(records),
    ...toDetails('MPQ flagged weights per layer', mpqPerLayer(records)),
    ...noiseNote(records, bases()),
    '',
  ];
}

const FORMAT_ORDER = ['int', 'po2', 'esb', 'dybit'];

/** The formats table's rows (its own and those listed there too), by base, then 4 before 3 bits, then format. */
function formatRows(): QuantExperiment[] {
  const order = bases();
  const key = (e: QuantExperiment) => [
    order.indexOf(e.base),
    -weightBits(e.options),
    e.options.activationFormat === 'dybit' ? 1 : 0,
    FORMAT_ORDER.indexOf(e.options.format ?? 'int'),
  ];
  return quant()
    .filter((x) => x.table === 'formats' || x.alsoIn === 'formats')
    .sort((a, b) => {
      const ka = key(a),
        kb = key(b);
      const i = ka.findIndex((v, j) => v !== kb[j]);
      return i < 0 ? 0 : ka[i] - kb[i];
    });
}

function formatsSection(records: Records): string[] {
  const lines = [
    '### Number formats at 4 and 3 weight bits',
    '',
    md('plain-ste-retraining-of-each'),
    'Paper (DyBit, ImageNet): +2 points over the best 4-bit method.',
    '',
    '| base | format | weights / activations | test accuracy | weight error (relative MSE) | epochs | wall time |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of formatRows()) {
    const r = records.get(e.id);
    const wa = `W${e.options.wbits} / ${e.options.activationFormat ?? 'int'} A${e.options.abits}`;
    const fmt = e.options.format ?? 'int';
    if (!r) {
      lines.push(`| ${e.base} | ${fmt} | ${wa} | ${notRun(e)} | | ${e.options.epochs} | |`);
      continue;
    }
    const we = r.weightError ? r.weightError.relativeMse.toExponential(2) : 'n/a';
    lines.push(`| ${e.base} | ${fmt} | ${wa} | ${pct(r.final.testAccuracy)} | ${we} | ${r.history.length} | ${minutes(r.wallSeconds)} |`);
  }
  return [...lines, ...dybitAgainstBest(records), ''];
}

/**
 * The paper's claim, held against our rows: DyBit weights (int activations) against the most
 * accurate other format at the same width on the same base, in accuracy and weight error.
 */
function dybitAgainstBest(records: Records): string[] {
  const lines: string[] = [];
  const rows = formatRows().filter((e) => e.options.activationFormat !== 'dybit');
  for (const base of bases())
    for (const bits of [4, 3]) {
      const here = rows.filter((e) => e.base === base && e.options.wbits === bits && records.has(e.id));
      const dy = here.find((e) => e.options.format === 'dybit');
      const others = here.filter((e) => e !== dy);
      if (!dy || others.length === 0) continue;
      const acc = (e: QuantExperiment) => records.get(e.id)!.final.testAccuracy;
      const err = (e: QuantExperiment) => records.get(e.id)!.weightError?.relativeMse;
      const best = others.reduce((a, b) => (acc(b) > acc(a) ? b : a));
      const errs = here.map(err).filter((v): v is number => v !== undefined);
      const lowest = errs.length === here.length && err(dy) === Math.min(...errs);
      const sd = spreadOf(records, base);
      const d = 100 * (acc(dy) - acc(best));
      // The paper's claim is the only bar DyBit has here; the verdict holds our rows against it.
      noteVerdict({
        id: dy.id,
        result: pct(acc(dy)),
        against: `${best.options.format ?? 'int'} ${pct(acc(best))}`,
        measured: points(d),
        noise: chanceText(sd),
        target: 'paper: +2.0',
        met: d >= 2,
      });
      lines.push(
        md('w-dybit-against-the-best', {
          base,
          bits,
          dy: pct(acc(dy)),
          format: best.options.format ?? 'int',
          best: pct(acc(best)),
          best2: points(100 * (acc(dy) - acc(best))),
          value: sd ? ` (seed sd on this base ${sd.sd.toFixed(2)})` : '',
          value2: lowest ? 'the lowest of the formats' : 'not the lowest',
          dy2: err(dy)?.toExponential(2) ?? 'n/a',
        }),
      );
    }
  return lines.length
    ? [
        '',
        'The paper reports DyBit 2 points above the best other 4-bit method on ImageNet. Here, DyBit weights (int activations) against the most accurate other format at the same width and base:',
        '',
        ...lines,
      ]
    : [];
}

interface MethodBench {
  command: string;
  rows: { model: string; batch: number; method: string; qat_s: number; method_s: number; ratio: number }[];
  gitCommit: string;
  gitDirty: boolean;
  machine: RunRecord['machine'];
  finishedAt: string;
}

/** Issue 4's step-time target covers SQ and MPQ on vgg9 only. */
function stepTargetMark(r: MethodBench['rows'][number]): string {
  if (r.model !== 'vgg9' || !/^(sq|mpq) /.test(r.method)) return '';
  return r.ratio <= 1.3 ? ' ✓' : ' ✗';
}

function benchSection(): string[] {
  const f = path.join(process.cwd(), 'results', 'bench-method-step.json');
  const lines = ['### Step time of the retraining methods', ''];
  if (!existsSync(f))
    return [
      ...lines,
      'Not measured yet: `node dist/bench/method-step.js --models vgg9,lenet5 --steps 30 --record results/bench-method-step.json`.',
      '',
    ];
  const b = JSON.parse(readFileSync(f, 'utf8')) as MethodBench;
  const table = [
    md('median-seconds-per-training-step', { command: b.command, b: provenance(b) }),
    '',
    '| model | batch | method | QAT step (s) | method step (s) | ratio |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of b.rows) {
    table.push(`| ${r.model} | ${r.batch} | ${r.method} | ${r.qat_s} | ${r.method_s} | ${r.ratio}${stepTargetMark(r)} |`);
  }
  const targeted = b.rows.filter((r) => stepTargetMark(r));
  const worst = targeted.reduce((a, r) => (r.ratio > a.ratio ? r : a), targeted[0]);
  if (worst)
    noteVerdict({
      id: 'step time of SQ and MPQ on vgg9',
      result: `worst ${worst.method}`,
      against: 'QAT step',
      measured: `${worst.ratio}×`,
      noise: '—',
      target: '≤ 1.3× QAT',
      met: targeted.every((r) => r.ratio <= 1.3),
    });
  lines.push(
    md('step-time-summary', {
      ratios: targeted.map((r) => `${r.method} ${r.ratio}×`).join(', '),
      methods: b.rows.length,
    }),
  );
  return [...lines, ...toDetails('Step time of the retraining methods', table), ''];
}

export function renderSeedMethods(records: Records): string[] {
  if (!quant().some((e) => e.table && e.table !== 'baselines')) return [];
  return [
    '',
    '## Seed methods (issue 4)',
    '',
    md('rows-start-from-the-same'),
    '',
    ...sqSection(records),
    ...mpqSection(records),
    ...formatsSection(records),
    ...noiseSection(records),
    ...benchSection(),
  ];
}
