// A packed quantizer as the tfjs layers hold it: its serialisable state (parameters of formats that
// are fitted, not learned) and the learned parameter a layer keeps as a weight (LSQ step, PACT clip).
import { formatOf, learnedOf } from '../../quant/registry.js';
import type { LayerEntry } from '../manifest.js';
import type { PackedModel, QuantInfo } from '../packed-model.js';
import type { TfjsWeight } from './layer-op.js';

export function quantState(q: QuantInfo | undefined): unknown {
  if (!q || learnedOf(q.spec)) return null;
  const { flags: _f, ...params } = q.params as Record<string, unknown>;
  return { params, range: null, steps: 0 };
}

export function learnedWeight(q: QuantInfo | undefined): TfjsWeight[] {
  const v = q ? learnedOf(q.spec)?.values(q.params) : null;
  return v ? [{ values: Float32Array.from(v), shape: [v.length] }] : [];
}

const shapeOf = (p: PackedModel, name: string) => (p.manifest.tensors.find((t) => t.name === name) as { shape: number[] }).shape;

/** A float tensor of the file by role. */
export function floatWeight(l: LayerEntry, p: PackedModel, role: string): TfjsWeight {
  return { values: p.floats.get(l.tensors[role])!, shape: shapeOf(p, l.tensors[role]) };
}

/** A kernel's values: decoded from its codes under a weight quantizer, else the float tensor (product codes decoded at read). */
export function kernelWeight(l: LayerEntry, p: PackedModel): TfjsWeight {
  const wq = p.weightQuant.get(l.name);
  if (!wq) return floatWeight(l, p, 'kernel');
  const shape = shapeOf(p, l.tensors.kernel);
  const codes = p.codes.get(l.tensors.kernel)!;
  return { values: Float32Array.from(formatOf(wq.spec).decode(codes, shape, wq.spec as never, wq.params as never)), shape };
}
