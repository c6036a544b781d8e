import { bigramBucket, NGRAM_BUCKETS, unigramBucket } from '../../features/index.ts';
import { createBoundedCache } from '../../platform/index.ts';
import type { ContextMessage } from './reply-index.ts';
import { stemmedWords, templateReply, templateText } from './text.ts';

/**
 * The dual encoder's inputs: hashed word uni- and bigrams (the features' FNV-1a buckets, 2^18) of
 * templated, stemmed words, as sparse vectors over a compact vocabulary (the buckets seen at least
 * `minCount` times in training; the rest have nothing learnt and are dropped).
 *
 * A context is the last `maxTurns` messages, each n-gram keyed by where it occurs, so the model
 * can tell "the customer just said" from "earlier":
 *
 *   slot 0  the last message            weight 1
 *   slot 1  the message before it       weight `previousWeight`
 *   slot 2  earlier messages            weight `earlierWeight` · `decay`^(distance − 2) (recency)
 *   slot 3  conversation markers: the last message's role, the number of messages so far (capped)
 *
 * Each slot's counts are L2-normalised before weighting, so a long message does not drown a short
 * one. A response is its templated words (handles → `@[user]`), L2-normalised. Changing anything
 * here changes `ENCODING_VERSION`, which the model artifact records and checks on load.
 */

export const ENCODING_VERSION = 'reply-ngrams-v1';

export interface EncodingConfig {
  /**
   * One key space for all messages of the context and for replies (slot 0), instead of a range
   * per position: a word has one embedding wherever it occurs (the weights still say how recent
   * it is), which the tied dual encoder needs and which generalises better on small histories.
   */
  sharedSlots: boolean;
  maxTurns: number;
  previousWeight: number;
  earlierWeight: number;
  decay: number;
}

export const defaultEncodingConfig: EncodingConfig = { sharedSlots: false, maxTurns: 6, previousWeight: 0.7, earlierWeight: 0.5, decay: 0.7 };

/** Hashed n-gram key in slot `slot` (slots never collide: each has its own 2^18 range). */
export const slotKey = (slot: number, bucket: number) => slot * NGRAM_BUCKETS + bucket;
const RESPONSE_SLOT = 4;

function addNgrams(words: readonly string[], slot: number, into: Map<number, number>): void {
  for (let i = 0; i < words.length; i++) {
    const uni = slotKey(slot, unigramBucket(words[i]!));
    into.set(uni, (into.get(uni) ?? 0) + 1);
    if (i + 1 < words.length) {
      const bi = slotKey(slot, bigramBucket(words[i]!, words[i + 1]!));
      into.set(bi, (into.get(bi) ?? 0) + 1);
    }
  }
}

function normalizeInto(counts: Map<number, number>, weight: number, into: Map<number, number>): void {
  let norm = 0;
  for (const value of counts.values()) norm += value * value;
  if (norm === 0) return;
  const scale = weight / Math.sqrt(norm);
  for (const [key, value] of counts) into.set(key, (into.get(key) ?? 0) + value * scale);
}

/**
 * A message's hashed uni- and bigram buckets with their counts L2-normalised (slot-free: the slot
 * offset is added where the message sits in the context). Memoised per words array: callers pass
 * the arrays of `messageWords`, which are themselves memoised per text, so a message already seen
 * costs a lookup.
 */
const ngramMemo = createBoundedCache<readonly string[], { buckets: Int32Array; values: Float32Array }>(20_000);
export function normalisedNgrams(words: readonly string[]): { buckets: Int32Array; values: Float32Array } {
  let cached = ngramMemo.get(words);
  if (!cached) {
    const counts = new Map<number, number>();
    addNgrams(words, 0, counts);
    let norm = 0;
    for (const value of counts.values()) norm += value * value;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const buckets = new Int32Array(counts.size);
    const values = new Float32Array(counts.size);
    let i = 0;
    for (const [bucket, value] of counts) {
      buckets[i] = bucket;
      values[i++] = value * scale;
    }
    cached = { buckets, values };
    ngramMemo.set(words, cached);
  }
  return cached;
}

/**
 * The slot of the messages before the last two (distances 2 … maxTurns − 1 share it); the last
 * message has slot 0, the one before slot 1 (unless `sharedSlots`: all 0).
 */
export const EARLIER_SLOT = 2;

/** The context's messages (last first, at most maxTurns) with their slot and weight. */
export function contextSlots(n: number, config: EncodingConfig, each: (position: number, slot: number, weight: number) => void): void {
  for (let distance = 0; distance < Math.min(n, config.maxTurns); distance++) {
    const weight = distance === 0 ? 1 : distance === 1 ? config.previousWeight : config.earlierWeight * config.decay ** (distance - 2);
    each(n - 1 - distance, config.sharedSlots ? 0 : Math.min(distance, EARLIER_SLOT), weight);
  }
}

/** The conversation markers (last message's role, messages so far) as weighted keys. */
export function markerFeatures(messages: readonly ContextMessage[]): Map<number, number> {
  const n = messages.length;
  const markers = new Map<number, number>();
  if (n > 0) addNgrams([`\u0001role:${messages[n - 1]!.role}`], 3, markers);
  addNgrams([`\u0001turns:${Math.min(n, 12)}`], 3, markers);
  const features = new Map<number, number>();
  normalizeInto(markers, 1, features);
  return features;
}

/**
 * Weighted hashed n-gram keys of a context (the messages before the reply). `words[i]`, when
 * given, are message i's templated, stemmed words (computed once by a caller that needs them for
 * retrieval too).
 */
