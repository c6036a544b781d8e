import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/platform/index.ts';
import { addQuantizedRow, dotQuantizedPair, quantizedRowNorm, quantizeRows } from '../../src/suggest/replies/quantized.ts';

describe('int8 rows', () => {
  const dim = 24;
  const random = seededRandom(7);
  const matrix = Float32Array.from({ length: 50 * dim }, () => (random() - 0.5) * (random() < 0.1 ? 4 : 0.2));
  matrix.fill(0, 3 * dim, 4 * dim); // an all-zero row
  const rows = quantizeRows(matrix, dim);

  it('keeps every entry within half a step of its row (step = largest magnitude / 127)', () => {
    for (let row = 0; row < 50; row++) {
      let largest = 0;
      for (let k = 0; k < dim; k++) largest = Math.max(largest, Math.abs(matrix[row * dim + k]!));
      for (let k = 0; k < dim; k++) {
        const restored = rows.codes[row * dim + k]! * rows.scales[row]!;
        expect(Math.abs(restored - matrix[row * dim + k]!)).toBeLessThanOrEqual(largest / 254 + 1e-7);
      }
    }
    expect(rows.scales[3]).toBe(0);
  });

  it('adds, dots and measures rows as the float matrix does, within that rounding', () => {
    const query = Float32Array.from({ length: dim }, () => random() - 0.5);
    for (let row = 0; row < 50; row++) {
      const float = matrix.subarray(row * dim, (row + 1) * dim);
      let dot = 0;
      let norm = 0;
      for (let k = 0; k < dim; k++) {
        dot += query[k]! * float[k]!;
        norm += float[k]! * float[k]!;
      }
      const step = rows.scales[row]!;
      const l1 = (vector: Float32Array) => vector.reduce((total, value) => total + Math.abs(value), 0);
      // Both dot products in one pass: ⟨query, row⟩ and ⟨float row, row⟩ (≈ ‖row‖²).
      const pair = new Float64Array(2);
      dotQuantizedPair(query, float, rows, row, pair);
      expect(Math.abs(pair[0]! - dot)).toBeLessThanOrEqual((step / 2) * l1(query) + 1e-6);
      expect(Math.abs(pair[1]! - norm)).toBeLessThanOrEqual((step / 2) * l1(float) + 1e-6);
      expect(Math.abs(quantizedRowNorm(rows, row) - Math.sqrt(norm))).toBeLessThanOrEqual((step / 2) * Math.sqrt(dim) + 1e-6);
      const sum = new Float32Array(dim).fill(1);
      addQuantizedRow(rows, row, 0.5, sum);
      for (let k = 0; k < dim; k++) expect(Math.abs(sum[k]! - (1 + 0.5 * float[k]!))).toBeLessThanOrEqual(step / 4 + 1e-6);
    }
  });
});
