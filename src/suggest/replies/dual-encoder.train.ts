import type * as TF from '@tensorflow/tfjs';
import type { DualEncoderWeights, TowerWeights } from './dual-encoder.ts';
import type { SparseVector } from './encoding.ts';
import { normalArray, seededRandom, shuffleInPlace } from './random.ts';

/**
 * Trains the dual encoder in TensorFlow.js on the wasm backend with in-batch negatives (Henderson
 * et al. 2017, "Efficient natural language response suggestion for Smart Reply"): for a batch of
 * B (context, reply) pairs, the B×B matrix of scores goes through a softmax per context whose
 * target is its own reply, so the other B−1 replies are the negatives. Pairs whose replies share
 * a dedupe key are not each other's negatives (masked), or "you're welcome" would be taught to be
 * wrong for half of the thank-yous.
 *
 * The n-gram embedding bag is a custom op: the wasm backend's `gather` is slow (~45 ms for 15k
 * rows here, against ~2 ms for `gatherND`) and it has no UnsortedSegmentSum kernel for the
 * gradient. Forward: gatherND rows, scale by the values, scatterND-sum them per example. Backward:
 * scatterND-sum the examples' gradients into the embedding rows.
 *
 * Reproducible: the weights start from a seeded PRNG (not tfjs's initialisers), the batch order is
 * seeded, and the wasm backend runs one thread in a fixed order. tfjs is imported dynamically, so
 * a serving process that only scores never loads it.
 */

