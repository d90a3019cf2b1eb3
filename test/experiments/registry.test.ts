// The experiment registry is consistent: unique ids, every quantization run starts from an FP run
// that keeps its checkpoint, and every configuration validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { experiments, cliFor } from '../../experiments/registry.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { parseQuantizeOptions } from '../../src/train/quantize.js';
import { quantizeCommand } from '../../src/cli/quantize.js';
import { optionsFromFlags, quantizeCommandLine, type QuantizeFlags } from '../../src/cli/quantize-flags.js';
import { activationSpec, type MethodOptions } from '../../src/train/methods/method.js';

test('experiment ids are unique and configurations are valid', () => {
  const ids = experiments.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const e of experiments) {
    if (e.group === 'fp') parseTrainConfig(e.config);
    else if (e.group === 'search') {
      const base = experiments.find((b) => b.id === e.base);
      assert.ok(base && base.group === 'fp' && base.keepCheckpoint, `${e.id}: base ${e.base} must keep its checkpoint`);
      assert.ok(e.settings.budgets.every((b) => b > 0 && b <= 1));
    } else {
      const base = experiments.find((b) => b.id === e.base);
      assert.ok(base && base.group === 'fp' && base.keepCheckpoint, `${e.id}: base ${e.base} must be an FP run that keeps its checkpoint`);
      const o = parseQuantizeOptions(e.options);
      assert.equal(o.from, `checkpoints/${e.base}.lbck`);
    }
    assert.match(cliFor(e, `runs/${e.id}`), /^lowbit (train|quantize|search) .* --out runs\//);
  }
});

test('no two quantization experiments run the same configuration (a table that needs a row twice lists it with alsoIn)', () => {
  const seen = new Map<string, string>();
  for (const e of experiments) {
    if (e.group !== 'quant') continue;
    // Options after defaults, with the activation format resolved as training resolves it, so that
    // spelling out a default (--aformat int) does not make a new configuration.
    const o = parseQuantizeOptions(e.options);
    const key = JSON.stringify({
      ...o,
      activationFormat: undefined,
      activations: activationSpec(o as MethodOptions),
    });
    const other = seen.get(key);
    assert.equal(other, undefined, `${e.id} repeats the configuration of ${other}`);
    seen.set(key, e.id);
  }
});

test('the command line printed for each quantization experiment parses back into its options', async () => {
  for (const e of experiments) {
    if (e.group !== 'quant') continue;
    const line = cliFor(e, `runs/${e.id}`);
    let flags: QuantizeFlags | undefined;
    const cmd = quantizeCommand()
      .exitOverride()
      .action((f: QuantizeFlags) => {
        flags = f;
      });
    await cmd.parseAsync(line.split(' ').slice(2), { from: 'user' });
    assert.ok(flags, `${e.id}: the command did not run`);
    assert.deepEqual(parseQuantizeOptions(optionsFromFlags(flags)), parseQuantizeOptions(e.options), `${e.id}: ${line}`);
  }
});

test('a switch left at its default prints no flag, and turned off prints its --no- flag', () => {
  const o = { from: 'a.lbck', method: 'sq', format: 'binary', abits: null } as const;
  assert.doesNotMatch(quantizeCommandLine({ ...o, sq: { restartLr: true } }, 'runs/x'), /sq-restart/);
  assert.match(quantizeCommandLine({ ...o, sq: { restartLr: false } }, 'runs/x'), / --no-sq-restart /);
});
