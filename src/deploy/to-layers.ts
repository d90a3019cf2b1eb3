// A packed model back as a tfjs LayersModel: the topology from the manifest, each layer's extra
// configuration (quantizer specs and states) and weights (kernels decoded from their codes, LSQ
// steps and PACT clips as learned weights) from its op (layers/*.ts), MPQ flags on the quantizer.
// Its predictions are those of the quantized model that was packed — the training simulation the
// integer runtime is checked against — and it is what the TensorFlow.js export saves.
import { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import type { PackedModel } from './read.js';
import { opOf } from './layers/registry.js';
import '../nn/batch-norm.js';
import '../nn/qconv2d.js';
import '../nn/qdepthwise.js';
import '../nn/qdense.js';
import '../nn/qact.js';

export async function toLayersModel(p: PackedModel): Promise<tf.LayersModel> {
  const m = p.manifest;
  const layers = m.layers.map((l) => ({
    class_name: l.className,
    name: l.name,
    config: { ...l.config, ...opOf(l.className)!.tfjs?.config?.(l, p) },
    inbound_nodes: l.inbound.length ? [l.inbound.map((n) => [n, 0, 0, {}])] : [],
  }));
  const topology = {
    class_name: 'Model',
    config: { name: 'lowbit', layers, input_layers: [[m.layers[0].name, 0, 0]], output_layers: m.outputs.map((o) => [o, 0, 0]) },
  };
  const model = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  for (const l of m.layers) {
    const layer = model.getLayer(l.name);
    const values = (opOf(l.className)!.tfjs?.weights?.(l, p) ?? []).map((w) => tf.tensor(w.values, w.shape, 'float32'));
    const wq = p.weightQuant.get(l.name);
    if (layer instanceof QuantLayer && layer.weightQ && wq && 'flags' in (wq.params as object))
      layer.weightQ.flags = (wq.params as { flags: Uint8Array }).flags;
    if (values.length !== layer.weights.length)
      throw new Error(`packed layer ${l.name}: ${values.length} weights for a layer that has ${layer.weights.length}`);
    if (values.length) layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}
