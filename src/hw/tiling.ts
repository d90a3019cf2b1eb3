// Loop tiling of one layer onto the on-chip buffers, chosen to minimise DRAM traffic.
//
// A tile is Tn output channels × Th output rows × Tc input channels; the reduction over input
// channels is innermost, so partial sums stay in the output buffer (at accumulator width) until
// a tile's outputs are final and written once. Two loop orders are tried:
//   channels outer (for n { for h { for c } }): a weight slice stays on chip across all rows
//     when it needs no channel tiling; the input is streamed once per output-channel tile;
//   rows outer (for h { for n { for c } }): an input row tile stays on chip across all
//     output-channel tiles when it needs no channel tiling; weights are streamed once per row
//     tile unless they all fit.
// Candidate tile sizes are powers of two and the full extent of each dimension; the cheapest
// (DRAM bytes, then fewer tiles) that fits all three buffers wins. A depthwise layer's output
// channels read only their own input channels: a tile of tn outputs holds tn / m input channels
// and its kh·kw·tn weights, there is no reduction over channels (cTiles 1), and the input is
// streamed once whatever the channel tiling.
import { groupsOf, type LayerShape } from './layer-shape.js';

export interface TilingBits {
  /** Stored bits per weight (packed), per input activation, per output, per partial sum. */
  weight: number;
  input: number;
  output: number;
  accumulator: number;
}

export interface Tiling {
  tn: number;
  th: number;
  tc: number;
  order: 'channels-outer' | 'rows-outer';
  /** Tiles along output channels, rows (all examples) and input channels. */
  nTiles: number;
  hTiles: number;
  cTiles: number;
  dram: { weights: number; inputs: number; outputs: number; total: number };
}

function candidates(n: number): number[] {
  const out = new Set<number>([n]);
  for (let p = 1; p < n; p *= 2) out.add(p);
  return [...out].sort((a, b) => a - b);
}

/** Bytes of `count` values of `bits` each (bit-packed). */
export function bytesOf(count: number, bits: number): number {
  return (count * bits) / 8;
}

/**
 * The DRAM-cheapest tiling under the buffer sizes (bytes). Throws if not even the smallest
 * tile fits, naming the buffer.
 */
export function chooseTiling(s: LayerShape, bits: TilingBits, sram: { weights: number; activations: number; outputs: number }): Tiling {
  const dw = s.kind === 'depthwise';
  const W = bytesOf(groupsOf(s).K * s.outC, bits.weight);
  const O = bytesOf(s.batch * s.outH * s.outW * s.outC, bits.output);
  // Rows of different examples can share a tile only without a halo (1×1 kernels, stride 1).
  const noHalo = s.kh === 1 && s.strideH === 1 && s.inH === s.outH;
  const rows = noHalo ? s.batch * s.outH : s.outH;
  const inRows = (th: number) => (noHalo ? th : Math.min(s.inH, (th - 1) * s.strideH + s.kh));
  let best: Tiling | null = null;
  const mult = s.outC / s.inC;
  for (const tc0 of dw ? [s.inC] : candidates(s.inC))
    for (const tn of candidates(s.outC)) {
      // Depthwise: the input channels of the tile's outputs, all the reduction there is.
      const tc = dw ? Math.ceil(tn / mult) : tc0;
      if (bytesOf(s.kh * s.kw * (dw ? tn : tc * tn), bits.weight) > sram.weights) continue;
      for (const th of candidates(rows)) {
        if (bytesOf(inRows(th) * s.inW * tc, bits.input) > sram.activations) continue;
        if (bytesOf(th * s.outW * tn, bits.accumulator) > sram.outputs) continue;
        const nTiles = Math.ceil(s.outC / tn),
          cTiles = dw ? 1 : Math.ceil(s.inC / tc),
          hPer = Math.ceil(rows / th);
        const hTiles = noHalo ? hPer : hPer * s.batch;
        // Input bytes read per full pass over the rows (halo rows read again by each tile).
        const inPass = noHalo
          ? bytesOf(s.batch * s.inH * s.inW * s.inC, bits.input)
          : s.batch * hPer * bytesOf(inRows(th) * s.inW * s.inC, bits.input);
        for (const order of ['channels-outer', 'rows-outer'] as const) {
          const weights = order === 'channels-outer' ? W * (cTiles === 1 ? 1 : hTiles) : W * (nTiles === 1 && cTiles === 1 ? 1 : hTiles);
          const inputs = dw ? inPass : order === 'channels-outer' ? inPass * nTiles : inPass * (cTiles === 1 ? 1 : nTiles);
          const total = weights + inputs + O;
          const tiles = nTiles * hTiles * cTiles;
          if (
            !best ||
            total < best.dram.total - 1e-9 ||
            (Math.abs(total - best.dram.total) <= 1e-9 && tiles < best.nTiles * best.hTiles * best.cTiles)
          )
            best = { tn, th, tc, order, nTiles, hTiles, cTiles, dram: { weights, inputs, outputs: O, total } };
        }
      }
    }
  if (!best)
    throw new Error(
      `layer ${s.name}: even a 1-channel, 1-row tile does not fit the buffers (weights ${sram.weights} B, activations ${sram.activations} B, outputs ${sram.outputs} B)`,
    );
  return best;
}
