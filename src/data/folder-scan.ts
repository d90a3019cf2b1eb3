// The ImageFolder layout: <dir>/<class>/<image> (split here with a seed), or <dir>/train/<class>/…
// and <dir>/test/<class>/…. Classes are the subfolder names in sorted order, as torchvision's
// ImageFolder numbers them, so a model trained there keeps its class indices here.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { deriveSeed, makeRng, permutation } from './rng.js';
import type { FolderRef } from './dataset-ref.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface ImageFile {
  /** Path relative to the dataset folder, with '/' separators. */
  rel: string;
  label: number;
  bytes: number;
  mtimeMs: number;
}

export interface FolderListing {
  classNames: string[];
  train: ImageFile[];
  test: ImageFile[];
  /** 'folders' when train/ and test/ were given, 'seeded' when split here. */
  split: 'folders' | 'seeded';
  /** Files in class folders that are not PNG or JPEG by their extension (not read). */
  ignored: number;
}

/** Lists the images of a folder dataset; every layout mistake is one line naming the folder. */
export function scanFolder(ref: FolderRef): FolderListing {
  const dir = ref.dir;
  if (!existsSync(dir)) throw new Error(`data folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`data folder ${dir} is a file; expected a folder with one subfolder per class`);
  const trainDir = path.join(dir, 'train'),
    testDir = path.join(dir, 'test');
  const hasTrain = isDir(trainDir),
    hasTest = isDir(testDir);
  if (hasTrain !== hasTest)
    throw new Error(`data folder ${dir} has ${hasTrain ? 'train/ but no test/' : 'test/ but no train/'}; give both, or only class folders`);
  if (hasTrain) {
    const classNames = classFolders(trainDir);
    const testClasses = classFolders(testDir);
    const extra = testClasses.filter((c) => !classNames.includes(c));
    if (extra.length) throw new Error(`${testDir} has classes that ${trainDir} lacks: ${extra.join(', ')}`);
    const train = listClasses(dir, 'train', classNames, true);
    const test = listClasses(dir, 'test', classNames, false);
    if (test.files.length === 0) throw new Error(`${testDir} holds no PNG or JPEG images`);
    return { classNames, train: train.files, test: test.files, split: 'folders', ignored: train.ignored + test.ignored };
  }
  const classNames = classFolders(dir);
  const all = listClasses(dir, '', classNames, true);
  const train: ImageFile[] = [],
    test: ImageFile[] = [];
  for (let c = 0; c < classNames.length; c++) {
    const files = all.files.filter((f) => f.label === c);
    if (files.length < 2)
      throw new Error(`${path.join(dir, classNames[c])} has ${files.length} image; a seeded split needs at least 2 per class`);
    // Per class, so every class is in both splits in proportion; the order depends only on the seed and the names.
    const order = permutation(files.length, makeRng(deriveSeed(ref.seed, 'folder-split', classNames[c])));
    const nTest = Math.min(files.length - 1, Math.max(1, Math.round(files.length * ref.test)));
    order.forEach((k, i) => (i < nTest ? test : train).push(files[k]));
  }
  const byName = (a: ImageFile, b: ImageFile) => a.label - b.label || (a.rel < b.rel ? -1 : 1);
  return { classNames, train: train.sort(byName), test: test.sort(byName), split: 'seeded', ignored: all.ignored };
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function classFolders(dir: string): string[] {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (names.length < 2)
    throw new Error(
      `${dir} has ${names.length} class folder${names.length === 1 ? '' : 's'}; expected one subfolder per class (at least 2)`,
    );
  if (names.length > 256) throw new Error(`${dir} has ${names.length} class folders; at most 256 classes are supported`);
  return names;
}

function listClasses(root: string, split: string, classNames: string[], requireEach: boolean): { files: ImageFile[]; ignored: number } {
  const files: ImageFile[] = [];
  let ignored = 0;
  classNames.forEach((name, label) => {
    const classDir = path.join(root, split, name);
    if (!isDir(classDir)) {
      if (requireEach) throw new Error(`${classDir} is missing`);
      return;
    }
    const before = files.length;
    for (const e of readdirSync(classDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.') || !e.isFile()) continue;
      if (!IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
        ignored++;
        continue;
      }
      const st = statSync(path.join(classDir, e.name));
      files.push({ rel: [split, name, e.name].filter(Boolean).join('/'), label, bytes: st.size, mtimeMs: Math.floor(st.mtimeMs) });
    }
    if (requireEach && files.length === before) throw new Error(`${classDir} holds no PNG or JPEG images`);
  });
  return { files, ignored };
}
