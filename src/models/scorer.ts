import type { ModelConfig, ModelWeights } from './model.types.ts';

/**
 * The trained weights compiled into plain loops over typed arrays: what serving runs. No tensors
 * (PERF-NOTES: a tfjs `predict` costs 25–55 µs and a worse tail; the same logistic model as a loop
 * ~0.1 µs). Buffers are allocated once per scorer; a call allocates nothing. Not re-entrant across
 * an await (there is none): the result buffers are the scorer's own until the next call.
 *
 * The sparse kernel is stored compactly: only the rows training moved (every other row is zero,
 * since sparse weights start at zero), found through `rowOf` (bucket → packed row, −1 = zero).
 */
export interface CompiledScorer {
  readonly config: ModelConfig;
  /** Width of the input layer's output: classes (logistic) or hidden units (mlp). */
  readonly width: number;
  /** Class probabilities for one encoded row, written into `out` (length = classes). */
  probs(dense: Float32Array, idx: Int32Array, val: Float32Array, nnz: number, out: Float64Array): Float64Array;
  /**
   * After `probs`: d(Σ_{k∈classes} p_k)/d(input-layer pre-activation), written into `out`
   * (length = width). The contribution of an input x_j is then x_j · (W_j · out): gradient × input.
   */
  riskDirection(riskClasses: readonly number[], out: Float64Array): Float64Array;
  /** W_j · direction for dense column j. */
  denseDot(column: number, direction: Float64Array): number;
  /** W_b · direction for sparse bucket b (0 for a bucket training never touched). */
  sparseDot(bucket: number, direction: Float64Array): number;
}

export interface CompactSparse {
  /** Buckets with a non-zero row, ascending. */
  buckets: Int32Array;
  /** Their rows, packed: buckets.length × width. */
  rows: Float32Array;
}

/** Keeps the non-zero rows of a [buckets × width] kernel. */
export function compactSparse(kernel: Float32Array, width: number): CompactSparse {
  const keep: number[] = [];
  const count = kernel.length / width;
  for (let b = 0; b < count; b++) {
    for (let k = 0; k < width; k++) {
      if (kernel[b * width + k] !== 0) {
        keep.push(b);
        break;
      }
    }
  }
  const rows = new Float32Array(keep.length * width);
  keep.forEach((b, i) => rows.set(kernel.subarray(b * width, (b + 1) * width), i * width));
  return { buckets: Int32Array.from(keep), rows };
}

/** The full [buckets × width] kernel back from its compact form. */
export function expandSparse(sparse: CompactSparse, buckets: number, width: number): Float32Array {
  const kernel = new Float32Array(buckets * width);
  sparse.buckets.forEach((b, i) => kernel.set(sparse.rows.subarray(i * width, (i + 1) * width), b * width));
  return kernel;
}

export interface CompiledWeights {
  denseKernel: Float32Array;
  denseBias: Float32Array;
  sparse: CompactSparse;
  outKernel?: Float32Array;
  outBias?: Float32Array;
}

export function toCompiledWeights(weights: ModelWeights, config: ModelConfig): CompiledWeights {
  const width = config.kind === 'logistic' ? config.classes : config.hidden;
  return {
    denseKernel: weights.denseKernel,
    denseBias: weights.denseBias,
    sparse: compactSparse(weights.sparseKernel, width),
    ...(weights.outKernel ? { outKernel: weights.outKernel, outBias: weights.outBias! } : {}),
  };
}

export function compileScorer(config: ModelConfig, weights: CompiledWeights): CompiledScorer {
  const classes = config.classes;
  const mlp = config.kind === 'mlp';
  const width = mlp ? config.hidden : classes;
  const denseWidth = config.denseWidth;
  const { denseKernel, denseBias } = weights;
  const rowOf = new Int32Array(config.buckets).fill(-1);
  weights.sparse.buckets.forEach((bucket, i) => (rowOf[bucket] = i * width));
  const sparseRows = weights.sparse.rows;
  const outKernel = weights.outKernel ?? new Float32Array(0);
  const outBias = weights.outBias ?? new Float32Array(0);
  if (denseKernel.length !== denseWidth * width) throw new Error(`dense kernel has ${denseKernel.length} weights, expected ${denseWidth * width}`);
  if (mlp && outKernel.length !== width * classes) throw new Error(`output kernel has ${outKernel.length} weights, expected ${width * classes}`);

  const pre = new Float64Array(width);
  const hidden = new Float64Array(width);
  const probs = new Float64Array(classes);
  const gradOut = new Float64Array(classes);

  return {
    config,
    width,
    probs(dense, idx, val, nnz, out) {
      for (let u = 0; u < width; u++) pre[u] = denseBias[u]!;
      for (let j = 0; j < denseWidth; j++) {
        const x = dense[j]!;
        if (x === 0) continue;
        const base = j * width;
        for (let u = 0; u < width; u++) pre[u]! += x * denseKernel[base + u]!;
      }
      for (let i = 0; i < nnz; i++) {
        const base = rowOf[idx[i]!]!;
        if (base < 0) continue;
        const v = val[i]!;
        for (let u = 0; u < width; u++) pre[u]! += v * sparseRows[base + u]!;
      }
      let logits: Float64Array = pre;
      if (mlp) {
        for (let u = 0; u < width; u++) hidden[u] = pre[u]! > 0 ? pre[u]! : 0;
        for (let k = 0; k < classes; k++) probs[k] = outBias[k]!;
        for (let u = 0; u < width; u++) {
          const h = hidden[u]!;
          if (h === 0) continue;
          const base = u * classes;
          for (let k = 0; k < classes; k++) probs[k]! += h * outKernel[base + k]!;
        }
        logits = probs;
      }
      let max = -Infinity;
      for (let k = 0; k < classes; k++) if (logits[k]! > max) max = logits[k]!;
      let sum = 0;
      for (let k = 0; k < classes; k++) {
        const e = Math.exp(logits[k]! - max);
        out[k] = e;
        sum += e;
      }
      for (let k = 0; k < classes; k++) out[k]! /= sum;
      if (out !== probs) probs.set(out.subarray(0, classes));
      return out;
    },
    riskDirection(riskClasses, out) {
      let risk = 0;
      for (const k of riskClasses) risk += probs[k]!;
      // d risk / d logit_m = p_m ([m ∈ risk classes] − risk)
      for (let m = 0; m < classes; m++) gradOut[m] = probs[m]! * ((riskClasses.includes(m) ? 1 : 0) - risk);
      if (!mlp) {
        out.set(gradOut);
        return out;
      }
      for (let u = 0; u < width; u++) {
        if (pre[u]! <= 0) {
          out[u] = 0;
          continue;
        }
        let g = 0;
        const base = u * classes;
        for (let m = 0; m < classes; m++) g += outKernel[base + m]! * gradOut[m]!;
        out[u] = g;
      }
      return out;
    },
    denseDot(column, direction) {
      let s = 0;
      const base = column * width;
      for (let u = 0; u < width; u++) s += denseKernel[base + u]! * direction[u]!;
      return s;
    },
    sparseDot(bucket, direction) {
      const base = rowOf[bucket]!;
      if (base < 0) return 0;
      let s = 0;
      for (let u = 0; u < width; u++) s += sparseRows[base + u]! * direction[u]!;
      return s;
    },
  };
}
