import { beforeAll, describe, expect, it } from 'vitest';
import { compileScorer, type ModelConfig } from '../../src/models/index.ts';
import type { TrainingSet } from '../../src/models/dataset.ts';
import { compactSparse, expandSparse, toCompiledWeights } from '../../src/models/scorer.ts';
import { buildModel, fitModel, initTensorflow, predictWithModel, tf, writeWeights } from '../../src/models/training/index.ts';

// The TensorFlow.js side: buildModel's shapes, reproducible training, and the compiled scorer
// agreeing with the tfjs graph (the parity serving relies on).

beforeAll(async () => {
  await initTensorflow();
});

/** A seeded stream for test data (not the trainer's PRNG, so the tests do not mirror it). */
function lcg(seed: number) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** n rows of `width` dense features and ~12 sparse entries among `buckets`, labels from a linear rule. */
function syntheticSet(n: number, width: number, buckets: number, classes: number, seed = 7): TrainingSet {
  const random = lcg(seed);
  const dense = new Float32Array(n * width);
  const offsets = new Int32Array(n + 1);
  const idx: number[] = [];
  const val: number[] = [];
  const label = new Int32Array(n);
  const target = new Float32Array(n * classes);
  for (let r = 0; r < n; r++) {
    let score = 0;
    for (let j = 0; j < width; j++) {
      dense[r * width + j] = random() * 2 - 1;
      score += dense[r * width + j]! * (j % 2 === 0 ? 1 : -0.5);
    }
    const entries = 8 + Math.floor(random() * 8);
    for (let i = 0; i < entries; i++) {
      const bucket = Math.floor(random() * buckets);
      idx.push(bucket);
      val.push(0.25);
      if (bucket < buckets / 8) score += 0.5;
    }
    offsets[r + 1] = idx.length;
    const k = Math.max(0, Math.min(classes - 1, Math.floor((score + 1.5) * (classes / 3))));
    label[r] = k;
    target[r * classes + k] = 1;
  }
  return { n, width, dense, offsets, idx: Int32Array.from(idx), val: Float32Array.from(val), label, weight: new Float32Array(n).fill(1), target };
}

const fitOptions = { epochs: 3, batchSize: 32, learningRate: 0.02, l2: 1e-4, l2Sparse: 1e-6, classWeightPower: 0.5, maxClassWeight: 20, seed: 3 };

describe('buildModel', () => {
  it('logistic: dense → classes plus the n-gram products, logits out', () => {
    const config: ModelConfig = { kind: 'logistic', denseWidth: 7, buckets: 256, classes: 5, hidden: 0, seed: 1 };
    const model = buildModel(config);
    expect(model.inputs.map((input) => input.shape)).toEqual([
      [null, 7],
      [null, 5],
    ]);
    expect(model.outputs[0]!.shape).toEqual([null, 5]);
    expect(model.countParams()).toBe(7 * 5 + 5);
    model.dispose();
  });

  it('mlp: a relu hidden layer, then the classes', () => {
    const config: ModelConfig = { kind: 'mlp', denseWidth: 7, buckets: 256, classes: 2, hidden: 16, seed: 1 };
    const model = buildModel(config);
    expect(model.inputs.map((input) => input.shape)).toEqual([
      [null, 7],
      [null, 16],
    ]);
    expect(model.outputs[0]!.shape).toEqual([null, 2]);
    expect(model.countParams()).toBe(7 * 16 + 16 + 16 * 2 + 2);
    model.dispose();
  });

  it('is pure: the same config gives the same initial weights, another seed others', () => {
    const config: ModelConfig = { kind: 'mlp', denseWidth: 5, buckets: 64, classes: 3, hidden: 4, seed: 9 };
    const weights = (c: ModelConfig) => {
      const model = buildModel(c);
      const values = model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return values;
    };
    expect(weights(config)).toEqual(weights(config));
    expect(weights({ ...config, seed: 10 })).not.toEqual(weights(config));
  });

  it('rejects a bucket count that is not a power of two and fewer than two classes', () => {
    expect(() => buildModel({ kind: 'logistic', denseWidth: 3, buckets: 100, classes: 2, hidden: 0, seed: 1 })).toThrow(/power of two/);
    expect(() => buildModel({ kind: 'logistic', denseWidth: 3, buckets: 64, classes: 1, hidden: 0, seed: 1 })).toThrow(/2 classes/);
  });
});

