// Loading the checkpoint of a finished run for a later stage (pack, simulate, export, search,
// formats): an unfinished run is refused unless the caller allows a partial one, and then the
// caller gets one line to print saying so.
import { loadCheckpoint, type CheckpointData } from './checkpoint.js';
import { partialNote, resolveCheckpoint } from './run-dir.js';

export interface LoadedRun {
  ck: CheckpointData;
  file: string;
  /** Set when the run is unfinished and allowPartial let it through. */
  partial: string | null;
}

export async function loadRunCheckpoint(p: string, flag: string, allowPartial = false): Promise<LoadedRun> {
  const file = resolveCheckpoint(p, flag);
  const ck = await loadCheckpoint(file);
  return { ck, file, partial: partialNote(file, ck.state, flag, allowPartial) };
}
