import { AppError, runToEnd, type Steps } from '../../platform/index.ts';
import type { DualEncoderWeights, TowerWeights } from './dual-encoder.ts';
import { ENCODING_VERSION } from './encoding.ts';
import type { Combiner, RankerConfig, ReplyModelParts } from './ranker.ts';
import { FEATURES } from './ranker.ts';
import { outcomeStatsOf, type CanonicalReply, type ReplyIndexData, type ReplyOccurrence } from './reply-index.ts';

/**
 * The reply model as one artifact (what the model registry stores under target `reply`):
 *
 *   "LWRP"  u32 format version  u32 header bytes  header (UTF-8 JSON)  zero padding to 4 bytes
 *   blobs   little-endian typed arrays at the offsets the header lists (4-byte aligned), and, since
 *           format 2, the reply index's canonical replies and occurrences as JSON lines (one
 *           item a line): 100k replies are ~28 MB of JSON, which one JSON.parse read in one
 *           synchronous step (~0.2 s); by lines a reader can pause between pieces. Format 1
 *           (the index inside the header) is still read.
 *
 * The header carries the encoding version (hashed n-gram scheme), the feature list of the
 * combiners, the ranker configuration, the combiners (a few numbers) and the reply index (canonical
 * replies with their statistics, and each past reply's context terms: the serving process
 * rebuilds its BM25 indexes from them, < 1 s for 100k replies, and needs no DuckDB). The blobs are
 * the vocabularies and the dual encoder's weights. Loading refuses another format, encoding or
 * feature list, instead of scoring with misread weights.
 */

const MAGIC = 0x5057524c; // "LWRP" little-endian
export const ARTIFACT_FORMAT = 2;
/** Formats this code reads. */
const READABLE_FORMATS = new Set([1, 2]);
export const REPLY_MODEL_KIND = 'reply-dual-encoder';

interface BlobEntry {
  name: string;
  /** `jsonl`: UTF-8 JSON lines, `length` in bytes; typed arrays: `length` in elements. */
  type: 'f32' | 'i32' | 'jsonl';
  offset: number;
  length: number;
}

interface Header {
  kind: string;
  encoding: string;
  features: readonly string[];
  config: RankerConfig;
  dualEncoder: { dim: number; scale: number; tied: boolean; dense: boolean };
  rank: { mean: number[]; std: number[]; weights: number[] };
  suggest: { mean: number[]; std: number[]; weights: number[] };
  /** Format 2: without its clusters and occurrences (the `index.*` JSON-lines blobs). */
  index: ReplyIndexData;
  blobs: BlobEntry[];
}

const combinerJson = (combiner: Combiner) => ({ mean: [...combiner.mean], std: [...combiner.std], weights: [...combiner.weights] });
const combinerOf = (json: Header['rank']): Combiner => ({ mean: Float32Array.from(json.mean), std: Float32Array.from(json.std), weights: Float32Array.from(json.weights) });

export function encodeReplyModel(parts: ReplyModelParts): Uint8Array {
  const { dualEncoder } = parts;
  const tied = dualEncoder.context.embedding === dualEncoder.response.embedding;
  const dense = Boolean(dualEncoder.context.dense && dualEncoder.response.dense);
  const jsonLines = (items: readonly unknown[]) => new TextEncoder().encode(items.map((item) => JSON.stringify(item)).join('\n'));
  const arrays: Array<{ name: string; data: Float32Array | Int32Array | Uint8Array }> = [
    { name: 'contextVocabulary', data: parts.contextVocabulary },
    { name: 'responseVocabulary', data: parts.responseVocabulary },
    { name: 'index.clusters', data: jsonLines(parts.index.clusters) },
    { name: 'index.occurrences', data: jsonLines(parts.index.occurrences) },
  ];
  const tower = (name: string, weights: TowerWeights, withEmbedding: boolean) => {
    if (withEmbedding) arrays.push({ name: `${name}.embedding`, data: weights.embedding });
    arrays.push({ name: `${name}.bias`, data: weights.bias });
    if (dense) arrays.push({ name: `${name}.dense`, data: weights.dense! }, { name: `${name}.denseBias`, data: weights.denseBias! });
  };
  tower('context', dualEncoder.context, true);
  tower('response', dualEncoder.response, !tied);

  const blobs: BlobEntry[] = [];
  let offset = 0;
  for (const { name, data } of arrays) {
    blobs.push({ name, type: data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'jsonl', offset, length: data.length });
    offset = align4(offset + data.byteLength);
  }
  const header: Header = {
    kind: REPLY_MODEL_KIND,
    encoding: ENCODING_VERSION,
    features: FEATURES,
    config: parts.config,
    dualEncoder: { dim: dualEncoder.dim, scale: dualEncoder.scale, tied, dense },
    rank: combinerJson(parts.rank),
    suggest: combinerJson(parts.suggest),
    index: { ...parts.index, clusters: [], occurrences: [] },
    blobs,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const start = align4(12 + headerBytes.length);
  const bytes = new Uint8Array(start + offset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, ARTIFACT_FORMAT, true);
  view.setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, 12);
  for (const [i, { data }] of arrays.entries()) {
    const entry = blobs[i]!;
    // Typed arrays are little-endian on every platform Node runs on; copy the raw bytes.
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start + entry.offset);
  }
  return bytes;
}

