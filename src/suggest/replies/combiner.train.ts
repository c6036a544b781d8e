import type * as TF from '@tensorflow/tfjs';
import { loadTensorflow } from './dual-encoder.train.ts';
import type { Combiner } from './ranker.ts';

/**
 * Fits the ranker's linear combination as a conditional logit: for each list of candidates (one
 * true reply and the others), softmax(w · standardised features) over the list, maximising the
 * true reply's probability — the same thing Recall@1 rewards. No intercept (it cancels within a
 * list). Full-batch Adam in tfjs with an L2 penalty (a prior worth `l2` lists); features are
 * standardised first so the penalty treats them alike and the weights are comparable.
 */

export interface CandidateList {
  /** One feature vector per candidate. */
  features: Float32Array[];
  /** Index of the true candidate. */
  positive: number;
}

export interface CombinerTrainConfig {
  iterations: number;
  learningRate: number;
  /**
   * Strength of the Gaussian prior on the weights, in lists: the penalty on the mean negative
   * log-likelihood is (l2 / lists) · ‖w‖², so a small history leans on it and a large one hardly.
   */
  l2: number;
}

export const defaultCombinerConfig: CombinerTrainConfig = { iterations: 300, learningRate: 0.05, l2: 5 };

export async function trainCombiner(lists: readonly CandidateList[], featureCount: number, config: CombinerTrainConfig = defaultCombinerConfig): Promise<Combiner> {
  const mean = new Float32Array(featureCount);
  const std = new Float32Array(featureCount).fill(1);
  const usable = lists.filter((list) => list.features.length >= 2);
  let rows = 0;
  for (const list of usable) {
    for (const row of list.features) {
      for (let f = 0; f < featureCount; f++) mean[f]! += row[f]!;
      rows++;
    }
  }
  if (rows === 0) return { mean, std, weights: new Float32Array(featureCount) };
  for (let f = 0; f < featureCount; f++) mean[f] = mean[f]! / rows;
  const variance = new Float64Array(featureCount);
  for (const list of usable) for (const row of list.features) for (let f = 0; f < featureCount; f++) variance[f]! += (row[f]! - mean[f]!) ** 2;
  for (let f = 0; f < featureCount; f++) {
    const sd = Math.sqrt(variance[f]! / rows);
    // A constant feature stays at weight 0 (its standardised value is 0 everywhere).
    std[f] = sd > 1e-6 ? sd : 1;
  }

  const tf = await loadTensorflow();
  const width = Math.max(...usable.map((list) => list.features.length));
  const x = new Float32Array(usable.length * width * featureCount);
  const mask = new Float32Array(usable.length * width).fill(-1e4);
  const labels = new Float32Array(usable.length * width);
  usable.forEach((list, l) => {
    list.features.forEach((row, c) => {
      const base = (l * width + c) * featureCount;
      for (let f = 0; f < featureCount; f++) x[base + f] = (row[f]! - mean[f]!) / std[f]!;
      mask[l * width + c] = 0;
    });
    labels[l * width + list.positive] = 1;
  });
  const xs = tf.tensor2d(x, [usable.length * width, featureCount]);
  const maskTensor = tf.tensor2d(mask, [usable.length, width]);
  const labelTensor = tf.tensor2d(labels, [usable.length, width]);
  const weights = tf.variable(tf.zeros([featureCount, 1]));
  const penalty = config.l2 / usable.length;
  const optimizer = tf.train.adam(config.learningRate);
  try {
    for (let i = 0; i < config.iterations; i++) {
      const loss = optimizer.minimize(() => {
        const logits = tf.add(tf.reshape(tf.matMul(xs, weights), [usable.length, width]), maskTensor);
        const nll = tf.losses.softmaxCrossEntropy(labelTensor, logits) as TF.Scalar;
        return tf.add(nll, tf.mul(penalty, tf.sum(tf.square(weights)))) as TF.Scalar;
      }, false);
      loss?.dispose();
    }
    return { mean, std, weights: Float32Array.from(await weights.data()) };
  } finally {
    optimizer.dispose();
    tf.dispose([xs, maskTensor, labelTensor, weights]);
  }
}
