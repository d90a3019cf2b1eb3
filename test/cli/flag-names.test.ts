// Library errors name options by their keys; the CLI shows the same errors with its flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError, opt } from '../../src/util/option-error.js';
import { cliMessage, flagOf } from '../../src/cli/flag-names.js';
import { openRunDir } from '../../src/train/run-dir.js';
import { tmpDir } from '../helpers/fixtures.js';

test('an OptionError names option keys in the library and flags in the CLI', () => {
  const e = new OptionError(`${opt('outDir')} /x is a file; pass ${opt('resume')} or ${opt('extendEpochs')}`);
  assert.equal(e.message, 'outDir /x is a file; pass resume or extendEpochs');
  assert.deepEqual(e.options, ['outDir', 'resume', 'extendEpochs']);
  assert.equal(cliMessage(e), '--out /x is a file; pass --resume or --extend-epochs');
  assert.equal(flagOf('activationFormat'), '--aformat');
  assert.equal(flagOf('calibrationBatches'), '--calibration-batches');
  // Braces and paths in values are left alone.
  assert.equal(cliMessage(new OptionError(`${opt('from')}: /runs/{a}/b missing`)), '--from: /runs/{a}/b missing');
  assert.equal(cliMessage(new Error('plain')), 'plain');
});

test('a library caller reads its own option names', () => {
  assert.throws(
    () => openRunDir({ outDir: tmpDir(), resume: true, force: true, command: 'train' }),
    (e: Error) => {
      assert.equal(e.message, 'resume and force contradict each other (continue the run, or replace it)');
      assert.equal(cliMessage(e), '--resume and --force contradict each other (continue the run, or replace it)');
      return true;
    },
  );
});
