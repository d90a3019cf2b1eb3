// A packed model back as a tfjs LayersModel: the topology from the manifest, kernels decoded
// from their codes, quantizer parameters restored (LSQ steps and PACT clips as the layers'
// learned weights, MPQ flags on the quantizer). Its predictions are those of the quantized model
// that was packed — the training simulation the integer runtime is checked against — and it is
// what the TensorFlow.js export saves.
import { learnedOf } from '../quant/registry.js';
import { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import { formatOf } from '../quant/registry.js';
import type { PackedModel, QuantInfo } from './read.js';
import '../nn/batch-norm.js';
import '../nn/qconv2d.js';
import '../nn/qdense.js';
import '../nn/qact.js';

function state(q: QuantInfo | undefined): unknown {
  if (!q || learnedOf(q.spec)) return null;
  const { flags: _f, ...params } = q.params as Record<string, unknown>;
  return { params, range: null, steps: 0 };
}

/** The learned parameter a layer keeps as a weight (LSQ step, PACT clip), if its format learns one. */
function learned(q: QuantInfo | undefined): number[] | null {
  return q ? (learnedOf(q.spec)?.values(q.params) ?? null) : null;
}

export async function toLayersModel(p: PackedModel): Promise<tf.LayersModel> {
  const m = p.manifest;
  const layers = m.layers.map((l) => {
    const config: Record<string, unknown> = { ...l.config };
    if (l.className === 'QConv2D' || l.className === 'QDense') {
      config.weight_quant = p.weightQuant.get(l.name)?.spec ?? null;
      config.input_quant = p.inputQuant.get(l.name)?.spec ?? null;
      config.weight_state = state(p.weightQuant.get(l.name));
      config.input_state = state(p.inputQuant.get(l.name));
    }
    if (l.className === 'QAct') {
      config.quant = p.inputQuant.get(l.name)?.spec;
      config.state = state(p.inputQuant.get(l.name));
    }
    return {
      class_name: l.className,
      name: l.name,
      config,
      inbound_nodes: l.inbound.length ? [l.inbound.map((n) => [n, 0, 0, {}])] : [],
    };
  });
  const topology = {
    class_name: 'Model',
    config: { name: 'lowbit', layers, input_layers: [[m.layers[0].name, 0, 0]], output_layers: m.outputs.map((o) => [o, 0, 0]) },
  };
  const model = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  for (const l of m.layers) {
    const layer = model.getLayer(l.name);
    const values: tf.Tensor[] = [];
    const float = (role: string) => {
      const name = l.tensors[role];
      const e = m.tensors.find((t) => t.name === name)!;
      return tf.tensor(p.floats.get(name)!, (e as { shape: number[] }).shape, 'float32');
    };
    if (l.tensors.kernel) {
      const wq = p.weightQuant.get(l.name);
      const e = m.tensors.find((t) => t.name === l.tensors.kernel) as { shape: number[] };
      if (wq) {
        const codes = p.codes.get(l.tensors.kernel)!;
        values.push(tf.tensor(formatOf(wq.spec).decode(codes, e.shape, wq.spec as never, wq.params as never), e.shape, 'float32'));
      } else values.push(float('kernel'));
      if (l.tensors.bias) values.push(float('bias'));
      const wl = learned(wq),
        il = learned(p.inputQuant.get(l.name));
      if (wl) values.push(tf.tensor(wl, [wl.length]));
      if (il) values.push(tf.tensor(il, [il.length]));
      if (layer instanceof QuantLayer && layer.weightQ && wq && 'flags' in (wq.params as object))
        layer.weightQ.flags = (wq.params as { flags: Uint8Array }).flags;
    } else if (l.className === 'LowbitBatchNorm') values.push(...['gamma', 'beta', 'movingMean', 'movingVariance'].map(float));
    else if (l.className === 'QAct') {
      const il = learned(p.inputQuant.get(l.name));
      if (il) values.push(tf.tensor(il, [il.length]));
    }
    if (values.length !== layer.weights.length)
      throw new Error(`packed layer ${l.name}: ${values.length} weights for a layer that has ${layer.weights.length}`);
    if (values.length) layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}
