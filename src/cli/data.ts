// `lowbit data fetch <name>` and `lowbit data info <name>`.
import { Command, Option } from 'commander';
import { datasetInfo, datasetNames } from '../data/datasets.js';
import { fetchDataset } from '../data/fetch.js';
import { loadDataset } from '../data/load.js';

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
    .description('load a dataset and print its shape, counts and source')
    .addArgument(new Command().createArgument('<name>', 'dataset').choices(datasetNames))
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .addOption(new Option('--json', 'print JSON'))
    .action((name: string, f: { dataDir?: string; json?: boolean }) => {
      const info = datasetInfo(name);
      const ds = loadDataset(name, f.dataDir ? { dataDir: f.dataDir } : {});
      const counts = (l: Uint8Array) => Array.from({ length: info.numClasses }, (_, c) => l.filter((v) => v === c).length);
      const out = {
        name,
        dir: ds.dir,
        shape: info.shape,
        classes: info.numClasses,
        train: ds.train.count,
        test: ds.test.count,
        trainPerClass: counts(ds.train.labels),
      };
      if (f.json) console.log(JSON.stringify(out));
      else
        console.log(
          `${name}: ${out.train} training and ${out.test} test images of ${info.shape.join('x')} in ${info.numClasses} classes, from ${ds.dir}`,
        );
    });
  return data;
}
