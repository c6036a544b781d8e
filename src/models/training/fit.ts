import { createTimeSlice } from '../../platform/index.ts';
import type { TrainingSet } from '../dataset.ts';
import { buildModel, inputWidth, ngramProduct, readWeights, writeWeights, type ModelConfig, type ModelWeights } from './model.ts';
import { compileScorer, toCompiledWeights } from '../scorer.ts';
import { seededRandom, shuffleInPlace } from '../random.ts';
import { tf } from './tf-runtime.ts';

/**
 * The training loop: seeded shuffling, mini-batches, Adam on a class-weighted cross-entropy with
 * L2, early stopping on a validation set. A custom loop rather than `model.fit`: tfjs's fit
 * takes no per-example weights, needs the whole data set as padded tensors (the sparse rows vary
 * from a few to a thousand entries), and its dropout cannot be seeded per step (so the MLP uses L2
 * only, and a run is reproducible bit for bit on one backend).
 */

export interface FitOptions {
  /** Epochs at most (with `validation`, training stops earlier when the validation loss stops falling). */
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the dense-input kernel (and the mlp output kernel). */
  l2: number;
  /** L2 penalty on the sparse n-gram kernel. */
  l2Sparse: number;
  /** Class weights ∝ prior^−power (0: none, 1: fully balanced), capped at maxClassWeight. */
  classWeightPower: number;
  maxClassWeight: number;
  seed: number;
  /** Share of n-gram entries dropped per example and step (0: none). */
  sparseDropout?: number;
  /** Held-out rows: after each epoch their log loss is measured and the best epoch's weights kept. */
  validation?: TrainingSet;
  /** Epochs without improvement before stopping (with `validation`). */
  patience?: number;
  onEpoch?: (epoch: number, epochs: number, loss: number, validationLoss: number | null) => void;
}

export interface FitResult {
  model: tf.LayersModel;
  /** Final weights, with the class weighting taken back out of the output bias (calibrated probabilities). */
  weights: ModelWeights;
  /** Weighted class frequencies of the training rows. */
  priors: number[];
  classWeights: number[];
  losses: number[];
  validationLosses: number[];
  /** The epoch whose weights were kept (1-based). */
  bestEpoch: number;
  seconds: number;
}

/** Log-probability given to a class without a single training example. */
const ABSENT_CLASS_BIAS = -30;

export function classWeightsFor(priors: readonly number[], power: number, cap: number): number[] {
  const raw = priors.map((p) => (p > 0 ? Math.min(cap, p ** -power) : 0));
  // Normalised so the weighted mean over the training rows is 1 (the loss keeps its scale).
  const mean = priors.reduce((sum, p, k) => sum + p * raw[k]!, 0);
  return raw.map((w) => (mean > 0 ? w / mean : w));
}

