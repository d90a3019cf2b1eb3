// `lowbit data fetch <name>` and `lowbit data info <name>`.
import { Command, Option } from 'commander';
import { datasetNames } from '../data/datasets.js';
import { canonicalData } from '../data/dataset-ref.js';
import { fetchDataset } from '../data/fetch.js';
import { loadDataset } from '../data/load.js';
import { datasetArg, skipBadOption } from './options.js';

export function dataCommand(): Command {
  const data = new Command('data').description('dataset files: download and inspect');
  data
    .command('fetch')
    .description('download the official files of a dataset and verify their sha256')
    .addArgument(new Command().createArgument('<name>', 'dataset').choices(datasetNames))
    .option('--out <dir>', 'where to put the files (default: $LOWBIT_CACHE or ~/.cache/lowbit/<name>)')
    .option('--base-url <url>', 'download from this mirror instead of the official location')
    .action(async (name: string, f: { out?: string; baseUrl?: string }) => {
      const dir = await fetchDataset(name, {
        ...(f.out ? { outDir: f.out } : {}),
        ...(f.baseUrl ? { baseUrl: f.baseUrl } : {}),
        onFile: (file, bytes) => process.stderr.write(`verified ${file} (${bytes} bytes)\n`),
      });
      console.log(`${name}: verified files in ${dir} (use --data-dir ${dir})`);
    });
  data
    .command('info')
    .description('load a dataset (an image folder: decode and cache it) and print its shape, classes, counts and statistics')
    .addArgument(
      new Command()
        .createArgument('<name>', `dataset: ${datasetNames.join(', ')} or folder:<dir>[?size=HxW&channels=1|3&test=0.2&seed=1]`)
        .argParser(datasetArg),
    )
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .addOption(skipBadOption())
    .addOption(new Option('--json', 'print JSON'))
    .action(async (text: string, f: { dataDir?: string; json?: boolean; skipBad?: boolean }) => {
      const name = canonicalData(text, { skipBad: f.skipBad });
      const ds = await loadDataset(name, f.dataDir ? { dataDir: f.dataDir } : {});
      const info = ds.info;
      const counts = (l: Uint8Array) => Array.from({ length: info.numClasses }, (_, c) => l.filter((v) => v === c).length);
      const out = {
        name,
        dir: ds.dir,
        shape: info.shape,
        classes: info.numClasses,
        classNames: info.classNames,
        train: ds.train.count,
        test: ds.test.count,
        trainPerClass: counts(ds.train.labels),
        testPerClass: counts(ds.test.labels),
        mean: info.mean,
        std: info.std,
        ...(ds.skipped ? { skipped: ds.skipped } : {}),
        ...(ds.cacheFile !== undefined ? { cache: ds.cacheFile } : {}),
      };
      for (const n of ds.notes ?? []) process.stderr.write(`note: ${n}\n`);
      if (f.json) return console.log(JSON.stringify(out));
      console.log(
        `${name}: ${out.train} training and ${out.test} test images of ${info.shape.join('x')} in ${info.numClasses} classes, from ${ds.dir}`,
      );
      console.log(`  normalisation: mean [${info.mean.join(', ')}], std [${info.std.join(', ')}]`);
      if (ds.skipped?.length)
        console.log(`  skipped ${ds.skipped.length} unreadable images (first: ${ds.skipped[0].file}: ${ds.skipped[0].reason})`);
      if (ds.cacheFile) console.log(`  decoded images cached in ${ds.cacheFile}`);
    });
  return data;
}
