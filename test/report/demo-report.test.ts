// The demo end to end (lowbit demo --quick on the embedded MNIST), then its report opened in
// headless Chromium: every figure rendered with data, no console errors, nothing fetched, and a
// screenshot saved next to the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { lowbit } from '../helpers/cli.js';
import { tmpDir } from '../helpers/fixtures.js';
import { checkReport } from '../helpers/browser.js';

const out = tmpDir();

test('demo --quick runs the pipeline on the embedded MNIST and prints a summary', () => {
  const r = lowbit(['demo', '--quick', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /lowbit demo summary/);
  // Columns: stage, weights / inputs, accuracy, runtime accuracy, bits/w, size, ...
  const row = (stage: string) => new RegExp(`^${stage}\\s{2,}.+?\\s{2,}([\\d.]+)%\\s+(\\S+)`, 'm').exec(r.stdout);
  for (const stage of ['train \\(FP32\\)', 'ptq W8A8', 'qat int W4A4', 'sq ternary', 'mpq W2A4', 'search \\(best point\\)']) {
    const m = row(stage);
    assert.ok(m && Number(m[1]) > 80, `${stage}: ${m?.[1]}\n${r.stdout}`);
    // The packed model run by the integer runtime scores what the simulation scored (within a point).
    if (m && m[2] !== '—') assert.ok(Math.abs(Number(m[2].replace('%', '')) - Number(m[1])) <= 1, `${stage} runtime ${m[2]}`);
  }
  for (const d of ['fp', 'ptq-w8a8', 'qat-w4a4', 'sq-twn', 'mpq-w2a4']) assert.ok(existsSync(path.join(out, d, 'checkpoint.lbck')), d);
  for (const d of ['ptq-w8a8', 'qat-w4a4', 'sq-twn', 'mpq-w2a4']) assert.ok(existsSync(path.join(out, d, 'model.lowbit')), d);
  assert.ok(existsSync(path.join(out, 'mpq-w2a4', 'model.onnx')));
  const front = JSON.parse(readFileSync(path.join(out, 'search', 'front.json'), 'utf8')) as { points: { kind: string }[] };
  assert.deepEqual(new Set(front.points.map((p) => p.kind)), new Set(['uniform-w8a8', 'uniform-w4a4', 'searched', 'random']));
  assert.ok(existsSync(path.join(out, 'report.html')));
});

test('the demo report renders every figure with data in Chromium, offline and without console errors', async () => {
  const html = path.join(out, 'report.html');
  assert.ok(existsSync(html), 'the demo test wrote the report');
  const page = readFileSync(html, 'utf8');
  assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no scripts, no remote resources');
  const shot = path.join(out, 'report.png');
  const r = await checkReport(html, shot);
  assert.deepEqual(r.errors, []);
  assert.equal(r.title, 'lowbit demo: lenet5 on MNIST');
  const ids = r.figures.map((f) => f.id);
  for (const want of ['accuracy-vs-bits', 'pareto-front', 'bit-allocation', 'energy-per-layer', 'latency-per-layer', 'training-curves'])
    assert.ok(ids.includes(want), `figure ${want} in ${ids.join(', ')}`);
  assert.ok(
    ids.some((id) => id.startsWith('histograms-')),
    'weight histograms',
  );
  for (const f of r.figures) {
    assert.ok(f.svg && f.width > 100, `${f.id}: an SVG laid out on the page`);
    assert.ok(f.marks >= 3, `${f.id}: ${f.marks} marks drawn`);
  }
  assert.ok(statSync(shot).size > 20_000, 'a screenshot of the page');
});