export async function fitModel(config: ModelConfig, data: TrainingSet, options: FitOptions): Promise<FitResult> {
  const started = performance.now();
  const priors = new Array<number>(config.classes).fill(0);
  let totalWeight = 0;
  for (let r = 0; r < data.n; r++) {
    for (let k = 0; k < config.classes; k++) priors[k]! += data.weight[r]! * data.target[r * config.classes + k]!;
    totalWeight += data.weight[r]!;
  }
  for (let k = 0; k < priors.length; k++) priors[k] = totalWeight > 0 ? priors[k]! / totalWeight : 0;
  const classWeights = classWeightsFor(priors, options.classWeightPower, options.maxClassWeight);
  // Class weighting trains q(k|x) ∝ w_k·p(k|x); subtracting log w_k from the output bias gives back
  // calibrated probabilities. A class without examples gets a bias that keeps it at ~0.
  const calibrate = (weights: ModelWeights): ModelWeights => {
    const bias = Float32Array.from(config.kind === 'logistic' ? weights.denseBias : weights.outBias!);
    for (let k = 0; k < config.classes; k++) bias[k] = classWeights[k]! > 0 ? bias[k]! - Math.log(classWeights[k]!) : ABSENT_CLASS_BIAS;
    return config.kind === 'logistic' ? { ...weights, denseBias: bias } : { ...weights, outBias: bias };
  };

  const model = buildModel(config);
  const width = inputWidth(config);
  const table = createSparseAdam(config.buckets, width, options.learningRate, options.l2Sparse);
  const optimizer = tf.train.adam(options.learningRate);
  const random = seededRandom(options.seed);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const losses: number[] = [];
  const validationLosses: number[] = [];
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const kernels = variables.filter((variable) => variable.name.includes('kernel'));
  const patience = options.patience ?? 3;
  let best: { epoch: number; loss: number; weights: ModelWeights } | undefined;

  // Embedded, training runs in the api process, and a batch's awaits resolve as microtasks (the
  // wasm backend answers at once), which never let timers or requests in: a whole fit held the
  // event loop (12–14 s for 200 MultiWOZ dialogues). Pausing every few milliseconds lets them in.
  const slice = createTimeSlice();
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      shuffleInPlace(order, random);
      let epochLoss = 0;
      let batches = 0;
      for (let start = 0; start < data.n; start += options.batchSize) {
        if (slice.due()) await slice.pause();
        const rows = order.subarray(start, Math.min(data.n, start + options.batchSize));
        const batch = makeBatch(data, rows, table.weights, width, classWeights, { rate: options.sparseDropout ?? 0, random });
        // The n-gram products as a variable, so the gradient reaches them; backprop to the table by hand.
        const ngrams = tf.variable(batch.ngrams, true);
        const { value, grads } = optimizer.computeGradients(() => {
          const logits = model.apply([batch.dense, ngrams], { training: true }) as tf.Tensor2D;
          const dataLoss = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), batch.targets)));
          const penalty = tf.mul(options.l2, tf.addN(kernels.map((kernel) => tf.sum(tf.square(kernel)))));
          return tf.add(dataLoss, penalty) as tf.Scalar;
        }, [...variables, ngrams]);
        const ngramGrad = grads[ngrams.name]!;
        table.backward(data, rows, (await ngramGrad.data()) as Float32Array, batch.kept);
        optimizer.applyGradients(Object.entries(grads).flatMap(([name, tensor]) => (name === ngrams.name ? [] : [{ name, tensor }])));
        epochLoss += (await value.data())[0]!;
        batches++;
        tf.dispose([value, ngramGrad, ...Object.values(grads), ngrams, batch.ngrams, batch.dense, batch.targets]);
      }
      losses.push(epochLoss / Math.max(batches, 1));
      let validationLoss: number | null = null;
      if (options.validation) {
        const weights = calibrate(readWeights(model, config, Float32Array.from(table.weights)));
        validationLoss = logLossOf(config, weights, options.validation);
        validationLosses.push(validationLoss);
        if (!best || validationLoss < best.loss - 1e-5) best = { epoch: epoch + 1, loss: validationLoss, weights };
      }
      options.onEpoch?.(epoch + 1, options.epochs, losses[losses.length - 1]!, validationLoss);
      if (best && epoch + 1 - best.epoch >= patience) break;
    }
  } finally {
    optimizer.dispose();
  }

  const weights = best?.weights ?? calibrate(readWeights(model, config, table.weights));
  writeWeights(model, config, weights);
  return { model, weights, priors, classWeights, losses, validationLosses, bestEpoch: best?.epoch ?? losses.length, seconds: (performance.now() - started) / 1000 };
}

/** Mean cross-entropy against the label distributions, of calibrated weights (by the compiled scorer: no tensors). */
function logLossOf(config: ModelConfig, weights: ModelWeights, data: TrainingSet): number {
  const scorer = compileScorer(config, toCompiledWeights(weights, config));
  const K = config.classes;
  const probs = new Float64Array(K);
  let sum = 0;
  for (let r = 0; r < data.n; r++) {
    const from = data.offsets[r]!;
    scorer.probs(data.dense.subarray(r * data.width, (r + 1) * data.width), data.idx.subarray(from), data.val.subarray(from), data.offsets[r + 1]! - from, probs);
    for (let k = 0; k < K; k++) {
      const q = data.target[r * K + k]!;
      if (q > 0) sum -= q * Math.log(Math.max(probs[k]!, 1e-15));
    }
  }
  return data.n === 0 ? 0 : sum / data.n;
}

/**
 * The n-gram table and its optimiser. Backward: d loss / d table[b] = Σ over the batch's entries
 * with bucket b of val · d loss / d ngrams[row]. Adam then updates only the touched rows ("lazy"
 * Adam, as TensorFlow's LazyAdam for embeddings), with the L2 penalty on those rows; the same
 * constants as tfjs's Adam (β1 0.9, β2 0.999, ε 1e-7).
 */
