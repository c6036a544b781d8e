import { createHash } from 'node:crypto';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { bigramBucket, readMessages, unigramBucket } from '../features/index.ts';
import { AppError, createTimeSlice } from '../platform/index.ts';
import {
  CATEGORY_COLUMNS,
  ConversationState,
  RAW_COLUMNS,
  SPARSE_SLOTS,
  createSparseRow,
  encodeSparse,
  readRaw,
  standardize,
  type DenseSpec,
} from './encoding.ts';
import {
  countTurnLabels,
  listOutcomeLabels,
  listRatingLists,
  listTrainingConversations,
  listTurnLabels,
  type OutcomeLabel,
  type TrainingConversation,
  type TurnLabel,
} from './dataset.store.ts';
import { seededRandom } from './random.ts';
import {
  BUILTIN_TARGETS,
  SATISFACTION_CLASSES,
  classIndexer,
  classKey,
  customClasses,
  riskClassesFor,
  targetName,
  ussArgmaxRating,
  type LabelValue,
  type Placement,
  type TargetSpec,
} from './targets.ts';

/**
 * From the analytics store to examples: resolve what the target means on this listing, then replay
 * every conversation's stored messages through a ConversationState (the same code a live session
 * runs) and snapshot the model inputs at each labelled prefix.
 */

export interface ResolvedTarget {
  target: TargetSpec;
  turnLabels: TurnLabel[];
  outcomeLabels: OutcomeLabel[];
  /** Annotators' individual ratings (`<target>_ratings` labels), by `id#seq` (turns) and id (outcomes). */
  ratings: { turns: Map<string, number[]>; outcomes: Map<string, number[]> } | null;
}

export interface ResolveOptions {
  at?: Placement;
  riskClass?: string;
  labelRule?: TargetSpec['labelRule'];
}

export async function resolveTarget(db: AnalyticsDb, listingId: string, name: string, options: ResolveOptions = {}): Promise<ResolvedTarget> {
  targetName(name);
  const turnCount = await countTurnLabels(db, listingId, name);
  const at: Placement = options.at ?? (turnCount > 0 ? 'before-turn' : 'every-message');
  if (at !== 'every-message' && turnCount === 0) {
    throw new AppError('unprocessable', `listing ${listingId} has no per-turn "${name}" labels, so --at ${at} has nothing to learn from (try --at every-message)`);
  }
  const labelRule = options.labelRule ?? 'majority';
  let turnLabels = at === 'every-message' ? [] : await listTurnLabels(db, listingId, name);
  let outcomeLabels = await listOutcomeLabels(db, listingId, name);
  const ratings = await listRatingLists(db, listingId, name);
  const hasRatings = ratings.turns.size > 0 || ratings.outcomes.size > 0;
  if (labelRule === 'uss-argmax') {
    const rerate = <T extends { value: LabelValue }>(label: T, list: number[] | undefined): T => {
      const rating = list ? ussArgmaxRating(list) : null;
      return rating === null ? label : { ...label, value: rating };
    };
    turnLabels = turnLabels.map((label) => rerate(label, ratings.turns.get(`${label.interactionId}#${label.seq}`)));
    outcomeLabels = outcomeLabels.map((label) => rerate(label, ratings.outcomes.get(label.interactionId)));
  }
  const primary = at === 'every-message' ? outcomeLabels : turnLabels;
  if (primary.length === 0) throw new AppError('unprocessable', `listing ${listingId} has no "${name}" labels to train on`);
  const counts = new Map<string, number>();
  for (const label of primary) counts.set(classKey(label.value), (counts.get(classKey(label.value)) ?? 0) + 1);
  const classes: LabelValue[] =
    name === 'satisfaction'
      ? SATISFACTION_CLASSES
      : (BUILTIN_TARGETS as readonly string[]).includes(name)
        ? [false, true]
        : customClasses(
            name,
            primary.map((label) => label.value),
          );
  const target: TargetSpec = {
    name,
    at,
    kind: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    riskClasses: riskClassesFor(name, classes, counts, options.riskClass),
    labelRule,
    softLabels: hasRatings && classes.every((value) => typeof value === 'number'),
  };
  return { target, turnLabels, outcomeLabels, ratings: target.softLabels ? ratings : null };
}

