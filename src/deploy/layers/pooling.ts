// Max and average pooling over windows (tfjs semantics: 'same' padding never counts a padded
// position, neither in a max nor in an average). Max pooling keeps integer codes (codes sort like
// values); average pooling runs in float.
import type { LayerEntry } from '../manifest.js';
import type { CheckedLayer } from '../packed-model.js';
import { autoPad, ints } from '../onnx/nodes.js';
import { avgPool, geometry, maxPool } from '../runtime/ops.js';
import { asFloat } from '../runtime/convert.js';
import { image, padding, pair } from './config-values.js';
import type { CheckContext, LayerOp } from './layer-op.js';

function checkPool(l: LayerEntry, ctx: CheckContext): CheckedLayer {
  const what = `layer ${l.name}`;
  const cfg = l.config;
  const size = pair(cfg.pool_size ?? 2, `${what} pool_size`);
  const strides = pair(cfg.strides ?? cfg.pool_size ?? 2, `${what} strides`);
  const pad = padding(cfg.padding ?? 'valid', `${what} padding`);
  const sin = image(ctx.inputs, what, 'pooling');
  const g = geometry(sin[0], sin[1], size[0], size[1], strides[0], strides[1], pad);
  return { out: [g.outH, g.outW, sin[2]], pool: { size, strides, padding: pad }, relu: false };
}

function poolOp(className: string, onnxOp: 'MaxPool' | 'AveragePool'): LayerOp {
  const max = onnxOp === 'MaxPool';
  return {
    className,
    inputs: 'one',
    keepsCodes: max,
    check: checkPool,
    lower(l, ctx) {
      const { size, strides, padding: pad } = ctx.checked(l.name).pool!;
      const src = l.inbound[0];
      return (vals) => {
        const v = vals.get(src)!;
        const g = geometry(v.shape[1], v.shape[2], size[0], size[1], strides[0], strides[1], pad);
        vals.set(l.name, max ? maxPool(v, g) : avgPool(asFloat(v), g));
      };
    },
    toOnnx(l, c, ctx) {
      const y = ctx.fresh(l.name);
      const pool = c.pool!;
      ctx.nodes.push({
        opType: onnxOp,
        input: [ctx.input(l).name],
        output: [y],
        // AveragePool's count_include_pad defaults to 0: padded positions are not counted, as in tfjs.
        attribute: [ints('kernel_shape', pool.size), ints('strides', pool.strides), autoPad(pool.padding)],
      });
      ctx.output(l, y, 'nchw');
    },
  };
}

export const maxPoolOp = poolOp('MaxPooling2D', 'MaxPool');
export const avgPoolOp = poolOp('AveragePooling2D', 'AveragePool');
