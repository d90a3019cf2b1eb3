// How product quantization cuts a layer (Stock et al. 2020): a conv kernel [kh, kw, cin, cout]
// into subvectors of m input channels × the whole kh×kw window (d = m·kh·kw: 9 or 18 for 3×3),
// a dense kernel [in, out] into runs of d consecutive inputs of one output; and the matching
// in-domain input blocks (the same window of the same m channels of the layer's input), whose
// second moment weights the clustering. Entry t of a conv subvector is ((ky·kw + kx)·m + ci).

/** The product code of one layer as stored: the block cut, fp16-exact centroids (k × d), one index per subvector. */
export interface ProductCode {
  /** Input channels per conv block (1 for dense layers). */
  m: number;
  d: number;
  centroids: Float32Array;
  assign: Uint32Array;
}

/** Bits of one stored index into k centroids. */
export const indexBits = (k: number): number => Math.max(1, Math.ceil(Math.log2(k)));
/** Bits of one stored centroid entry (fp16). */
export const CODEBOOK_BITS = 16;
/** Stored bits of a product code: one index per subvector and the k × d fp16 codebook. */
export const productCodeBits = (count: number, k: number, d: number): number => count * indexBits(k) + k * d * CODEBOOK_BITS;

/** The layout of a kernel of this shape cut as a product code with m channels (conv) or d entries (dense) per block. */
export function codeLayout(shape: number[], m: number, d: number, name: string): BlockLayout {
  const l = shape.length === 4 ? convLayout(shape, m, [1, 1], 'same', name) : denseLayout(shape, d, name);
  if (l.d !== d)
    throw new Error(`layer ${name}: blocks of ${m} channels of a ${shape[0]}x${shape[1]} window have ${l.d} entries, not ${d}`);
  return l;
}

export interface BlockLayout {
  kind: 'conv2d' | 'dense';
  /** Entries per subvector. */
  d: number;
  /** Subvectors: cout·cin/m (conv) or out·in/d (dense). */
  count: number;
  kernelShape: number[];
  /** Conv: input channels per subvector; window; stride and padding of the layer. */
  m: number;
  kh: number;
  kw: number;
  strides: [number, number];
  padding: 'same' | 'valid';
}

export function convLayout(
  kernelShape: number[],
  m: number,
  strides: [number, number],
  padding: 'same' | 'valid',
  name: string,
): BlockLayout {
  const [kh, kw, cin, cout] = kernelShape;
  if (cin % m) throw new Error(`pq: layer ${name} has ${cin} input channels, not a multiple of ${m} channels per block`);
  return { kind: 'conv2d', d: m * kh * kw, count: (cout * cin) / m, kernelShape, m, kh, kw, strides, padding };
}

export function denseLayout(kernelShape: number[], d: number, name: string): BlockLayout {
  const [inF, out] = kernelShape;
  if (inF % d) throw new Error(`pq: layer ${name} has ${inF} inputs, not a multiple of the block size ${d}`);
  return { kind: 'dense', d, count: (out * inF) / d, kernelShape, m: 1, kh: 1, kw: 1, strides: [1, 1], padding: 'valid' };
}

/** Kernel index of entry t of subvector s (s = cout-major: s = o·groups + g). */
function kernelIndex(l: BlockLayout, s: number, t: number): number {
  if (l.kind === 'dense') {
    const [inF, out] = l.kernelShape;
    const groups = inF / l.d;
    const o = Math.floor(s / groups),
      g = s % groups;
    return (g * l.d + t) * out + o;
  }
  const [, kw, cin, cout] = l.kernelShape;
  const groups = cin / l.m;
  const o = Math.floor(s / groups),
    g = s % groups;
  const ci = t % l.m,
    k = Math.floor(t / l.m); // ky·kw + kx
  const ky = Math.floor(k / kw),
    kx = k % kw;
  return ((ky * kw + kx) * cin + g * l.m + ci) * cout + o;
}

// The kernel index of every (subvector, entry), computed once per layout: the per-step passes
// (decoding the kernel, gathering centroid gradients) are then plain array walks.
const indexCache = new WeakMap<BlockLayout, Int32Array>();
function indexOf(l: BlockLayout): Int32Array {
  let ix = indexCache.get(l);
  if (!ix) {
    ix = new Int32Array(l.count * l.d);
    for (let s = 0; s < l.count; s++) for (let t = 0; t < l.d; t++) ix[s * l.d + t] = kernelIndex(l, s, t);
    indexCache.set(l, ix);
  }
  return ix;
}