/** Snapshots of model inputs (raw dense values, categories, encoded sparse n-grams), one per row. */
export interface RowStore {
  n: number;
  /** n × RAW_COLUMNS.length; NaN = null. */
  raw: Float64Array;
  /** n × CATEGORY_COLUMNS.length. */
  categories: Array<string | null>;
  offsets: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  /** n × SPARSE_SLOTS.length: absolute end offset of each slot (a row's first slot starts at offsets[r]). */
  slotEnd: Int32Array;
  conversation: Int32Array;
  /** Messages seen at the snapshot. */
  prefix: Int32Array;
}

export interface ExampleList {
  n: number;
  row: Int32Array;
  label: Int32Array;
  weight: Float32Array;
  conversation: Int32Array;
  /** n × classes: the label as a distribution (the annotators' ratings when known, else one-hot). */
  soft: Float32Array;
}

export interface ExampleSet {
  target: TargetSpec;
  buckets: number;
  conversations: TrainingConversation[];
  rows: RowStore;
  /** What the model learns and is evaluated on. */
  examples: ExampleList;
  /** The conversation outcome against the state after its first k messages (early warning). */
  early: ExampleList & { k: Int32Array };
  /** Registry n-gram bucket → a word or word pair that hashes there (for drivers in words). */
  vocabulary: Map<number, string>;
  /** sha256 over the target, and the ids and content hashes of the conversations used. */
  dataHash: string;
  /** Training examples per class. */
  classCounts: number[];
}