function createSparseAdam(rows: number, width: number, learningRate: number, l2: number) {
  const weights = new Float32Array(rows * width);
  const m = new Float32Array(rows * width);
  const v = new Float32Array(rows * width);
  const grad = new Float32Array(rows * width);
  const touched = new Uint8Array(rows);
  const list: number[] = [];
  const beta1 = 0.9;
  const beta2 = 0.999;
  const epsilon = 1e-7;
  let step = 0;
  return {
    weights,
    backward(data: TrainingSet, batchRows: Int32Array, ngramGrad: Float32Array, kept: Float32Array | null): void {
      let e = 0;
      for (let b = 0; b < batchRows.length; b++) {
        const r = batchRows[b]!;
        for (let i = data.offsets[r]!; i < data.offsets[r + 1]!; i++, e++) {
          const value = kept ? data.val[i]! * kept[e]! : data.val[i]!;
          if (value === 0) continue;
          const bucket = data.idx[i]!;
          if (!touched[bucket]) {
            touched[bucket] = 1;
            list.push(bucket);
          }
          const base = bucket * width;
          for (let u = 0; u < width; u++) grad[base + u]! += value * ngramGrad[b * width + u]!;
        }
      }
      step++;
      const correction1 = 1 - beta1 ** step;
      const correction2 = 1 - beta2 ** step;
      for (const bucket of list) {
        const base = bucket * width;
        for (let u = 0; u < width; u++) {
          const at = base + u;
          const g = grad[at]! + 2 * l2 * weights[at]!;
          grad[at] = 0;
          m[at] = beta1 * m[at]! + (1 - beta1) * g;
          v[at] = beta2 * v[at]! + (1 - beta2) * g * g;
          weights[at]! -= (learningRate * (m[at]! / correction1)) / (Math.sqrt(v[at]! / correction2) + epsilon);
        }
        touched[bucket] = 0;
      }
      list.length = 0;
    },
  };
}

interface Batch {
  dense: tf.Tensor2D;
  ngrams: tf.Tensor2D;
  /** Per sparse entry of the batch (in row order): 0 when dropped, else 1/(1 − rate); null without dropout. */
  kept: Float32Array | null;
  /** Label distributions × example weight × class weight, normalised to sum 1 over the batch. */
  targets: tf.Tensor2D;
}

function makeBatch(
  data: TrainingSet,
  rows: Int32Array,
  table: Float32Array,
  width: number,
  classWeights: readonly number[],
  dropout?: { rate: number; random: () => number },
): Batch {
  const size = rows.length;
  const classes = classWeights.length;
  const dense = new Float32Array(size * data.width);
  const ngrams = new Float32Array(size * width);
  const targets = new Float32Array(size * classes);
  let entries = 0;
  for (const r of rows) entries += data.offsets[r + 1]! - data.offsets[r]!;
  const kept = dropout && dropout.rate > 0 ? new Float32Array(entries) : null;
  let e = 0;
  let total = 0;
  for (let b = 0; b < size; b++) {
    const r = rows[b]!;
    dense.set(data.dense.subarray(r * data.width, (r + 1) * data.width), b * data.width);
    if (kept) {
      // Dropout on the n-grams, drawn from the run's seeded stream (tfjs's own dropout reseeds per call).
      for (let i = data.offsets[r]!; i < data.offsets[r + 1]!; i++, e++) {
        const scale = dropout!.random() < dropout!.rate ? 0 : 1 / (1 - dropout!.rate);
        kept[e] = scale;
        if (scale === 0) continue;
        const base = data.idx[i]! * width;
        const value = data.val[i]! * scale;
        for (let u = 0; u < width; u++) ngrams[b * width + u]! += value * table[base + u]!;
      }
    } else ngramProduct(table, width, data.idx, data.val, data.offsets[r]!, data.offsets[r + 1]!, ngrams, b * width);
    for (let k = 0; k < classes; k++) {
      const t = data.weight[r]! * classWeights[k]! * data.target[r * classes + k]!;
      targets[b * classes + k] = t;
      total += t;
    }
  }
  if (total > 0) for (let i = 0; i < targets.length; i++) targets[i]! /= total;
  return {
    dense: tf.tensor2d(dense, [size, data.width]),
    ngrams: tf.tensor2d(ngrams, [size, width]),
    kept,
    targets: tf.tensor2d(targets, [size, classes]),
  };
}

/** Class probabilities for rows of a set through the tfjs model (evaluation of the graph itself; parity). */
export function predictWithModel(model: tf.LayersModel, config: ModelConfig, table: Float32Array, data: TrainingSet, rows: Int32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start < rows.length; start += 512) {
    const batch = makeBatch(data, rows.subarray(start, Math.min(rows.length, start + 512)), table, inputWidth(config), new Array<number>(config.classes).fill(1));
    const probs = tf.tidy(() => tf.softmax(model.predict([batch.dense, batch.ngrams]) as tf.Tensor2D));
    const values = probs.dataSync() as Float32Array;
    const classes = probs.shape[1]!;
    for (let b = 0; b < probs.shape[0]!; b++) out.push(values.slice(b * classes, (b + 1) * classes));
    tf.dispose([probs, batch.dense, batch.ngrams, batch.targets]);
  }
  return out;
}
