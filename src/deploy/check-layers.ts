// The one check of a packed model's layers, run by readPacked for every consumer (the runtime,
// the ONNX and tfjs exports, simulate): each layer's configuration parsed by its op (layers/*.ts)
// into the values the consumers use (kernel, strides, dilation, padding, activation, pool sizes,
// epsilon), the shape of one example through every layer, and every quantizer's integer grid. A
// consumer reads the checked values and never parses a configuration itself, so none can accept
// what another refuses.
import type { Manifest } from './manifest.js';
import type { CheckedLayer, QuantInfo } from './packed-model.js';
import { opOf } from './layers/registry.js';
import { fail } from './layers/config-values.js';

export type { CheckedLayer, ConvCheck, Padding } from './packed-model.js';

export interface LayerInputs {
  manifest: Manifest;
  floats: Map<string, Float32Array>;
  weightQuant: Map<string, QuantInfo>;
  inputQuant: Map<string, QuantInfo>;
}

const ARITY = { none: 'no layer', one: 'one layer', many: 'two layers or more' } as const;

/** Checks every layer of a packed model; returns what each consumer needs of it, by layer name. */
export function checkLayers(p: LayerInputs): Map<string, CheckedLayer> {
  const m = p.manifest;
  const shapeOf = (tn: string) => (m.tensors.find((t) => t.name === tn) as { shape: number[] }).shape;
  const checked = new Map<string, CheckedLayer>();
  for (const l of m.layers) {
    const what = `layer ${l.name}`;
    const op = opOf(l.className);
    if (!op) fail(`${what}: layer class ${l.className} is not supported`);
    const n = l.inbound.length;
    if (op.inputs === 'none' ? n !== 0 : op.inputs === 'one' ? n !== 1 : n < 2)
      fail(`${what} (${l.className}) must read ${ARITY[op.inputs]}, it reads ${n}`);
    const inputs = l.inbound.map((name) => {
      const s = checked.get(name)?.out;
      if (!s) fail(`${what} reads ${JSON.stringify(name)}, whose output the runtime does not know`);
      return s;
    });
    const c = op.check(l, { ...p, shapeOf, inputs });
    if (c.out.some((d) => !Number.isInteger(d) || d < 1)) fail(`${what} would output shape [${c.out.join(', ')}]`);
    if (c.out.reduce((a, b) => a * b, 1) > 1 << 28) fail(`${what} would output ${c.out.join('×')} values per example`);
    checked.set(l.name, c);
  }
  if (m.outputs.length !== 1) fail(`the runtime runs models with one output, this one has ${m.outputs.length}`);
  const out = checked.get(m.outputs[0]);
  if (!out) fail(`output ${m.outputs[0]} is not a layer`);
  if (out.out.length !== 1) fail(`output ${m.outputs[0]} gives shape [${out.out.join(', ')}] per example, expected logits [classes]`);
  return checked;
}
