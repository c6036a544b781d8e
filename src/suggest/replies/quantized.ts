import { runToEnd, type Steps } from '../../platform/index.ts';

/**
 * Int8 rows with one scale per row, for the matrices the ranker reads at random on every request:
 * the context tower's embedding (one row per n-gram of each new message) and the canonical
 * replies' vectors (one row per candidate and per nearest context). As Float32 they are ~70 MB
 * for a 100k-reply index: more than the last-level cache, so in a busy server most of those rows
 * come from DRAM, and the ranker spent its time waiting on them. As int8 they are a quarter of
 * that. Per-row symmetric quantization keeps the error of an entry under 0.4 % of its row's
 * largest magnitude; the sums and dot products the ranker forms average it further (the
 * ranking's agreement with the float model is tested).
 */
export interface QuantizedRows {
  readonly dim: number;
  readonly codes: Int8Array;
  /** Per row: the value of code 1. */
  readonly scales: Float32Array;
}

export function createQuantizedRows(rows: number, dim: number): QuantizedRows {
  return { dim, codes: new Int8Array(rows * dim), scales: new Float32Array(rows) };
}

/** Stores `values[offset, offset + dim)` as row `row`. */
export function quantizeRowInto(target: QuantizedRows, row: number, values: Float32Array, offset = 0): void {
  const { dim, codes, scales } = target;
  let max = 0;
  for (let k = 0; k < dim; k++) {
    const magnitude = Math.abs(values[offset + k]!);
    if (magnitude > max) max = magnitude;
  }
  const scale = max / 127;
  scales[row] = scale;
  const base = row * dim;
  if (scale === 0) {
    codes.fill(0, base, base + dim);
    return;
  }
  for (let k = 0; k < dim; k++) codes[base + k] = Math.round(values[offset + k]! / scale);
}

export function quantizeRows(matrix: Float32Array, dim: number): QuantizedRows {
  return runToEnd(quantizeRowsSteps(matrix, dim));
}

/** quantizeRows as steps (time-slice.ts), a yield every 1,024 rows. */
export function* quantizeRowsSteps(matrix: Float32Array, dim: number): Steps<QuantizedRows> {
  const rows = matrix.length / dim;
  const quantized = createQuantizedRows(rows, dim);
  for (let row = 0; row < rows; row++) {
    if (row % 1024 === 0) yield;
    quantizeRowInto(quantized, row, matrix, row * dim);
  }
  return quantized;
}

/** into += weight · row. */
export function addQuantizedRow(rows: QuantizedRows, row: number, weight: number, into: Float32Array): void {
  const { dim, codes } = rows;
  const scaled = weight * rows.scales[row]!;
  if (scaled === 0) return;
  const base = row * dim;
  for (let k = 0; k < dim; k++) into[k] = into[k]! + scaled * codes[base + k]!;
}

/**
 * ⟨a, row⟩ and ⟨b, row⟩ in one pass over the row (into[0], into[1]): the ranker scores each
 * candidate against the context's vector and the neighbours' pooled vector, and the row's read
 * is the cost.
 */
export function dotQuantizedPair(a: Float32Array, b: Float32Array, rows: QuantizedRows, row: number, into: Float64Array): void {
  const { dim, codes } = rows;
  const base = row * dim;
  let sumA = 0;
  let sumB = 0;
  for (let k = 0; k < dim; k++) {
    const code = codes[base + k]!;
    sumA += a[k]! * code;
    sumB += b[k]! * code;
  }
  const scale = rows.scales[row]!;
  into[0] = sumA * scale;
  into[1] = sumB * scale;
}

/** ‖row‖₂. */
export function quantizedRowNorm(rows: QuantizedRows, row: number): number {
  const { dim, codes } = rows;
  const base = row * dim;
  let sum = 0;
  for (let k = 0; k < dim; k++) sum += codes[base + k]! * codes[base + k]!;
  return Math.sqrt(sum) * rows.scales[row]!;
}