describe('training', () => {
  it('is reproducible: the same seed gives bit-identical weights; another seed different ones', async () => {
    const data = syntheticSet(300, 6, 512, 3);
    const config: ModelConfig = { kind: 'logistic', denseWidth: 6, buckets: 512, classes: 3, hidden: 0, seed: 1 };
    const first = await fitModel(config, data, fitOptions);
    const second = await fitModel(config, data, fitOptions);
    const other = await fitModel(config, data, { ...fitOptions, seed: 4 });
    expect(Array.from(second.weights.denseKernel)).toEqual(Array.from(first.weights.denseKernel));
    expect(Array.from(second.weights.denseBias)).toEqual(Array.from(first.weights.denseBias));
    expect(Array.from(second.weights.sparseKernel)).toEqual(Array.from(first.weights.sparseKernel));
    expect(Array.from(other.weights.denseKernel)).not.toEqual(Array.from(first.weights.denseKernel));
    expect(first.losses.at(-1)!).toBeLessThan(first.losses[0]!);
    for (const fit of [first, second, other]) fit.model.dispose();
  });

  it('keeps the best epoch on validation rows and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const data = syntheticSet(200, 4, 128, 2);
    const validation = syntheticSet(80, 4, 128, 2, 11);
    const fit = await fitModel({ kind: 'mlp', denseWidth: 4, buckets: 128, classes: 2, hidden: 8, seed: 2 }, data, { ...fitOptions, epochs: 6, validation, patience: 2 });
    expect(fit.validationLosses.length).toBeGreaterThan(0);
    expect(fit.bestEpoch).toBe(fit.validationLosses.indexOf(Math.min(...fit.validationLosses)) + 1);
    fit.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('compiled scorer', () => {
  for (const kind of ['logistic', 'mlp'] as const) {
    it(`${kind}: agrees with the tfjs model's predictions within 1e-5`, async () => {
      const config: ModelConfig = { kind, denseWidth: 9, buckets: 1024, classes: 5, hidden: 12, seed: 5 };
      const data = syntheticSet(400, 9, 1024, 5, 21);
      const fit = await fitModel(config, data, { ...fitOptions, epochs: 2 });
      const rows = Int32Array.from({ length: data.n }, (_, i) => i);
      const fromTf = predictWithModel(fit.model, config, fit.weights.sparseKernel, data, rows);
      const scorer = compileScorer(config, toCompiledWeights(fit.weights, config));
      const probs = new Float64Array(5);
      let worst = 0;
      for (let r = 0; r < data.n; r++) {
        const from = data.offsets[r]!;
        scorer.probs(data.dense.subarray(r * 9, (r + 1) * 9), data.idx.subarray(from), data.val.subarray(from), data.offsets[r + 1]! - from, probs);
        for (let k = 0; k < 5; k++) worst = Math.max(worst, Math.abs(probs[k]! - fromTf[r]![k]!));
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
      fit.model.dispose();
    });
  }

  it('agrees with tfjs on weights written into a fresh model (the artifact path)', () => {
    const config: ModelConfig = { kind: 'mlp', denseWidth: 4, buckets: 64, classes: 3, hidden: 5, seed: 1 };
    const random = lcg(99);
    const fill = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
    const sparseKernel = new Float32Array(64 * 5);
    sparseKernel.set(fill(10 * 5), 20 * 5); // rows 20–29 trained, the rest zero
    const weights = { denseKernel: fill(4 * 5), denseBias: fill(5), sparseKernel, outKernel: fill(5 * 3), outBias: fill(3) };
    const model = buildModel(config);
    writeWeights(model, config, weights);
    const data = syntheticSet(50, 4, 64, 3, 5);
    const fromTf = predictWithModel(model, config, sparseKernel, data, Int32Array.from({ length: 50 }, (_, i) => i));
    const compact = compactSparse(sparseKernel, 5);
    expect(compact.buckets.length).toBe(10);
    expect(Array.from(expandSparse(compact, 64, 5))).toEqual(Array.from(sparseKernel));
    const scorer = compileScorer(config, { denseKernel: weights.denseKernel, denseBias: weights.denseBias, sparse: compact, outKernel: weights.outKernel, outBias: weights.outBias });
    const probs = new Float64Array(3);
    for (let r = 0; r < 50; r++) {
      const from = data.offsets[r]!;
      scorer.probs(data.dense.subarray(r * 4, (r + 1) * 4), data.idx.subarray(from), data.val.subarray(from), data.offsets[r + 1]! - from, probs);
      for (let k = 0; k < 3; k++) expect(Math.abs(probs[k]! - fromTf[r]![k]!)).toBeLessThanOrEqual(1e-5);
    }
    model.dispose();
  });
});
