/**
 * The outcome models' shape, shared by training (training/model.ts builds it in TensorFlow.js) and
 * serving (scorer.ts runs it as plain loops): no tfjs here, so serving never loads it.
 */

export type ModelKind = 'logistic' | 'mlp';

export interface ModelConfig {
  kind: ModelKind;
  denseWidth: number;
  /** Model buckets of the sparse inputs (a power of two): the rows of the n-gram table. */
  buckets: number;
  classes: number;
  /** Hidden units (mlp). */
  hidden: number;
  seed: number;
}

/** Width of the input layer: classes (logistic) or hidden units (mlp); the n-gram table's columns. */
export const inputWidth = (config: ModelConfig) => (config.kind === 'logistic' ? config.classes : config.hidden);

/** Σ_i val[i] · table[idx[i], :] for one row's sparse entries, into `out` (length width). */
export function ngramProduct(table: Float32Array, width: number, idx: Int32Array, val: Float32Array, from: number, to: number, out: Float32Array, at = 0): void {
  for (let u = 0; u < width; u++) out[at + u] = 0;
  for (let i = from; i < to; i++) {
    const base = idx[i]! * width;
    const v = val[i]!;
    for (let u = 0; u < width; u++) out[at + u]! += v * table[base + u]!;
  }
}

/** The model's weights by role, as plain arrays (what the compiled scorer and the artifact hold). */
export interface ModelWeights {
  /** [denseWidth × width], row-major. */
  denseKernel: Float32Array;
  denseBias: Float32Array;
  /** [buckets × width], row-major. */
  sparseKernel: Float32Array;
  /** mlp: [hidden × classes] and [classes]. */
  outKernel?: Float32Array;
  outBias?: Float32Array;
}
