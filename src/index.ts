// The public API of lowbit: everything a library user may import, listed explicitly.

// Engine
export { tf } from './engine/tf.js';
export { initEngine, setThreads, engineInfo, type EngineOptions, type EngineInfo } from './engine/setup.js';
export { setNativeKernels, nativeKernelsEnabled } from './engine/override.js';
export { withBufferPool, clearBufferPool, setBufferPoolEnabled } from './engine/buffer-pool.js';
export { batchNormTrain, batchNormInfer, type BatchNormTrainResult } from './engine/ops/batchnorm.js';
export { softmaxCrossEntropy } from './engine/ops/softmax-xent.js';

// Data
export { datasets, datasetInfo, datasetNames, type DatasetName, type DatasetInfo, type RegisteredDataset } from './data/datasets.js';
export { parseDatasetRef, formatDatasetRef, canonicalData, type DatasetRef, type FolderRef } from './data/dataset-ref.js';
export { datasetOfModel, trainedInputOf, type TrainedInput } from './data/model-data.js';
export { loadDataset, limitSplit, type Dataset, type LoadOptions } from './data/load.js';
export { fetchDataset, type FetchOptions } from './data/fetch.js';
export { parseIdx, readIdxFile, type IdxArray } from './data/idx.js';
export { parseCifarBatch, readCifarFiles, type LabeledImages } from './data/cifar.js';
export { makeBatch, normalizationTable, type Batch, type BatchOptions } from './data/batches.js';
export { makeRng, deriveSeed, permutation, type Rng } from './data/rng.js';

// Models and layers
export { buildModel, zoo, modelNames, type ModelName } from './models/zoo.js';
export { type ModelOptions, type InputShape } from './models/common.js';
export { layerMacs, totalMacs, type LayerMacs } from './models/macs.js';
export { BatchNorm, type BatchNormArgs } from './nn/batch-norm.js';

// Training
export { runTraining, type TrainOptions, type TrainResult, type TrainEvents, type EpochRecord, type StepEvent } from './train/train.js';
export { fit, type FitModelOptions } from './train/fit.js';
export { parseTrainConfig, trainConfigSchema, type TrainConfig, type TrainConfigInput } from './train/config.js';
export { trainStep, predictLogits, trainableVariables, type StepResult } from './train/step.js';
export { evaluate, type EvalResult } from './train/evaluate.js';
export { Optimizer, type OptimizerConfig, type OptimizerState } from './train/optimizer.js';
export { learningRate, type Schedule, type LrConfig } from './train/schedule.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  loadCheckpointBytes,
  readCheckpointRaw,
  checkpointFingerprint,
  type CheckpointData,
} from './train/checkpoint.js';
export { upgradeCheckpointFile } from './train/checkpoint-upgrade.js';
export { runStatus, resolveCheckpoint, type RunStatus } from './train/run-dir.js';
export { loadRunCheckpoint, type LoadedRun } from './train/load-run.js';
export { DivergedError, DIVERGED_LOSS } from './train/loop.js';

// Your own models: ONNX import
export { importOnnx, importableOps, type ImportOptions, type ImportedModel } from './import/onnx.js';
export { importTfjsLayers, type TfjsImport } from './import/keras.js';
export { importRun, type ImportRunOptions, type ImportRunResult } from './train/import-run.js';

// Number formats (declared once; see src/quant/)
export { formats, formatNames, parseFormatSpec, formatOf, type FormatName, type FormatSpec, type SpecOf } from './quant/registry.js';
export type { FormatDef, Storage, HardwareDescriptor, Granularity, FitOptions } from './quant/types.js';
export { esbMagnitudes, esbLambda } from './quant/esb.js';
export { dybitMagnitudes, dybitField, dybitFieldBits } from './quant/dybit.js';
export { mpqBitsPerWeight, mpqCode, mpqFlagIndex, mpqStoredBits } from './quant/mpq.js';
export { lsqGradScale, lsqRange } from './quant/lsq.js';
export { intRange } from './quant/int.js';
export { fakeQuant, fakeQuantLsq, fakeQuantPact, type FakeQuantHook } from './quant/fake-quant.js';
export { formatError, type FormatError } from './quant/analysis.js';