export function contextFeatures(
  messages: readonly ContextMessage[],
  config: EncodingConfig = defaultEncodingConfig,
  words?: ReadonlyArray<readonly string[] | undefined>,
): Map<number, number> {
  const features = new Map<number, number>();
  contextSlots(messages.length, config, (position, slot, weight) => {
    const { buckets, values } = normalisedNgrams(words?.[position] ?? stemmedWords(templateText(messages[position]!.text)));
    for (let j = 0; j < buckets.length; j++) {
      const key = slotKey(slot, buckets[j]!);
      features.set(key, (features.get(key) ?? 0) + values[j]! * weight);
    }
  });
  for (const [key, value] of markerFeatures(messages)) features.set(key, (features.get(key) ?? 0) + value);
  return features;
}

/**
 * `toSparse(contextFeatures(…), vocabulary)` without the intermediate map, for the request path:
 * an n-gram of several earlier messages appears once per message (the embedding bag sums them,
 * so the encoding is the same up to float rounding).
 */
export function contextSparse(
  messages: readonly ContextMessage[],
  config: EncodingConfig,
  vocabulary: Vocabulary,
  words?: ReadonlyArray<readonly string[] | undefined>,
): SparseVector {
  const ids: number[] = [];
  const values: number[] = [];
  contextSlots(messages.length, config, (position, slot, weight) => {
    const ngrams = normalisedNgrams(words?.[position] ?? stemmedWords(templateText(messages[position]!.text)));
    for (let j = 0; j < ngrams.buckets.length; j++) {
      const row = vocabulary.row(slotKey(slot, ngrams.buckets[j]!));
      if (row === undefined) continue;
      ids.push(row);
      values.push(ngrams.values[j]! * weight);
    }
  });
  for (const [key, value] of markerFeatures(messages)) {
    const row = vocabulary.row(key);
    if (row === undefined) continue;
    ids.push(row);
    values.push(value);
  }
  return { ids: Int32Array.from(ids), values: Float32Array.from(values) };
}

/** Hashed n-gram keys of a reply text. */
export function responseFeatures(text: string, config: EncodingConfig = defaultEncodingConfig): Map<number, number> {
  return responseFeaturesOfWords(stemmedWords(templateReply(text)), config);
}

/** The same from the reply's templated, stemmed words (when the caller has them already). */
export function responseFeaturesOfWords(words: readonly string[], config: EncodingConfig = defaultEncodingConfig): Map<number, number> {
  const counts = new Map<number, number>();
  addNgrams(words, config.sharedSlots ? 0 : RESPONSE_SLOT, counts);
  const features = new Map<number, number>();
  normalizeInto(counts, 1, features);
  return features;
}

/** Sparse vector over a compact vocabulary. */
export interface SparseVector {
  ids: Int32Array;
  values: Float32Array;
}

/** Keys (sorted) → rows. */
export interface Vocabulary {
  readonly keys: Int32Array;
  readonly size: number;
  row(key: number): number | undefined;
}

/**
 * Keys are non-negative n-gram slots (< 2^31). The lookup is an open-addressing table of typed
 * arrays (load ≤ 0.5, linear probing, Fibonacci hashing) rather than a Map: on the request path a
 * context costs a few hundred lookups, and a Map of ~100k numeric keys made them a third of the
 * context encoding's time.
 */
export function createVocabulary(keys: Int32Array): Vocabulary {
  let capacity = 16;
  while (capacity < keys.length * 2) capacity *= 2;
  const mask = capacity - 1;
  const shift = 32 - Math.log2(capacity);
  const slotKeys = new Int32Array(capacity).fill(-1);
  const slotRows = new Int32Array(capacity);
  const home = (key: number) => Math.imul(key, 0x9e3779b1) >>> shift;
  keys.forEach((key, row) => {
    if (key < 0) throw new Error(`vocabulary keys are non-negative, got ${key}`);
    let slot = home(key);
    while (slotKeys[slot] !== -1 && slotKeys[slot] !== key) slot = (slot + 1) & mask;
    slotKeys[slot] = key;
    slotRows[slot] = row;
  });
  return {
    keys,
    size: keys.length,
    row(key) {
      for (let slot = home(key); ; slot = (slot + 1) & mask) {
        const found = slotKeys[slot]!;
        if (found === key) return slotRows[slot];
        if (found === -1) return undefined;
      }
    },
  };
}

/** The keys occurring in at least `minCount` of the feature maps, sorted (deterministic rows), at most `maxSize` (most frequent kept). */
export function buildVocabulary(maps: Iterable<Map<number, number>>, minCount: number, maxSize: number): Vocabulary {
  const counts = new Map<number, number>();
  for (const map of maps) for (const key of map.keys()) counts.set(key, (counts.get(key) ?? 0) + 1);
  let kept = [...counts.entries()].filter(([, count]) => count >= minCount);
  if (kept.length > maxSize) kept = kept.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, maxSize);
  return createVocabulary(Int32Array.from(kept.map(([key]) => key).sort((a, b) => a - b)));
}

export function toSparse(features: Map<number, number>, vocabulary: Vocabulary): SparseVector {
  const ids: number[] = [];
  const values: number[] = [];
  for (const [key, value] of features) {
    const row = vocabulary.row(key);
    if (row === undefined) continue;
    ids.push(row);
    values.push(value);
  }
  return { ids: Int32Array.from(ids), values: Float32Array.from(values) };
}