/** The kernel cut into subvectors (count × d). */
export function toSubvectors(l: BlockLayout, kernel: Float32Array): Float32Array {
  const ix = indexOf(l);
  return Float32Array.from(ix, (k) => kernel[k]);
}

/** The kernel rebuilt from centroids (k × d) and each subvector's centroid. */
export function fromCentroids(l: BlockLayout, centroids: Float32Array, assign: Uint32Array, out: Float32Array): Float32Array {
  const ix = indexOf(l),
    d = l.d;
  for (let s = 0; s < l.count; s++) {
    const c = assign[s] * d;
    for (let t = 0; t < d; t++) out[ix[s * d + t]] = centroids[c + t];
  }
  return out;
}

/**
 * ∂L/∂c_j as the mean of the gradients of the subvectors assigned to centroid j (the update of
 * "And the Bit Goes Down": every member pulls its centroid by its average, not its sum, so a
 * centroid shared by thousands of subvectors does not take a thousandfold step).
 */
export function centroidGradients(l: BlockLayout, kernelGrad: Float32Array, assign: Uint32Array, k: number): Float32Array {
  const g = new Float64Array(k * l.d),
    count = new Uint32Array(k);
  const ix = indexOf(l),
    d = l.d;
  for (let s = 0; s < l.count; s++) {
    const c = assign[s];
    count[c]++;
    for (let t = 0; t < d; t++) g[c * d + t] += kernelGrad[ix[s * d + t]];
  }
  const out = new Float32Array(k * l.d);
  for (let j = 0; j < k; j++) if (count[j]) for (let t = 0; t < l.d; t++) out[j * l.d + t] = g[j * l.d + t] / count[j];
  return out;
}

/** Output size and the top/left padding of a conv layout on an h×w input (TensorFlow's 'same': extra row/column at the end). */
export function convGeometry(l: BlockLayout, h: number, w: number): { oh: number; ow: number; pt: number; pl: number } {
  const [sh, sw] = l.strides;
  const oh = l.padding === 'same' ? Math.ceil(h / sh) : Math.floor((h - l.kh) / sh) + 1;
  const ow = l.padding === 'same' ? Math.ceil(w / sw) : Math.floor((w - l.kw) / sw) + 1;
  const pt = l.padding === 'same' ? Math.floor(Math.max(0, (oh - 1) * sh + l.kh - h) / 2) : 0;
  const pl = l.padding === 'same' ? Math.floor(Math.max(0, (ow - 1) * sw + l.kw - w) / 2) : 0;
  return { oh, ow, pt, pl };
}

/**
 * The input block of image i, output position (oy, ox) and channel group g of a conv layout
 * (zero where the window hangs over the padding), written to out[at .. at + d).
 */
export function convInputBlock(
  l: BlockLayout,
  x: Float32Array,
  xShape: number[],
  i: number,
  oy: number,
  ox: number,
  g: number,
  out: Float32Array,
  at: number,
): void {
  const [, h, w, c] = xShape;
  const { pt, pl } = convGeometry(l, h, w);
  for (let ky = 0; ky < l.kh; ky++)
    for (let kx = 0; kx < l.kw; kx++) {
      const y = oy * l.strides[0] + ky - pt,
        xx = ox * l.strides[1] + kx - pl;
      for (let ci = 0; ci < l.m; ci++)
        out[at + (ky * l.kw + kx) * l.m + ci] = y < 0 || y >= h || xx < 0 || xx >= w ? 0 : x[((i * h + y) * w + xx) * c + g * l.m + ci];
    }
}

/**
 * `n` input blocks of the layer drawn at random (image, output position, channel group) from its
 * input activations x [batch, h, w, c] (conv) or [batch, features] (dense); `next` is a uniform
 * generator.
 */
export function sampleInputBlocks(l: BlockLayout, x: Float32Array, xShape: number[], n: number, next: () => number): Float32Array {
  const out = new Float32Array(n * l.d);
  const pick = (m: number) => Math.min(m - 1, Math.floor(next() * m));
  if (l.kind === 'dense') {
    const [b, f] = xShape;
    const groups = f / l.d;
    for (let r = 0; r < n; r++) {
      const i = pick(b),
        g = pick(groups);
      for (let t = 0; t < l.d; t++) out[r * l.d + t] = x[i * f + g * l.d + t];
    }
    return out;
  }
  const [b, h, w, c] = xShape;
  const { oh, ow } = convGeometry(l, h, w);
  for (let r = 0; r < n; r++) convInputBlock(l, x, xShape, pick(b), pick(oh), pick(ow), pick(c / l.m), out, r * l.d);
  return out;
}
