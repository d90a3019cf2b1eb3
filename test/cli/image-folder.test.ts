// `--data folder:<dir>` end to end from the CLI on a small generated folder: data info, train
// (relative path, resumed from another directory), quantize, search, pack, run and the web export
// find the folder from the checkpoint; a folder with other classes is refused instead of scored.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { lowbit, oneLineError } from '../helpers/cli.js';
import { tmpDir } from '../helpers/fixtures.js';
import { writeImageFolder } from '../helpers/image-folder.js';

const root = tmpDir();
const photos = path.join(root, 'photos');
before(async () => {
  await writeImageFolder(photos, { classes: ['bottom', 'middle', 'top'], perClass: 40, size: [28, 28], channels: 1 });
});

test('data info, train, quantize, search, pack, run and export on an image folder', () => {
  const info = lowbit(['data', 'info', 'folder:photos', '--json'], { cwd: root });
  assert.equal(info.status, 0, info.stderr);
  const i = JSON.parse(info.stdout) as { name: string; shape: number[]; classNames: string[]; train: number; test: number; cache: string };
  assert.equal(i.name, `folder:${photos}`, 'relative folders are made absolute');
  assert.deepEqual(i.shape, [28, 28, 1]);
  assert.deepEqual(i.classNames, ['bottom', 'middle', 'top']);
  assert.deepEqual([i.train, i.test], [96, 24]);
  assert.ok(existsSync(i.cache));

  const fp = path.join(root, 'fp');
  const train = ['train', '--model', 'lenet5', '--data', 'folder:photos', '--batch-size', '16', '--lr', '0.05', '--out', fp, '--quiet'];
  let r = lowbit([...train, '--epochs', '1'], { cwd: root });
  assert.equal(r.status, 0, r.stderr);
  // Resumed from another directory with the folder written another way: the same dataset.
  r = lowbit(['train', '--resume', '--extend-epochs', '--epochs', '4', '--data', `folder:${photos}/`, '--out', fp, '--quiet', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const history = JSON.parse(r.stdout) as { history: { testAccuracy: number }[] } | { testAccuracy: number }[];
  const last = (Array.isArray(history) ? history : history.history).at(-1);
  assert.ok(last && last.testAccuracy > 0.9, `the bands are learnable: ${JSON.stringify(last)}`);

  const q = path.join(root, 'q');
  const steps: string[][] = [
    [
      'quantize',
      '--from',
      fp,
      '--method',
      'ste',
      '--wbits',
      '4',
      '--abits',
      '4',
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--out',
      q,
      '--quiet',
    ],
    ['search', '--from', fp, '--budgets', '0.8', '--epochs', '1', '--batch-size', '16', '--out', path.join(root, 's')],
    ['pack', '--model', q, '--out', path.join(q, 'm.lowbit')],
    ['run', '--model', path.join(q, 'm.lowbit'), '--json'],
    ['export', '--model', path.join(q, 'm.lowbit'), '--format', 'web', '--out', path.join(root, 'web')],
  ];
  for (const args of steps) {
    const s = lowbit(args);
    assert.equal(s.status, 0, `${args[0]}: ${s.stderr}`);
    if (args[0] === 'run') {
      const run = JSON.parse(s.stdout) as { accuracy: number; images: number; data: string };
      assert.equal(run.images, 24);
      assert.equal(run.data, `folder:${photos}`);
      assert.ok(run.accuracy > 0.8, `W4A4 keeps the bands: ${run.accuracy}`);
    }
  }
  const web = readFileSync(path.join(root, 'web', 'model.js'), 'utf8');
  assert.match(web, /"labels":\["bottom","middle","top"\]/, 'the page names the folder classes');
  assert.match(web, /"samples":\[\{"label":/, 'with test images of the folder');

  // The folder moved: named with --data it is accepted, since its classes are the trained ones.
  const moved = path.join(root, 'moved');
  cpSync(photos, moved, { recursive: true });
  r = lowbit(['run', '--model', path.join(q, 'm.lowbit'), '--data', `folder:${moved}`, '--json']);
  assert.equal(r.status, 0, r.stderr);
  // A folder with other classes is refused, in one line, before anything is scored.
  renameSync(path.join(moved, 'top'), path.join(moved, 'sky'));
  oneLineError(
    lowbit(['run', '--model', path.join(q, 'm.lowbit'), '--data', `folder:${moved}`]),
    /the model was trained on classes \[bottom, middle, top\]; folder:.*moved now has \[bottom, middle, sky\]/,
  );
  oneLineError(
    lowbit(['run', '--model', path.join(q, 'm.lowbit'), '--data', 'mnist']),
    /the model was trained on folder:.*photos; --data mnist is another dataset/,
  );
});

test('--data and --skip-bad mistakes are one line', () => {
  oneLineError(
    lowbit(['train', '--model', 'lenet5', '--data', 'imagenet', '--epochs', '1', '--batch-size', '8', '--lr', '0.1', '--out', tmpDir()]),
    /unknown dataset 'imagenet'; expected mnist, fashion-mnist, cifar10, or folder:<dir>/,
  );
  oneLineError(lowbit(['data', 'info', 'folder:/nonexistent/x']), /data folder \/nonexistent\/x does not exist/);
  oneLineError(lowbit(['data', 'info', 'mnist', '--skip-bad']), /--skip-bad applies to image folders, not to the registered dataset mnist/);
  oneLineError(lowbit(['data', 'info', `folder:${photos}?size=abc`]), /size=abc is not valid; expected N or HxW/);
});