export interface DualEncoderTrainConfig {
  dim: number;
  /** Add a dense layer after tanh in both towers. */
  dense: boolean;
  /** One embedding table for both towers (needs one vocabulary: `responseRows` = `contextRows`). */
  tied: boolean;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Fixed multiplier of the dot product (the softmax temperature's inverse). */
  scale: number;
  /** Also train replies → contexts (the transposed softmax). */
  symmetric: boolean;
  /** Standard deviation of the initial embedding rows. */
  initScale: number;
  /** Share of a training example's n-grams dropped per step (seeded; the rest rescaled): augmentation against memorising. */
  inputDropout: number;
  seed: number;
}

export const defaultDualEncoderConfig: DualEncoderTrainConfig = {
  dim: 64,
  dense: false,
  tied: false,
  epochs: 3,
  batchSize: 128,
  learningRate: 0.06,
  scale: 0.25,
  symmetric: true,
  initScale: 0.1,
  inputDropout: 0,
  seed: 1,
};

export interface DualEncoderTrainingSet {
  contexts: SparseVector[];
  responses: SparseVector[];
  /** Dedupe key per reply: equal keys are not negatives of each other. */
  responseKeys: string[];
  contextRows: number;
  responseRows: number;
}

export interface DualEncoderTrainResult {
  weights: DualEncoderWeights;
  losses: number[];
  seconds: number;
  backend: string;
}

type Tf = typeof TF;

let tfReady: Promise<Tf> | undefined;

/** tfjs on the wasm backend, loaded once per process. */
export function loadTensorflow(): Promise<Tf> {
  tfReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (tf.getBackend() !== 'wasm' && !(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend is not available');
    await tf.ready();
    return tf;
  })();
  return tfReady;
}

interface Batch {
  ids: TF.Tensor2D;
  values: TF.Tensor2D;
  segments: TF.Tensor2D;
}

function batchTensors(tf: Tf, vectors: readonly SparseVector[], rows: readonly number[], dropout = 0, random?: () => number): Batch {
  let nnz = 0;
  for (const row of rows) nnz += vectors[row]!.ids.length;
  const ids = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const segments = new Int32Array(nnz);
  const keep = 1 - dropout;
  let at = 0;
  rows.forEach((row, position) => {
    const vector = vectors[row]!;
    for (let j = 0; j < vector.ids.length; j++) {
      if (dropout > 0 && random && random() < dropout) continue;
      ids[at] = vector.ids[j]!;
      values[at] = dropout > 0 ? vector.values[j]! / keep : vector.values[j]!;
      segments[at] = position;
      at++;
    }
  });
  return {
    ids: tf.tensor2d(ids.subarray(0, at), [at, 1], 'int32'),
    values: tf.tensor2d(values.subarray(0, at), [at, 1]),
    segments: tf.tensor2d(segments.subarray(0, at), [at, 1], 'int32'),
  };
}

/** Σ_j value_j · embedding[id_j] per example: [batch, dim], with a hand-written gradient for the embedding. */
export function embeddingBag(tf: Tf, embedding: TF.Tensor2D, batch: Batch, batchSize: number): TF.Tensor2D {
  const dim = embedding.shape[1];
  const op = tf.customGrad((...inputs: Array<TF.Tensor | TF.GradSaveFunc>) => {
    const table = inputs[0] as TF.Tensor;
    const rows = tf.mul(tf.gatherND(table, batch.ids), batch.values);
    const value = tf.scatterND(batch.segments, rows, [batchSize, dim]);
    return {
      value,
      gradFunc: (dy: TF.Tensor) => [tf.scatterND(batch.ids, tf.mul(tf.gatherND(dy, batch.segments), batch.values), table.shape)],
    };
  });
  return op(embedding) as TF.Tensor2D;
}

interface TowerVariables {
  embedding: TF.Variable<TF.Rank.R2>;
  bias: TF.Variable<TF.Rank.R1>;
  dense?: TF.Variable<TF.Rank.R2>;
  denseBias?: TF.Variable<TF.Rank.R1>;
}

function towerVariables(tf: Tf, rows: number, config: DualEncoderTrainConfig, random: () => number): TowerVariables {
  const { dim } = config;
  const limit = Math.sqrt(6 / (2 * dim));
  const glorot = Float32Array.from({ length: dim * dim }, () => (random() * 2 - 1) * limit);
  const rowsAtLeastOne = Math.max(rows, 1);
  // tidy disposes the initial values; variables survive it.
  return {
    embedding: tf.tidy(() => tf.variable(tf.tensor2d(normalArray(rowsAtLeastOne * dim, config.initScale, random), [rowsAtLeastOne, dim]), true)),
    bias: tf.tidy(() => tf.variable(tf.zeros([dim]) as TF.Tensor1D, true)),
    ...(config.dense
      ? {
          dense: tf.tidy(() => tf.variable(tf.tensor2d(glorot, [dim, dim]), true)),
          denseBias: tf.tidy(() => tf.variable(tf.zeros([dim]) as TF.Tensor1D, true)),
        }
      : {}),
  };
}

/** The tfjs forward pass of one tower (the reference the compiled scorer is tested against). */
export function towerForward(tf: Tf, tower: TowerVariables | TowerTensors, batch: Batch, batchSize: number): TF.Tensor2D {
  const hidden = tf.tanh(tf.add(embeddingBag(tf, tower.embedding, batch, batchSize), tower.bias)) as TF.Tensor2D;
  return tower.dense && tower.denseBias ? (tf.add(tf.matMul(hidden, tower.dense), tower.denseBias) as TF.Tensor2D) : hidden;
}

interface TowerTensors {
  embedding: TF.Tensor2D;
  bias: TF.Tensor1D;
  dense?: TF.Tensor2D;
  denseBias?: TF.Tensor1D;
}

async function readTower(tower: TowerVariables): Promise<TowerWeights> {
  return {
    embedding: (await tower.embedding.data()) as Float32Array,
    bias: (await tower.bias.data()) as Float32Array,
    ...(tower.dense && tower.denseBias ? { dense: (await tower.dense.data()) as Float32Array, denseBias: (await tower.denseBias.data()) as Float32Array } : {}),
  };
}

export async function trainDualEncoder(
  set: DualEncoderTrainingSet,
  config: DualEncoderTrainConfig = defaultDualEncoderConfig,
  onEpoch?: (epoch: number, loss: number) => void,
): Promise<DualEncoderTrainResult> {
  const started = performance.now();
  const tf = await loadTensorflow();
  const random = seededRandom(config.seed);
  const n = set.contexts.length;
  if (config.tied && set.contextRows !== set.responseRows) throw new Error('a tied dual encoder needs one vocabulary for both towers');
  const context = towerVariables(tf, set.contextRows, config, random);
  const response = towerVariables(tf, config.tied ? 0 : set.responseRows, config, random);
  if (config.tied) {
    response.embedding.dispose();
    response.embedding = context.embedding;
  }
  const variables = { context, response };
  const optimizer = tf.train.adam(config.learningRate);
  const order = Array.from({ length: n }, (_, i) => i);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      shuffleInPlace(order, random);
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start + 2 <= n; start += config.batchSize) {
        const rows = order.slice(start, Math.min(n, start + config.batchSize));
        const size = rows.length;
        if (size < 2) break;
        const mask = new Float32Array(size * size);
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) if (i !== j && set.responseKeys[rows[i]!] === set.responseKeys[rows[j]!]) mask[i * size + j] = -1e4;
        }
        const contextBatch = batchTensors(tf, set.contexts, rows, config.inputDropout, random);
        const responseBatch = batchTensors(tf, set.responses, rows, config.inputDropout, random);
        const maskTensor = tf.tensor2d(mask, [size, size]);
        const labels = tf.eye(size);
        const loss = optimizer.minimize(
          () => {
            const c = towerForward(tf, variables.context, contextBatch, size);
            const r = towerForward(tf, variables.response, responseBatch, size);
            const logits = tf.add(tf.mul(tf.matMul(c, r, false, true), config.scale), maskTensor);
            let total = tf.losses.softmaxCrossEntropy(labels, logits) as TF.Scalar;
            if (config.symmetric) total = tf.add(total, tf.losses.softmaxCrossEntropy(labels, tf.transpose(logits))) as TF.Scalar;
            return total;
          },
          true,
        );
        lossSum += (await loss!.data())[0]!;
        batches++;
        tf.dispose([loss!, contextBatch.ids, contextBatch.values, contextBatch.segments, responseBatch.ids, responseBatch.values, responseBatch.segments, maskTensor, labels]);
      }
      const mean = batches > 0 ? lossSum / batches : 0;
      losses.push(mean);
      onEpoch?.(epoch + 1, mean);
    }
    const contextWeights = await readTower(variables.context);
    const responseWeights = await readTower(variables.response);
    // A tied table is one array in both towers (the artifact stores it once).
    if (config.tied) responseWeights.embedding = contextWeights.embedding;
    const weights: DualEncoderWeights = { dim: config.dim, scale: config.scale, context: contextWeights, response: responseWeights };
    return { weights, losses, seconds: (performance.now() - started) / 1000, backend: tf.getBackend() };
  } finally {
    optimizer.dispose();
    tf.dispose(Object.values(variables.context));
    tf.dispose(Object.values(variables.response).filter((variable) => variable !== variables.context.embedding));
  }
}

