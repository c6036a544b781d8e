import { runToEnd, type Steps } from '../../platform/index.ts';

/**
 * A hand-written BM25 inverted index (PERF-NOTES: libraries were 10–10,000× slower on 100k short
 * documents). Built once from term lists, then read-only:
 *
 *   vocabulary   Map term → id
 *   postings     CSR layout: `offsets[t]..offsets[t+1]` index `docs` (Uint32) and `impacts`
 *                (Float32: the BM25 term-frequency part, tf·(k1+1)/(tf + k1·(1−b+b·dl/avgdl)),
 *                precomputed so a query is one multiply-add per posting)
 *   idf          Float32 per term: ln(1 + (N − df + 0.5)/(df + 0.5)) (never negative)
 *
 * A query adds idf·impact into a reused Float32 accumulator, remembers which documents it touched,
 * and keeps the top k in a small binary heap; then only the touched entries are cleared. ~8 bytes
 * per posting plus 4 per document and the vocabulary.
 *
 * `group` (optional, one small integer per document, e.g. a brand) restricts a query to one group
 * without a second index.
 */

export interface Bm25Options {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation (default 0.75). */
  b?: number;
}

export interface Bm25Hit {
  doc: number;
  score: number;
}

export interface Bm25SearchOptions {
  /** Only documents of this group. */
  group?: number;
}

/**
 * Bounds on the work of one query: the distinct terms are taken rarest first (highest idf), at
 * most `maxTerms` of them, and a term whose postings would take the total past `maxPostings` is
 * skipped (unless it is the first). Common words carry little BM25 weight but long postings; on a
 * 100k-document index they are most of a query's cost. Scores are exact for the terms used.
 */
export interface Bm25QueryBudget {
  maxTerms: number;
  maxPostings: number;
}

export const defaultQueryBudget: Bm25QueryBudget = { maxTerms: 10, maxPostings: 10_000 };

export interface Bm25Index {
  readonly size: number;
  readonly terms: number;
  readonly averageLength: number;
  /** Inverse document frequency of a term (0 for unknown terms). */
  idf(term: string): number;
  /** The top `k` documents for the query terms (repeated terms count repeatedly), best first; ties by document number. */
  search(query: readonly string[], k: number, options?: Bm25SearchOptions & { budget?: Bm25QueryBudget }): Bm25Hit[];
  /**
   * Adds the BM25 score of every matching document into `into` (indexed by document) and returns
   * how many documents it touched; the caller owns and clears `into`.
   */
  accumulate(query: readonly string[], into: Float32Array, touched: Int32Array, budget?: Bm25QueryBudget): number;
  /** BM25 of a document that need not be in the index, with the index's statistics (idf, average length). */
  scoreText(query: readonly string[], document: readonly string[]): number;
  /** Query term → idf × its count in the query (known terms only): prepare once, score many documents. */
  queryWeights(query: readonly string[]): Map<string, number>;
  /** BM25 of a document given as its terms sorted (equal terms adjacent), for prepared query weights. */
  scoreSorted(weights: ReadonlyMap<string, number>, sortedDocument: readonly string[]): number;
  /** The id of a term, −1 when the index does not know it. */
  termId(term: string): number;
  idfOf(id: number): number;
  /** Term id → idf × count in the query. */
  queryWeightsById(query: readonly string[]): Map<number, number>;
  /**
   * BM25 of a document given as the sorted ids of its known terms and its length in terms (unknown
   * terms included), with the query weights in a dense array indexed by term id (0: not in the
   * query): the hot path of the ranker, a typed-array read per term.
   */
  scoreIdsDense(weights: Float32Array, sortedIds: Int32Array, length: number): number;
  /** Approximate bytes held by the typed arrays (the vocabulary Map not counted). */
  readonly bytes: number;
}

export function buildBm25(documents: ReadonlyArray<readonly string[]>, options: Bm25Options & { groups?: Int32Array } = {}): Bm25Index {
  return runToEnd(buildBm25Steps(documents, options));
}

/** Documents between two yields of a build (~0.1 ms of work each). */
const DOCS_PER_STEP = 256;

