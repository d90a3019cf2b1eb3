// The output geometry of a conv or pooling window (tfjs semantics), shared by every kernel of the runtime.
export interface Geometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/** tfjs conv/pool geometry for 'same' or 'valid' padding. */
export function geometry(
  inH: number,
  inW: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  padding: string,
  dh = 1,
  dw = 1,
): Geometry {
  const ekh = (kh - 1) * dh + 1,
    ekw = (kw - 1) * dw + 1;
  if (padding === 'same') {
    const outH = Math.ceil(inH / sh),
      outW = Math.ceil(inW / sw);
    const ph = Math.max((outH - 1) * sh + ekh - inH, 0),
      pw = Math.max((outW - 1) * sw + ekw - inW, 0);
    return { kh, kw, sh, sw, dh, dw, padTop: Math.floor(ph / 2), padLeft: Math.floor(pw / 2), outH, outW };
  }
  return { kh, kw, sh, sw, dh, dw, padTop: 0, padLeft: 0, outH: Math.floor((inH - ekh) / sh) + 1, outW: Math.floor((inW - ekw) / sw) + 1 };
}

/**
 * Whether every window lies inside the image with no dilation (valid convs, dense layers): then the
 * kernels read each window's rows in place instead of gathering them.
 */
export function windowsInPlace(g: Geometry, H: number, W: number): boolean {
  return (
    g.padTop === 0 && g.padLeft === 0 && g.dh === 1 && g.dw === 1 && (g.outH - 1) * g.sh + g.kh <= H && (g.outW - 1) * g.sw + g.kw <= W
  );
}
