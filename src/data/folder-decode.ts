// Decoding and resizing of a folder's images with sharp (libvips, shipped as a binary inside its
// npm package). A file that is not a whole PNG or JPEG fails here with sharp's reason.
import sharp from 'sharp';

export interface ImageProbe {
  width: number;
  height: number;
  /** Grayscale, with or without alpha. */
  gray: boolean;
}

const READ = { failOn: 'warning', autoOrient: true } as const;

/** Size and colour of one image, from its header (EXIF orientation applied). */
export async function probeImage(file: string): Promise<ImageProbe> {
  const m = await sharp(file, READ).metadata();
  if (m.format !== 'png' && m.format !== 'jpeg') throw new Error(`is a ${m.format} image; expected PNG or JPEG`);
  const width = m.autoOrient?.width ?? m.width,
    height = m.autoOrient?.height ?? m.height;
  if (!width || !height) throw new Error('has no size in its header');
  return { width, height, gray: m.channels <= 2 || m.space === 'b-w' };
}

/**
 * HWC bytes of one image at [h, w] with `channels` channels. Alpha is dropped (as PIL's
 * convert('RGB') does); an image of another aspect ratio is scaled to cover the size and
 * centre-cropped (torchvision's Resize + CenterCrop).
 */
export async function decodeImage(file: string, size: [number, number], channels: 1 | 3): Promise<Uint8Array> {
  const [h, w] = size;
  const { data, info } = await sharp(file, READ)
    .removeAlpha()
    .resize(w, h, { fit: 'cover', position: 'centre' })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h || info.channels !== channels || data.length !== h * w * channels)
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${w}x${h}x${channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Runs `work` over items with at most `limit` in flight (sharp decodes on libuv's thread pool). */
export async function mapLimited<T, R>(items: T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}
