// What a model records of the data it was trained on, and the one way every later stage
// (quantize, search, formats, run, pack, export) gets that data back. A registered dataset is
// known by name. An image folder's classes and normalisation are recorded in the model, because
// the folder may change after training: the model keeps normalising as it was trained, and a
// folder whose classes differ is refused instead of scored against the wrong labels.
import type { DatasetInfo } from './datasets.js';
import { datasetInfo, isRegisteredDataset } from './datasets.js';
import { parseDatasetRef } from './dataset-ref.js';
import { loadDataset, type Dataset, type LoadOptions } from './load.js';
import { OptionError, opt } from '../util/option-error.js';

/** The input a model was trained on. */
export interface TrainedInput {
  dataset: string;
  mean: number[];
  std: number[];
  classNames: string[];
}

/** The modelSpec fields recording a dataset (spread into a checkpoint's modelSpec). */
export function dataSpecOf(info: DatasetInfo): Record<string, unknown> {
  const ref = parseDatasetRef(info.name);
  return ref.kind === 'registered'
    ? { dataset: info.name }
    : { dataset: info.name, data: { classNames: info.classNames, mean: info.mean, std: info.std } };
}

/** What a modelSpec says the model was trained on, or null when it does not say (or says it badly). */
export function trainedInputOf(spec: Record<string, unknown>): TrainedInput | null {
  const name = spec.dataset;
  if (typeof name !== 'string') return null;
  let ref;
  try {
    ref = parseDatasetRef(name);
  } catch {
    return null;
  }
  if (ref.kind === 'registered') {
    const d = datasetInfo(ref.name);
    return { dataset: d.name, mean: d.mean, std: d.std, classNames: d.classNames };
  }
  const data = spec.data as Partial<TrainedInput> | undefined;
  const numbers = (a: unknown): a is number[] =>
    Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (
    !data ||
    !numbers(data.mean) ||
    !numbers(data.std) ||
    !Array.isArray(data.classNames) ||
    !data.classNames.every((c) => typeof c === 'string')
  )
    return null;
  return { dataset: name, mean: data.mean, std: data.std, classNames: data.classNames };
}

/**
 * Loads the dataset a checkpoint was trained on (`what` names the checkpoint in errors): the same
 * classes in the same order, normalised as the model was trained.
 */
export async function datasetOfModel(spec: Record<string, unknown>, what: string, o: LoadOptions = {}): Promise<Dataset> {
  const trained = trainedInputOf(spec);
  if (!trained) throw new OptionError(`${opt('from')}: ${what} does not say which dataset it was trained on`);
  const ds = await loadDataset(trained.dataset, o);
  return fitTo(ds, trained, what);
}

/** `ds` with the trained normalisation, after checking that its classes are the trained ones. */
export function fitTo(ds: Dataset, trained: TrainedInput, what: string): Dataset {
  const now = ds.info.classNames;
  if (now.join('\u0000') !== trained.classNames.join('\u0000'))
    throw new Error(
      `${what} was trained on classes [${trained.classNames.join(', ')}]; ${ds.info.name} now has [${now.join(', ')}] (class indices would not match)`,
    );
  if (ds.info.mean.join() === trained.mean.join() && ds.info.std.join() === trained.std.join()) return ds;
  return { ...ds, info: { ...ds.info, mean: trained.mean, std: trained.std } };
}

/** What a packed file's manifest says its model was trained on (`input`), or null for files that do not say. */
export function trainedInputOfPacked(
  input: { dataset?: string; classes?: string[]; mean: number[]; std: number[] } | undefined,
): TrainedInput | null {
  if (!input?.dataset) return null;
  const classNames = isRegisteredDataset(input.dataset) ? datasetInfo(input.dataset).classNames : input.classes;
  return classNames ? { dataset: input.dataset, mean: input.mean, std: input.std, classNames } : null;
}