const align4 = (n: number) => (n + 3) & ~3;

export function decodeReplyModel(bytes: Uint8Array): ReplyModelParts {
  return runToEnd(decodeReplyModelSteps(bytes));
}

/** JSON lines parsed between two yields of a decode. */
const LINES_PER_STEP = 1000;

/** decodeReplyModel as steps (time-slice.ts): the api decodes a newly promoted model while it serves. */
export function* decodeReplyModelSteps(bytes: Uint8Array): Steps<ReplyModelParts> {
  const invalid = (detail: string) => new AppError('validation_failed', `not a usable reply model artifact: ${detail}`);
  if (bytes.length < 12) throw invalid('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw invalid('wrong magic number');
  const format = view.getUint32(4, true);
  if (!READABLE_FORMATS.has(format)) throw invalid(`format ${format}, this version reads ${[...READABLE_FORMATS].join(' and ')}`);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw invalid('truncated header');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  if (header.kind !== REPLY_MODEL_KIND) throw invalid(`kind ${header.kind}`);
  if (header.encoding !== ENCODING_VERSION) throw invalid(`trained with encoding ${header.encoding}, this version uses ${ENCODING_VERSION}; retrain the model`);
  if (header.features.join(',') !== FEATURES.join(',')) throw invalid('trained with another feature list; retrain the model');
  const start = align4(12 + headerLength);
  const entryOf = (name: string) => {
    const entry = header.blobs.find((candidate) => candidate.name === name);
    if (!entry) throw invalid(`missing ${name}`);
    const begin = start + entry.offset;
    const end = begin + entry.length * (entry.type === 'jsonl' ? 1 : 4);
    if (end > bytes.length) throw invalid(`truncated ${name}`);
    return { entry, begin, end };
  };
  const blob = (name: string): Float32Array | Int32Array => {
    const { entry, begin, end } = entryOf(name);
    // Copy into an aligned buffer of its own: the bytes may start at any offset, and a Node
    // Buffer's slice() is a view of a shared pool, not a copy.
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(begin, end));
    return entry.type === 'f32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
  };
  /** The items of a JSON-lines blob, a thousand lines between yields. */
  function* jsonLines<T>(name: string): Steps<T[]> {
    const { begin, end } = entryOf(name);
    const items: T[] = [];
    const decoder = new TextDecoder();
    let from = begin;
    while (from < end) {
      // The end of the next thousand lines (a newline never occurs inside a line's JSON).
      let to = from;
      for (let lines = 0; lines < LINES_PER_STEP && to < end; lines++) {
        const newline = bytes.indexOf(10, to);
        to = newline < 0 || newline >= end ? end : newline + 1;
      }
      for (const line of decoder.decode(bytes.subarray(from, to)).split('\n')) if (line !== '') items.push(JSON.parse(line) as T);
      from = to;
      yield;
    }
    return items;
  }
  const f32 = (name: string) => blob(name) as Float32Array;
  const { dim, scale, tied, dense } = header.dualEncoder;
  const tower = (name: string, embedding: Float32Array): TowerWeights => ({
    embedding,
    bias: f32(`${name}.bias`),
    ...(dense ? { dense: f32(`${name}.dense`), denseBias: f32(`${name}.denseBias`) } : {}),
  });
  const contextEmbedding = f32('context.embedding');
  yield;
  const dualEncoder: DualEncoderWeights = {
    dim,
    scale,
    context: tower('context', contextEmbedding),
    response: tower('response', tied ? contextEmbedding : f32('response.embedding')),
  };
  yield;
  const index: ReplyIndexData =
    format === 1
      ? header.index
      : { ...header.index, clusters: yield* jsonLines<CanonicalReply>('index.clusters'), occurrences: yield* jsonLines<ReplyOccurrence>('index.occurrences') };
  return {
    config: header.config,
    // Artifacts up to 21 November 2026 stored each reply's outcomes nested.
    index: { ...index, clusters: index.clusters.map((cluster) => ({ ...cluster, outcomes: outcomeStatsOf(cluster.outcomes) })) },
    contextVocabulary: blob('contextVocabulary') as Int32Array,
    responseVocabulary: blob('responseVocabulary') as Int32Array,
    dualEncoder,
    rank: combinerOf(header.rank),
    suggest: combinerOf(header.suggest),
  };
}