export interface ExtractOptions {
  buckets: number;
  /** The n-gram slots to encode (SPARSE_SLOTS order); the others stay empty. */
  slots?: readonly boolean[];
  timeZone?: string;
  /** Turn placements: also learn the conversation's own label at its end (the USS protocol counts the OVERALL line). */
  includeOutcome: boolean;
  earlyK: readonly number[];
  /** every-message: at most this many prefixes; above it prefixes are sampled (seeded). */
  maxRows: number;
  seed: number;
  /** Conversations read per query. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

const VOCABULARY_CONVERSATIONS = 5000;
const VOCABULARY_LIMIT = 300_000;

export async function extractExamples(db: AnalyticsDb, listingId: string, resolved: ResolvedTarget, options: ExtractOptions): Promise<ExampleSet> {
  const { target } = resolved;
  const conversations = await listTrainingConversations(db, listingId);
  const toClass = classIndexer(target);
  const turnLabels = new Map<string, Array<{ seq: number; label: number }>>();
  for (const label of resolved.turnLabels) {
    const k = toClass(label.value);
    if (k < 0) continue;
    const list = turnLabels.get(label.interactionId) ?? [];
    list.push({ seq: label.seq, label: k });
    turnLabels.set(label.interactionId, list);
  }
  const outcomes = new Map<string, number>();
  for (const label of resolved.outcomeLabels) {
    const k = toClass(label.value);
    if (k >= 0) outcomes.set(label.interactionId, k);
  }

  const everyMessage = target.at === 'every-message';
  let sampleRate = 1;
  if (everyMessage) {
    const total = conversations.reduce((sum, c) => sum + (outcomes.has(c.id) ? c.messageCount : 0), 0);
    if (total > options.maxRows) sampleRate = options.maxRows / total;
  }
  const random = seededRandom(options.seed ^ 0x5eed);

  const rows = createRowBuilder();
  const K = target.classes.length;
  const examples = createExampleBuilder(K);
  const early = createExampleBuilder(K);
  const softOf = (key: string, kind: 'turns' | 'outcomes', label: number): Float32Array => {
    const soft = new Float32Array(K);
    const list = resolved.ratings?.[kind].get(key);
    let total = 0;
    for (const rating of list ?? []) {
      const k = toClass(rating);
      if (k < 0) continue;
      soft[k]!++;
      total++;
    }
    if (total === 0) soft[label] = 1;
    else for (let k = 0; k < K; k++) soft[k]! /= total;
    return soft;
  };
  const earlyK: number[] = [];
  const vocabulary = new Map<number, string>();
  const hash = createHash('sha256').update(JSON.stringify(target));
  const raw = new Float64Array(RAW_COLUMNS.length);
  const categories = new Array<string | null>(CATEGORY_COLUMNS.length).fill(null);
  const sparse = createSparseRow();
  const batchSize = options.batchSize ?? 500;
  // Computing every prefix's features is synchronous (~2 ms per MultiWOZ dialogue): in the
  // embedded layout training runs in the api process, whose requests must get the event loop
  // back every few milliseconds (a batch of 500 dialogues held it for ~0.9 s).
  const slice = createTimeSlice();

  for (let start = 0; start < conversations.length; start += batchSize) {
    const batch = conversations.slice(start, start + batchSize);
    const messages = await readMessages(
      db,
      listingId,
      batch.map((c) => c.id),
    );
    let cursor = 0;
    for (let b = 0; b < batch.length; b++) {
      if (slice.due()) await slice.pause();
      const conversation = batch[b]!;
      const c = start + b;
      const first = cursor;
      while (cursor < messages.length && messages[cursor]!.interactionId === conversation.id) cursor++;
      const own = messages.slice(first, cursor);
      const n = own.length;
      // Prefix length → labels wanted there.
      const wanted = new Map<number, Array<{ label: number; weight: number; soft: Float32Array; early?: number }>>();
      const want = (prefix: number, entry: { label: number; weight: number; soft: Float32Array; early?: number }) => {
        const list = wanted.get(prefix) ?? [];
        list.push(entry);
        wanted.set(prefix, list);
      };
      const outcome = outcomes.get(conversation.id);
      const outcomeSoft = outcome === undefined ? undefined : softOf(conversation.id, 'outcomes', outcome);
      if (everyMessage) {
        if (outcome !== undefined) {
          for (let prefix = 1; prefix <= n; prefix++) if (sampleRate >= 1 || random() < sampleRate) want(prefix, { label: outcome, weight: 1 / n, soft: outcomeSoft! });
        }
      } else {
        const bySeq = new Map(own.map((message, i) => [message.seq, i + 1]));
        for (const { seq, label } of turnLabels.get(conversation.id) ?? []) {
          const position = bySeq.get(seq);
          if (position === undefined) continue;
          want(target.at === 'before-turn' ? position - 1 : position, { label, weight: 1, soft: softOf(`${conversation.id}#${seq}`, 'turns', label) });
        }
        if (options.includeOutcome && outcome !== undefined && n > 0) want(n, { label: outcome, weight: 1, soft: outcomeSoft! });
      }
      if (outcome !== undefined) for (const k of options.earlyK) if (k <= n) want(k, { label: outcome, weight: 0, soft: outcomeSoft!, early: k });
      if (wanted.size === 0) continue;
      hash.update(`${conversation.id}\u0000${conversation.contentHash}\n`);

      const state = new ConversationState({ sourceChannel: conversation.sourceChannel, ...(options.timeZone ? { timeZone: options.timeZone } : {}) });
      const snapshot = (prefix: number) => {
        const entries = wanted.get(prefix);
        if (!entries) return;
        readRaw(state, raw, categories);
        encodeSparse(state, options.buckets, sparse, options.slots);
        const row = rows.add(raw, categories, sparse, c, prefix);
        for (const entry of entries) {
          if (entry.early !== undefined) {
            early.add(row, entry.label, 1, c, entry.soft);
            earlyK.push(entry.early);
          } else examples.add(row, entry.label, entry.weight, c, entry.soft);
        }
      };
      snapshot(0);
      for (let i = 0; i < n; i++) {
        const analyzed = state.push(own[i]!);
        if (c < VOCABULARY_CONVERSATIONS && vocabulary.size < VOCABULARY_LIMIT) remember(vocabulary, analyzed.words);
        snapshot(i + 1);
      }
    }
    options.onProgress?.(Math.min(conversations.length, start + batchSize), conversations.length);
  }

  const exampleList = examples.build();
  if (exampleList.n === 0) throw new AppError('unprocessable', `no labelled "${target.name}" examples in listing ${listingId}`);
  // Conversation weights (every-message: 1/n per prefix) rescaled to mean 1, so the loss keeps its scale.
  let sum = 0;
  for (const w of exampleList.weight) sum += w;
  for (let i = 0; i < exampleList.n; i++) exampleList.weight[i] = (exampleList.weight[i]! * exampleList.n) / sum;
  const classCounts = new Array<number>(target.classes.length).fill(0);
  for (const label of exampleList.label) classCounts[label]!++;
  return {
    target,
    buckets: options.buckets,
    conversations,
    rows: rows.build(),
    examples: exampleList,
    early: { ...early.build(), k: Int32Array.from(earlyK) },
    vocabulary,
    dataHash: hash.digest('hex'),
    classCounts,
  };
}

/** Word 1-, 2- and 3-grams by their registry bucket (a trigram hashes like a bigram of "a b" and "c"; encoding.ts). */
function remember(vocabulary: Map<number, string>, words: readonly string[]): void {
  for (let i = 0; i < words.length; i++) {
    const uni = unigramBucket(words[i]!);
    if (!vocabulary.has(uni)) vocabulary.set(uni, words[i]!);
    if (i + 1 < words.length) {
      const bi = bigramBucket(words[i]!, words[i + 1]!);
      if (!vocabulary.has(bi)) vocabulary.set(bi, `${words[i]} ${words[i + 1]}`);
    }
    if (i + 2 < words.length) {
      const pair = `${words[i]} ${words[i + 1]}`;
      const tri = bigramBucket(pair, words[i + 2]!);
      if (!vocabulary.has(tri)) vocabulary.set(tri, `${pair} ${words[i + 2]}`);
    }
  }
}

class Growable<T extends Float64Array | Float32Array | Int32Array> {
  length = 0;
  constructor(
    private data: T,
    private readonly make: (size: number) => T,
  ) {}
  reserve(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    let size = Math.max(16, this.data.length);
    while (size < this.length + extra) size *= 2;
    const next = this.make(size);
    next.set(this.data.subarray(0, this.length) as never);
    this.data = next;
  }
  push(value: number): void {
    this.reserve(1);
    this.data[this.length++] = value;
  }
  append(values: ArrayLike<number>, count: number): void {
    this.reserve(count);
    for (let i = 0; i < count; i++) this.data[this.length + i] = values[i]!;
    this.length += count;
  }
  build(): T {
    return this.data.slice(0, this.length) as T;
  }
}

const f64 = () => new Growable(new Float64Array(1024), (size) => new Float64Array(size));
const f32 = () => new Growable(new Float32Array(1024), (size) => new Float32Array(size));
const i32 = () => new Growable(new Int32Array(1024), (size) => new Int32Array(size));

function createRowBuilder() {
  const raw = f64();
  const categories: Array<string | null> = [];
  const offsets = i32();
  offsets.push(0);
  const idx = i32();
  const val = f32();
  const slotEnd = i32();
  const conversation = i32();
  const prefix = i32();
  let n = 0;
  return {
    add(rawValues: Float64Array, cats: ReadonlyArray<string | null>, sparse: ReturnType<typeof createSparseRow>, c: number, p: number): number {
      const base = idx.length;
      raw.append(rawValues, rawValues.length);
      for (const value of cats) categories.push(value);
      idx.append(sparse.idx, sparse.nnz);
      val.append(sparse.val, sparse.nnz);
      offsets.push(idx.length);
      for (let s = 0; s < SPARSE_SLOTS.length; s++) slotEnd.push(base + sparse.slotEnd[s]!);
      conversation.push(c);
      prefix.push(p);
      return n++;
    },
    build(): RowStore {
      return {
        n,
        raw: raw.build(),
        categories,
        offsets: offsets.build(),
        idx: idx.build(),
        val: val.build(),
        slotEnd: slotEnd.build(),
        conversation: conversation.build(),
        prefix: prefix.build(),
      };
    },
  };
}

function createExampleBuilder(classes: number) {
  const row = i32();
  const label = i32();
  const weight = f32();
  const conversation = i32();
  const soft = f32();
  return {
    add(r: number, l: number, w: number, c: number, distribution: Float32Array) {
      row.push(r);
      label.push(l);
      weight.push(w);
      conversation.push(c);
      soft.append(distribution, classes);
    },
    build(): ExampleList {
      return { n: row.length, row: row.build(), label: label.build(), weight: weight.build(), conversation: conversation.build(), soft: soft.build() };
    },
  };
}


/** Encoded examples, CSR layout for the sparse part. */
export interface TrainingSet {
  n: number;
  width: number;
  /** n × width, row-major. */
  dense: Float32Array;
  /** Row r's sparse entries are idx/val[offsets[r] .. offsets[r+1]). */
  offsets: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  /** Class index per row. */
  label: Int32Array;
  /** n × classes: the label as a distribution (what the loss uses; one-hot of `label` without soft labels). */
  target: Float32Array;
  /** Example weight per row (conversation weighting); class weights are applied on top. */
  weight: Float32Array;
  /** n × slots: absolute end of each sparse slot (permutation importance swaps slots between rows). */
  slotEnd?: Int32Array;
}

/** Examples `which` (indices into `list`) as an encoded training set: dense standardised with `spec`. */
export function toTrainingSet(rows: RowStore, list: ExampleList, which: ArrayLike<number>, spec: DenseSpec, slots: readonly boolean[] = SPARSE_SLOTS.map(() => true)): TrainingSet {
  const n = which.length;
  const width = spec.width;
  const dense = new Float32Array(n * width);
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = list.row[which[i]!]!;
    total += rows.offsets[r + 1]! - rows.offsets[r]!;
  }
  const idx = new Int32Array(total);
  const val = new Float32Array(total);
  const label = new Int32Array(n);
  const weight = new Float32Array(n);
  const classes = list.soft.length / Math.max(list.n, 1);
  const target = new Float32Array(n * classes);
  const slotEnd = new Int32Array(n * SPARSE_SLOTS.length);
  const R = RAW_COLUMNS.length;
  const C = CATEGORY_COLUMNS.length;
  const out = new Float32Array(width);
  let cursor = 0;
  for (let i = 0; i < n; i++) {
    const e = which[i]!;
    const r = list.row[e]!;
    standardize(spec, rows.raw.subarray(r * R, (r + 1) * R), rows.categories.slice(r * C, (r + 1) * C), out);
    dense.set(out, i * width);
    let from = rows.offsets[r]!;
    for (let s = 0; s < SPARSE_SLOTS.length; s++) {
      const to = rows.slotEnd[r * SPARSE_SLOTS.length + s]!;
      if (slots[s]) {
        idx.set(rows.idx.subarray(from, to), cursor);
        val.set(rows.val.subarray(from, to), cursor);
        cursor += to - from;
      }
      slotEnd[i * SPARSE_SLOTS.length + s] = cursor;
      from = to;
    }
    offsets[i + 1] = cursor;
    label[i] = list.label[e]!;
    weight[i] = list.weight[e]!;
    target.set(list.soft.subarray(e * classes, (e + 1) * classes), i * classes);
  }
  return { n, width, dense, offsets, idx, val, label, weight, target, slotEnd };
}

/** Raw values and categories of the rows behind examples `which` (to fit a DenseSpec on). */
export function rawRowsOf(rows: RowStore, list: ExampleList, which: ArrayLike<number>): { raw: Float64Array[]; categories: Array<Array<string | null>> } {
  const R = RAW_COLUMNS.length;
  const C = CATEGORY_COLUMNS.length;
  const raw: Float64Array[] = [];
  const categories: Array<Array<string | null>> = [];
  for (let i = 0; i < which.length; i++) {
    const r = list.row[which[i]!]!;
    raw.push(rows.raw.subarray(r * R, (r + 1) * R));
    categories.push(rows.categories.slice(r * C, (r + 1) * C));
  }
  return { raw, categories };
}