/** buildBm25 as steps (time-slice.ts), for a process that serves requests while it builds. */
export function* buildBm25Steps(documents: ReadonlyArray<readonly string[]>, options: Bm25Options & { groups?: Int32Array } = {}): Steps<Bm25Index> {
  const k1 = options.k1 ?? 1.2;
  const b = options.b ?? 0.75;
  const n = documents.length;
  const vocabulary = new Map<string, number>();
  const lengths = new Float32Array(n);
  // Pass 1: vocabulary and document frequencies (per-document distinct terms).
  const df: number[] = [];
  let totalLength = 0;
  let postingsCount = 0;
  const seen = new Map<number, number>();
  for (let doc = 0; doc < n; doc++) {
    if (doc % DOCS_PER_STEP === 0) yield;
    const terms = documents[doc]!;
    lengths[doc] = terms.length;
    totalLength += terms.length;
    seen.clear();
    for (const term of terms) {
      let id = vocabulary.get(term);
      if (id === undefined) {
        id = vocabulary.size;
        vocabulary.set(term, id);
        df.push(0);
      }
      if (!seen.has(id)) {
        seen.set(id, 1);
        df[id]!++;
        postingsCount++;
      }
    }
  }
  const termCount = vocabulary.size;
  const averageLength = n > 0 ? totalLength / n : 0;
  const offsets = new Uint32Array(termCount + 1);
  for (let t = 0; t < termCount; t++) offsets[t + 1] = offsets[t]! + df[t]!;
  const docs = new Uint32Array(postingsCount);
  const impacts = new Float32Array(postingsCount);
  const fill = offsets.slice(0, termCount);
  // Pass 2: postings in document order (so each term's list is sorted by document).
  const tf = new Map<number, number>();
  for (let doc = 0; doc < n; doc++) {
    if (doc % DOCS_PER_STEP === 0) yield;
    tf.clear();
    for (const term of documents[doc]!) {
      const id = vocabulary.get(term)!;
      tf.set(id, (tf.get(id) ?? 0) + 1);
    }
    const norm = k1 * (1 - b + (b * lengths[doc]!) / (averageLength || 1));
    for (const [id, count] of tf) {
      const at = fill[id]!++;
      docs[at] = doc;
      impacts[at] = (count * (k1 + 1)) / (count + norm);
    }
  }
  const idfs = new Float32Array(termCount);
  for (let t = 0; t < termCount; t++) idfs[t] = Math.log(1 + (n - df[t]! + 0.5) / (df[t]! + 0.5));
  const groups = options.groups;
  if (groups && groups.length !== n) throw new Error(`buildBm25: ${groups.length} groups for ${n} documents`);

  const scratch = new Float32Array(n);
  const touched = new Int32Array(n);
  const queryIds: number[] = [];

  const queryTf = new Map<number, number>();
  const accumulate = (query: readonly string[], into: Float32Array, touchedOut: Int32Array, budget: Bm25QueryBudget = defaultQueryBudget): number => {
    let count = 0;
    queryTf.clear();
    for (const term of query) {
      const id = vocabulary.get(term);
      if (id !== undefined) queryTf.set(id, (queryTf.get(id) ?? 0) + 1);
    }
    queryIds.length = 0;
    for (const id of queryTf.keys()) queryIds.push(id);
    // Rarest first; ties by term id (deterministic).
    queryIds.sort((a, b) => idfs[b]! - idfs[a]! || a - b);
    let terms = 0;
    let postings = 0;
    for (const id of queryIds) {
      if (terms >= budget.maxTerms) break;
      const start = offsets[id]!;
      const end = offsets[id + 1]!;
      if (terms > 0 && postings + (end - start) > budget.maxPostings) continue;
      terms++;
      postings += end - start;
      const weight = idfs[id]! * queryTf.get(id)!;
      for (let p = start; p < end; p++) {
        const doc = docs[p]!;
        if (into[doc] === 0) touchedOut[count++] = doc;
        into[doc] = into[doc]! + weight * impacts[p]!;
      }
    }
    return count;
  };

  const queryWeights = (query: readonly string[]): Map<string, number> => {
    const weights = new Map<string, number>();
    for (const term of query) {
      const id = vocabulary.get(term);
      if (id !== undefined) weights.set(term, (weights.get(term) ?? 0) + idfs[id]!);
    }
    return weights;
  };
  const queryWeightsById = (query: readonly string[]): Map<number, number> => {
    const weights = new Map<number, number>();
    for (const term of query) {
      const id = vocabulary.get(term);
      if (id !== undefined) weights.set(id, (weights.get(id) ?? 0) + idfs[id]!);
    }
    return weights;
  };
  const scoreIdsDense = (weights: Float32Array, ids: Int32Array, length: number): number => {
    if (ids.length === 0) return 0;
    const norm = k1 * (1 - b + (b * length) / (averageLength || 1));
    let score = 0;
    for (let i = 0; i < ids.length; ) {
      const id = ids[i]!;
      let j = i + 1;
      while (j < ids.length && ids[j] === id) j++;
      const weight = weights[id]!;
      if (weight !== 0) {
        const tf = j - i;
        score += weight * ((tf * (k1 + 1)) / (tf + norm));
      }
      i = j;
    }
    return score;
  };
  const scoreSorted = (weights: ReadonlyMap<string, number>, document: readonly string[]): number => {
    if (weights.size === 0 || document.length === 0) return 0;
    const norm = k1 * (1 - b + (b * document.length) / (averageLength || 1));
    let score = 0;
    for (let i = 0; i < document.length; ) {
      const term = document[i]!;
      let j = i + 1;
      while (j < document.length && document[j] === term) j++;
      const weight = weights.get(term);
      if (weight !== undefined) {
        const tf = j - i;
        score += weight * ((tf * (k1 + 1)) / (tf + norm));
      }
      i = j;
    }
    return score;
  };

  return {
    size: n,
    terms: termCount,
    averageLength,
    bytes: offsets.byteLength + docs.byteLength + impacts.byteLength + idfs.byteLength + lengths.byteLength + scratch.byteLength + touched.byteLength,
    idf(term) {
      const id = vocabulary.get(term);
      return id === undefined ? 0 : idfs[id]!;
    },
    accumulate,
    queryWeights,
    scoreSorted,
    queryWeightsById,
    scoreIdsDense,
    termId: (term) => vocabulary.get(term) ?? -1,
    idfOf: (id) => idfs[id] ?? 0,
    search(query, k, searchOptions = {}) {
      if (k <= 0 || n === 0) return [];
      const count = accumulate(query, scratch, touched, searchOptions.budget);
      const group = searchOptions.group;
      // Min-heap of the best k (by score, then lower document first).
      const heapDocs = new Int32Array(k);
      const heapScores = new Float32Array(k);
      let size = 0;
      const worse = (i: number, j: number) => heapScores[i]! < heapScores[j]! || (heapScores[i] === heapScores[j] && heapDocs[i]! > heapDocs[j]!);
      const swap = (i: number, j: number) => {
        const d = heapDocs[i]!;
        heapDocs[i] = heapDocs[j]!;
        heapDocs[j] = d;
        const s = heapScores[i]!;
        heapScores[i] = heapScores[j]!;
        heapScores[j] = s;
      };
      const siftDown = (start: number) => {
        let i = start;
        for (;;) {
          const left = 2 * i + 1;
          const right = left + 1;
          let smallest = i;
          if (left < size && worse(left, smallest)) smallest = left;
          if (right < size && worse(right, smallest)) smallest = right;
          if (smallest === i) return;
          swap(i, smallest);
          i = smallest;
        }
      };
      for (let i = 0; i < count; i++) {
        const doc = touched[i]!;
        const score = scratch[doc]!;
        scratch[doc] = 0;
        if (group !== undefined && groups && groups[doc] !== group) continue;
        if (size < k) {
          heapDocs[size] = doc;
          heapScores[size] = score;
          size++;
          // Sift up.
          let j = size - 1;
          while (j > 0) {
            const parent = (j - 1) >> 1;
            if (!worse(j, parent)) break;
            swap(j, parent);
            j = parent;
          }
        } else if (score > heapScores[0]! || (score === heapScores[0] && doc < heapDocs[0]!)) {
          heapDocs[0] = doc;
          heapScores[0] = score;
          siftDown(0);
        }
      }
      const hits: Bm25Hit[] = [];
      for (let i = 0; i < size; i++) hits.push({ doc: heapDocs[i]!, score: heapScores[i]! });
      return hits.sort((x, y) => y.score - x.score || x.doc - y.doc);
    },
    scoreText(query, document) {
      return scoreSorted(queryWeights(query), [...document].sort());
    },
  };
}