/**
 * The tfjs forward pass over given weights, for the parity test of the compiled scorer: returns
 * [contexts × dim] and [responses × dim] encodings.
 */
export async function tfjsEncodings(weights: DualEncoderWeights, contexts: SparseVector[], responses: SparseVector[]): Promise<{ contexts: Float32Array; responses: Float32Array }> {
  const tf = await loadTensorflow();
  const { dim } = weights;
  const tensors = (tower: TowerWeights): TowerTensors => ({
    embedding: tf.tensor2d(tower.embedding, [tower.embedding.length / dim, dim]),
    bias: tf.tensor1d(tower.bias),
    ...(tower.dense && tower.denseBias ? { dense: tf.tensor2d(tower.dense, [dim, dim]), denseBias: tf.tensor1d(tower.denseBias) } : {}),
  });
  const encode = async (tower: TowerWeights, vectors: SparseVector[]) => {
    const towerTensors = tensors(tower);
    const batch = batchTensors(tf, vectors, vectors.map((_, i) => i));
    const out = towerForward(tf, towerTensors, batch, vectors.length);
    const data = (await out.data()) as Float32Array;
    tf.dispose([out, batch.ids, batch.values, batch.segments, ...Object.values(towerTensors)]);
    return data;
  };
  return { contexts: await encode(weights.context, contexts), responses: await encode(weights.response, responses) };
}
