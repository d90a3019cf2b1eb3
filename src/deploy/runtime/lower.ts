// Lowering a packed model to runtime steps, once, in readPacked: each layer's op (layers/*.ts)
// builds its step from the values readPacked's layer check parsed, so a hostile manifest fails at
// load time, not mid-inference, and every consumer of a packed model refuses what the runtime
// refuses. Ops fuse across layers (a conv absorbs the batch norm and ReLU after it, and may
// requantize straight into the next quantized layer's grid); a fused layer gets no step.
import type { LayerEntry } from '../manifest.js';
import type { PackedModel, Program, Step } from '../packed-model.js';
import { intGrid, type IntGrid } from '../../quant/grid.js';
import { opOf } from '../layers/registry.js';
import type { LowerContext } from '../layers/layer-op.js';

export type { Program, Step } from '../packed-model.js';

export function lower(p: Omit<PackedModel, 'program'>): Program {
  const m = p.manifest;
  const consumers = new Map<string, LayerEntry[]>();
  for (const l of m.layers) for (const i of l.inbound) consumers.set(i, [...(consumers.get(i) ?? []), l]);
  const inGrids = new Map<string, IntGrid>();
  const fused = new Set<string>();
  const preQuantized = new Set<string>();
  const ctx: LowerContext = {
    packed: p,
    op: (l) => opOf(l.className)!,
    checked: (name) => p.layers.get(name)!,
    float: (l, role) => p.floats.get(l.tensors[role])!,
    shapeOf: (tn) => (m.tensors.find((t) => t.name === tn) as { shape: number[] }).shape,
    sole(name) {
      const c = consumers.get(name) ?? [];
      return c.length === 1 && !m.outputs.includes(name) ? c[0] : null;
    },
    inputGrid(l) {
      const q = p.inputQuant.get(l.name);
      if (!q) return null;
      let g = inGrids.get(l.name);
      if (!g) inGrids.set(l.name, (g = intGrid(q.spec, q.params, 1, `layer ${l.name} input`)));
      return g;
    },
    fuse: (name) => void fused.add(name),
    deliverQuantized: (name) => void preQuantized.add(name),
    preQuantized: (name) => preQuantized.has(name),
  };
  const steps: Step[] = [];
  for (const l of m.layers) {
    if (fused.has(l.name)) continue;
    const step = ctx.op(l).lower(l, ctx);
    if (step) steps.push(step);
  }
  return { steps, inputName: m.layers[0].name, outputName: m.outputs[0], inputShape: m.inputShape };
}
