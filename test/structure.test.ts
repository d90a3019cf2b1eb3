// Structure checks (DESIGN.md): outside src/quant/, no code compares a number format's name; no
// source file imports one that imports it back; no string literal in src/ or experiments/ is over
// 200 characters (prose lives in Markdown templates). All run in `npm run lint` and here, so CI fails on any.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers/cli.js';
import { tmpDir } from './helpers/fixtures.js';

/** Runs one of the structure check scripts on a source tree. */
const runCheck = (script: string, root: string) =>
  spawnSync(process.execPath, [path.join(repoRoot, 'scripts', script), root], { encoding: 'utf8' });
const check = (root: string) => runCheck('check-format-names.mjs', root);

test('no format name is compared outside src/quant/', () => {
  const r = check(repoRoot);
  assert.equal(r.status, 0, r.stderr);
});

test('the check finds a comparison and a hand-kept list of formats, and leaves src/quant/ alone', () => {
  const root = tmpDir();
  mkdirSync(path.join(root, 'src', 'nn'), { recursive: true });
  mkdirSync(path.join(root, 'src', 'quant'), { recursive: true });
  writeFileSync(path.join(root, 'src', 'nn', 'a.ts'), "if (spec.format === 'dybit') refit = 50;\nconst ok = spec.bits === 4;\n");
  writeFileSync(
    path.join(root, 'src', 'nn', 'b.ts'),
    "if (['int', 'po2'].includes(o.format)) s.granularity = g;\n// spec.format === 'int' in a comment\n",
  );
  writeFileSync(path.join(root, 'src', 'quant', 'c.ts'), "if (spec.format === 'int') x();\n");
  const r = check(root);
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /src\/nn\/a\.ts:1: if \(spec\.format === 'dybit'\)/);
  assert.match(lines[1], /src\/nn\/b\.ts:1: if \(\['int', 'po2'\]\.includes/);
});

test('no import cycles among the sources (type imports included), and the check finds one', () => {
  const cycles = (root: string) => runCheck('check-import-cycles.mjs', root);
  const r = cycles(repoRoot);
  assert.equal(r.status, 0, r.stderr);
  const root = tmpDir();
  mkdirSync(path.join(root, 'src'), { recursive: true });
  writeFileSync(path.join(root, 'src', 'a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
  writeFileSync(path.join(root, 'src', 'b.ts'), "import { a } from './a.js';\nexport type B = number;\n");
  const bad = cycles(root);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /import cycle: src\/a\.ts <-> src\/b\.ts/);
});

test('no string literal over 200 characters in src/ or experiments/, and the check finds one', () => {
  const long = (root: string) => runCheck('check-long-strings.mjs', root);
  const r = long(repoRoot);
  assert.equal(r.status, 0, r.stderr);
  const root = tmpDir();
  mkdirSync(path.join(root, 'experiments'), { recursive: true });
  writeFileSync(
    path.join(root, 'experiments', 'a.ts'),
    `const ok = '${'x'.repeat(200)}';\nconst prose = \`${'y'.repeat(150)} \${ok} ${'z'.repeat(60)}\`;\n`,
  );
  const bad = long(root);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^1 string literals over 200/);
  assert.match(bad.stderr, /experiments\/a\.ts:2: a literal of 21\d characters/);
});

test('lowbit/runtime reaches no tfjs, Node built-in or protobuf import, and the check finds one', () => {
  const check = (root: string) => runCheck('check-runtime-imports.mjs', root);
  const r = check(repoRoot);
  assert.equal(r.status, 0, r.stderr);
  const root = tmpDir();
  mkdirSync(path.join(root, 'src', 'runtime'), { recursive: true });
  mkdirSync(path.join(root, 'src', 'engine'), { recursive: true });
  writeFileSync(
    path.join(root, 'src', 'runtime', 'index.ts'),
    "export { run } from '../engine/run.js';\nexport type { T } from '../engine/types.js';\n",
  );
  writeFileSync(path.join(root, 'src', 'engine', 'run.ts'), "import { tf } from './tf.js';\nexport const run = () => tf;\n");
  writeFileSync(path.join(root, 'src', 'engine', 'tf.ts'), "import * as tf from '@tensorflow/tfjs';\nexport { tf };\n");
  writeFileSync(
    path.join(root, 'src', 'engine', 'types.ts'),
    "import { readFileSync } from 'node:fs';\nexport type T = typeof readFileSync;\n",
  );
  const bad = check(root);
  assert.equal(bad.status, 1);
  // The value import chain is named; a type-only re-export loads nothing and is not.
  assert.match(bad.stderr, /@tensorflow\/tfjs via src\/runtime\/index\.ts -> src\/engine\/run\.ts -> src\/engine\/tf\.ts/);
  assert.doesNotMatch(bad.stderr, /node:fs/);
});
