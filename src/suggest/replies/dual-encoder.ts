import type { SparseVector } from './encoding.ts';

/**
 * The dual encoder's weights and its compiled forward pass (plain Float32Array loops: PERF-NOTES
 * measured tfjs `predict` at 25–55 µs per call against ~0.1 µs for a loop, so tfjs trains
 * (dual-encoder.train.ts) and this serves). Each tower:
 *
 *   a   = Σ_j value_j · embedding[id_j] + bias          (the n-gram embedding bag)
 *   h   = tanh(a)
 *   out = h · dense + denseBias                         (when the tower has a dense layer)
 *
 * and score(context, response) = scale · ⟨context_out, response_out⟩ (Henderson et al. 2017).
 */

export interface TowerWeights {
  /** rows × dim, row-major. */
  embedding: Float32Array;
  bias: Float32Array;
  /** dim × dim, row-major [in][out]; absent: the tower ends at tanh. */
  dense?: Float32Array;
  denseBias?: Float32Array;
}

export interface DualEncoderWeights {
  dim: number;
  scale: number;
  context: TowerWeights;
  response: TowerWeights;
}

/** One tower's forward pass into `out` (length dim); `scratch` (length dim) is overwritten. */
export function encodeTower(tower: TowerWeights, dim: number, input: SparseVector, out: Float32Array, scratch: Float32Array = new Float32Array(dim)): Float32Array {
  const { embedding, bias, dense } = tower;
  const a = dense ? scratch : out;
  for (let k = 0; k < dim; k++) a[k] = bias[k]!;
  const { ids, values } = input;
  for (let j = 0; j < ids.length; j++) addRow(embedding, ids[j]!, values[j]!, dim, a);
  return finishTower(tower, dim, a, out);
}

/** a += value · embedding[row]. */
export function addRow(embedding: Float32Array, row: number, value: number, dim: number, a: Float32Array): void {
  const base = row * dim;
  for (let k = 0; k < dim; k++) a[k] = a[k]! + value * embedding[base + k]!;
}

/**
 * The rest of a tower from its pre-activation `a` (the embedding bag plus bias): tanh, then the
 * dense layer into `out` when the tower has one (else `a` is `out`). Overwrites `a`.
 */
export function finishTower(tower: TowerWeights, dim: number, a: Float32Array, out: Float32Array): Float32Array {
  const { dense, denseBias } = tower;
  for (let k = 0; k < dim; k++) a[k] = Math.tanh(a[k]!);
  if (dense && denseBias) {
    const spans = rowSpans(dense, dim);
    for (let k = 0; k < dim; k++) out[k] = denseBias[k]!;
    for (let i = 0; i < dim; i++) {
      const h = a[i]!;
      if (h === 0) continue;
      const row = i * dim;
      const end = spans[2 * i + 1]!;
      for (let k = spans[2 * i]!; k < end; k++) out[k] = out[k]! + h * dense[row + k]!;
    }
  }
  return out;
}

/**
 * Per row of a dense layer, the columns [start, end) outside which it is zero. An ensemble served
 * as one wide encoder (concatenateDualEncoders) has a block-diagonal dense layer: with three
 * members, two thirds of it is zeros, and skipping them makes the layer 3× cheaper. Computed once
 * per weight array.
 */
const spansOf = new WeakMap<Float32Array, Int32Array>();
function rowSpans(dense: Float32Array, dim: number): Int32Array {
  let spans = spansOf.get(dense);
  if (!spans) {
    spans = new Int32Array(2 * dim);
    for (let i = 0; i < dim; i++) {
      let start = 0;
      let end = dim;
      while (start < end && dense[i * dim + start] === 0) start++;
      while (end > start && dense[i * dim + end - 1] === 0) end--;
      spans[2 * i] = start;
      spans[2 * i + 1] = end;
    }
    spansOf.set(dense, spans);
  }
  return spans;
}

export function dot(a: Float32Array, b: Float32Array, offsetB = 0, length = a.length, offsetA = 0): number {
  let sum = 0;
  for (let k = 0; k < length; k++) sum += a[offsetA + k]! * b[offsetB + k]!;
  return sum;
}

export interface CompiledDualEncoder {
  readonly dim: number;
  encodeContext(input: SparseVector, out?: Float32Array): Float32Array;
  encodeResponse(input: SparseVector, out?: Float32Array): Float32Array;
  /** scale · ⟨context, response⟩; `response` may be a row of a packed matrix (`offset`). */
  score(context: Float32Array, response: Float32Array, offset?: number): number;
}

export function compileDualEncoder(weights: DualEncoderWeights): CompiledDualEncoder {
  const { dim, scale } = weights;
  const scratch = new Float32Array(dim);
  return {
    dim,
    encodeContext: (input, out = new Float32Array(dim)) => encodeTower(weights.context, dim, input, out, scratch),
    encodeResponse: (input, out = new Float32Array(dim)) => encodeTower(weights.response, dim, input, out, scratch),
    score: (context, response, offset = 0) => scale * dot(context, response, offset, dim),
  };
}

function concatenateTowers(towers: readonly TowerWeights[], dims: readonly number[]): TowerWeights {
  const total = dims.reduce((sum, dim) => sum + dim, 0);
  const rows = towers[0]!.embedding.length / dims[0]!;
  const embedding = new Float32Array(rows * total);
  const bias = new Float32Array(total);
  const withDense = towers.every((tower) => tower.dense && tower.denseBias);
  const dense = withDense ? new Float32Array(total * total) : undefined;
  const denseBias = withDense ? new Float32Array(total) : undefined;
  let offset = 0;
  towers.forEach((tower, member) => {
    const dim = dims[member]!;
    if (tower.embedding.length / dim !== rows) throw new Error('concatenated towers need the same vocabulary');
    for (let row = 0; row < rows; row++) embedding.set(tower.embedding.subarray(row * dim, (row + 1) * dim), row * total + offset);
    bias.set(tower.bias, offset);
    if (dense && denseBias) {
      // Block-diagonal: each member's dense layer sees only its own hidden units.
      for (let i = 0; i < dim; i++) dense.set(tower.dense!.subarray(i * dim, (i + 1) * dim), (offset + i) * total + offset);
      denseBias.set(tower.denseBias!, offset);
    }
    offset += dim;
  });
  return { embedding, bias, ...(dense && denseBias ? { dense, denseBias } : {}) };
}

/**
 * An ensemble of dual encoders as one wider dual encoder: the towers are concatenated (embedding
 * columns side by side, dense layers block-diagonal), so ⟨c, r⟩ of the result is the sum of the
 * members' dot products. Members must share vocabularies and scale.
 */
export function concatenateDualEncoders(members: readonly DualEncoderWeights[]): DualEncoderWeights {
  if (members.length === 1) return members[0]!;
  const dims = members.map((member) => member.dim);
  const tiedAll = members.every((member) => member.context.embedding === member.response.embedding);
  const context = concatenateTowers(
    members.map((member) => member.context),
    dims,
  );
  const response = concatenateTowers(
    members.map((member) => member.response),
    dims,
  );
  if (tiedAll) response.embedding = context.embedding;
  return { dim: dims.reduce((sum, dim) => sum + dim, 0), scale: members[0]!.scale, context, response };
}
