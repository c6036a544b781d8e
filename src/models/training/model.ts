import { inputWidth, type ModelConfig, type ModelWeights } from '../model.types.ts';
import { tf } from './tf-runtime.ts';

export { inputWidth, ngramProduct, type ModelConfig, type ModelKind, type ModelWeights } from '../model.types.ts';

/**
 * The outcome models as TensorFlow.js graphs over two inputs:
 *
 *   dense   [batch, denseWidth]  standardised features (encoding.ts)
 *   ngrams  [batch, width]       the hashed n-grams through their weight table: Σ val · table[bucket]
 *
 * and one output, the class logits [batch, classes] (softmax is applied outside, so the training
 * loss works on logits and stays numerically stable).
 *
 *   logistic   logits = dense·Wd + ngrams + b                   (softmax regression; width = classes)
 *   mlp        h = relu(dense·Wd + ngrams + b1); logits = h·W2 + b2                (width = hidden)
 *
 * The n-gram layer (a linear map of 2^16 one-hot-ish inputs, of which a row has a few hundred) is
 * computed by hand, forward (`ngramProduct`) and backward (fit.ts, lazy Adam on the touched rows),
 * and enters the graph as an input: tfjs has no sparse tensors, and its `gather` on the wasm backend
 * took 12.5 ms for one batch's 38k lookups (the whole rest of a training step: ~1 ms); a dense
 * 2^16-wide input would be worse. The compiled scorer runs the same sum.
 */

/** A pure function of the config: the same config (seed included) gives the same initial weights. */
export function buildModel(config: ModelConfig): tf.LayersModel {
  if (!Number.isInteger(Math.log2(config.buckets))) throw new Error(`buckets must be a power of two, got ${config.buckets}`);
  if (config.classes < 2) throw new Error(`a model needs at least 2 classes, got ${config.classes}`);
  if (config.kind === 'mlp' && !(config.hidden > 0)) throw new Error('an mlp needs hidden units');
  const width = inputWidth(config);
  const dense = tf.input({ shape: [config.denseWidth], name: 'dense' });
  const ngrams = tf.input({ shape: [width], name: 'ngrams' });
  const fromDense = tf.layers
    .dense({ units: width, name: 'dense_in', kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed }) })
    .apply(dense) as tf.SymbolicTensor;
  const summed = tf.layers.add({ name: 'sum_in' }).apply([fromDense, ngrams]) as tf.SymbolicTensor;
  let logits = summed;
  if (config.kind === 'mlp') {
    const hidden = tf.layers.activation({ activation: 'relu', name: 'relu' }).apply(summed) as tf.SymbolicTensor;
    logits = tf.layers
      .dense({ units: config.classes, name: 'dense_out', kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed + 1 }) })
      .apply(hidden) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: [dense, ngrams], outputs: logits, name: `outcome_${config.kind}` });
}

/** The layer weights of a model, with the n-gram table kept outside it (training holds it). */
export function readWeights(model: tf.LayersModel, config: ModelConfig, sparseKernel: Float32Array): ModelWeights {
  const weight = (layer: string, index: number) => model.getLayer(layer).getWeights()[index]!.dataSync() as Float32Array;
  const weights: ModelWeights = {
    denseKernel: Float32Array.from(weight('dense_in', 0)),
    denseBias: Float32Array.from(weight('dense_in', 1)),
    sparseKernel,
  };
  if (config.kind === 'mlp') {
    weights.outKernel = Float32Array.from(weight('dense_out', 0));
    weights.outBias = Float32Array.from(weight('dense_out', 1));
  }
  return weights;
}

/** Sets a built model's layer weights (e.g. from an artifact, for the parity test); the n-gram table stays outside. */
export function writeWeights(model: tf.LayersModel, config: ModelConfig, weights: ModelWeights): void {
  const width = inputWidth(config);
  const set = (layer: string, values: tf.Tensor[]) => {
    model.getLayer(layer).setWeights(values);
    tf.dispose(values);
  };
  set('dense_in', [tf.tensor2d(weights.denseKernel, [config.denseWidth, width]), tf.tensor1d(weights.denseBias)]);
  if (config.kind === 'mlp') set('dense_out', [tf.tensor2d(weights.outKernel!, [config.hidden, config.classes]), tf.tensor1d(weights.outBias!)]);
}