// Quantized layers
export { quantizeModel, planQuantization, type QuantizeConfig, type LayerPlan, type LayerOverride } from './nn/quantize-model.js';
export { QConv2D, type QConv2DArgs } from './nn/qconv2d.js';
export { QDense, type QDenseArgs } from './nn/qdense.js';
export { QAct, type QActArgs } from './nn/qact.js';
export { QuantLayer } from './nn/quant-layer.js';
export { Quantizer, withCalibration, type QuantizerState } from './nn/quantizer.js';
export { modelQuantizers, calibrateModel, type LayerQuantizers } from './nn/quantizers.js';

// Quantization methods (ste, lsq, ptq, sq, mpq, slb, esb, dropbits, pq)
export {
  runQuantization,
  parseQuantizeOptions,
  quantizeOptionsSchema,
  weightError,
  type QuantizeOptions,
  type QuantizeOptionsInput,
  type QuantizeResult,
  type QuantizeRun,
  type WeightError,
} from './train/quantize.js';
export { methods, methodNames, type MethodName } from './train/methods/registry.js';
export { methodLayers, type QuantMethod, type MethodRun, type MethodContext, type MethodLayer } from './train/methods/method.js';
export { sqOptionsSchema, type SqOptions } from './train/methods/sq.js';
export { mpqOptionsSchema, grantFlags, type MpqOptions } from './train/methods/mpq.js';
export { slbOptionsSchema, type SlbOptions } from './train/methods/slb.js';
export { dropbitsOptionsSchema, settledBits, type DropbitsOptions } from './train/methods/dropbits.js';
export { pqOptionsSchema, productCodes, type PqOptions } from './train/methods/pq.js';
export { pqCluster, secondMoment, type PqResult } from './train/methods/pq-em.js';
export {
  codeLayout,
  convLayout,
  denseLayout,
  fromCentroids,
  toSubvectors,
  type BlockLayout,
  type ProductCode,
} from './quant/product-blocks.js';
export { runEpochs, type StepHooks } from './train/loop.js';

// Accelerator model (SPEC.md §5)
export {
  loadAccelerator,
  parseAccelerator,
  acceleratorSchema,
  energyTable,
  presets,
  presetNames,
  type Accelerator,
  type EnergyTable,
} from './hw/config.js';
export { costLayer, roundToPrecision, uniqueBytes, type LayerShape, type LayerPrecision, type LayerCost } from './hw/layer.js';
export { chooseTiling, type Tiling } from './hw/tiling.js';
export { describeModel, atUniformBits, storageBits, type HwLayer } from './hw/from-model.js';
export {
  simulate,
  simulateLayers,
  simulateWithBaselines,
  fp32Twin,
  type Simulation,
  type SimulationReport,
  type Totals,
} from './hw/simulate.js';

// Mixed-precision search (SPEC.md §4)
export { planSearch, runFront, type SearchSettings, type SearchPlan, type SearchPoint, type FrontPoint } from './search/search.js';
export { defaultCandidates } from './search/candidates.js';

// Packed models, the integer runtime and export (SPEC.md §6)
export { packModel, type PackReport } from './deploy/pack.js';
export { packCheckpoint } from './deploy/pack-checkpoint.js';
export { readPacked, type PackedModel } from './deploy/read.js';
export { PackedFormatError } from './deploy/container.js';
export { loadLowbit, LowbitModel } from './deploy/runtime/model.js';
export { evaluatePacked, type Evaluation, type EvaluateOptions } from './deploy/runtime/evaluate.js';
export { agreement, type Agreement } from './deploy/runtime/agreement.js';
export { exportOnnx } from './deploy/onnx/export.js';
export { toLayersModel } from './deploy/to-layers.js';

// Report
export { buildReport, type BuildReportOptions } from './report/build.js';
