// The Markdown templates of the generated docs: blocks parsed by name, slots filled from values,
// and every mismatch between a template and its renderer an error rather than a silent gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fill, parseTemplate } from '../../experiments/prose.js';
import { repoRoot } from '../helpers/cli.js';

test('a template block is filled slot by slot; a missing or extra value and a duplicate block are errors', () => {
  const blocks = parseTemplate('<!-- a -->\nSQ spends {{full}} of {{epochs}} epochs.\n\n<!-- b -->\nno slots\n', 't.md');
  assert.deepEqual([...blocks.keys()], ['a', 'b']);
  assert.equal(fill(blocks.get('a')!, 'a', { full: 2, epochs: '8' }), 'SQ spends 2 of 8 epochs.');
  assert.throws(() => fill(blocks.get('a')!, 'a', { full: 2 }), /block a: no value for \{\{epochs\}\}/);
  assert.throws(() => fill(blocks.get('a')!, 'a', { full: 2, epochs: 8, extra: 1 }), /block a: values without a slot: extra/);
  assert.throws(() => fill(blocks.get('a')!, 'a', { full: undefined, epochs: 8 }), /\{\{full\}\} is undefined/);
  assert.throws(() => parseTemplate('<!-- a -->\nx\n<!-- a -->\ny\n', 't.md'), /block a is defined twice/);
  assert.throws(() => parseTemplate('stray text\n<!-- a -->\nx\n', 't.md'), /text before the first block/);
});

test('every block of every template is used by its renderer, and every block a renderer asks for exists', () => {
  const dir = path.join(repoRoot, 'experiments', 'templates');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.md'))) {
    const stem = f.slice(0, -3);
    const blocks = parseTemplate(readFileSync(path.join(dir, f), 'utf8'), f);
    const code = readFileSync(path.join(repoRoot, 'experiments', `${stem}.ts`), 'utf8');
    const asked = new Set([...code.matchAll(/\bmd\('([a-z0-9-]+)'/g)].map((m) => m[1]));
    for (const b of blocks.keys()) assert.ok(asked.has(b), `${f}: block ${b} is not used by experiments/${stem}.ts`);
    for (const b of asked) assert.ok(blocks.has(b), `experiments/${stem}.ts asks for block ${b}, which ${f} does not have`);
  }
});
