// The shape of a named experiment (its id, what it runs, where its row goes), in a file of its own:
// the registry and the files that contribute experiments to it all read it.
import type { TrainConfigInput } from '../src/train/config.js';
import type { QuantizeOptionsInput } from '../src/train/quantize.js';

interface Common {
  id: string;
  title: string;
  /** Target accuracy from the issue, shown beside the result. */
  target?: number;
}

export interface FpExperiment extends Common {
  group: 'fp';
  config: TrainConfigInput;
  /** Keep a weights-only checkpoint in checkpoints/ for later experiments. */
  keepCheckpoint: boolean;
}

/** Quantization of a committed FP checkpoint (issue 3's baselines and later methods). */
export interface QuantExperiment extends Common {
  group: 'quant';
  /** The FP experiment whose checkpoint this starts from. */
  base: string;
  options: QuantizeOptionsInput;
  /** Allowed accuracy drop from FP (points), from the targets. */
  maxDrop?: number;
  /** The results table the row belongs to (default: issue 3's baselines). */
  table?: 'baselines' | 'sq' | 'sq-ablation' | 'mpq' | 'formats' | 'related' | 'noise';
  /** The experiment this one is measured against (same budget), for Δ columns. */
  compareTo?: string;
  /** A second table that lists this row too (one run, not a duplicate of the same configuration). */
  alsoIn?: QuantExperiment['table'];
}

/** A hardware-aware search front from a committed FP checkpoint (issue 7). */
export interface SearchExperiment extends Common {
  group: 'search';
  base: string;
  settings: {
    accel: string;
    objective: 'latency' | 'energy' | 'size';
    budgets: number[];
    sensitivity?: 'hessian' | 'measured';
    epochs: number;
    lr: number;
    batchSize?: number;
  };
}

export type Experiment = FpExperiment | QuantExperiment | SearchExperiment;
