// The single import point of TensorFlow.js: every lowbit module takes `tf` from here so that
// one tfjs instance (the bundle) carries our kernel registrations.
import * as tf from '@tensorflow/tfjs';

// PROD silences the "install tfjs-node" banner and skips debug-only checks on every op.
tf.env().set('PROD', true);

export { tf };
export type Tensor = tf.Tensor;
export type TensorInfo = tf.TensorInfo;
