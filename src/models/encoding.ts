import {
  NEGATORS,
  analyzeMessage,
  bigramBucket,
  tokenize,
  unigramBucket,
  featureRegistry,
  featureSetVersion,
  ngramCounts,
  zonedCalendar,
  type AnalyzedMessage,
  type FeatureContext,
  type FeatureMessage,
} from '../features/index.ts';

/**
 * The model's view of a conversation, shared by training, batch scoring and the live session so
 * the three cannot drift: one `ConversationState` runs the feature registry's definitions message
 * by message, and `readRaw` + `standardize` + `encodeSparse` turn a state into the model's inputs.
 *
 * Inputs are a dense vector and a sparse list of hashed n-grams:
 *
 *   dense   every registry feature (numbers signed-log1p'd, a null indicator for nullable ones,
 *           categories one-hot over the training vocabulary) plus a few model-side facts about the
 *           last message of each side (its tone, length, question mark; who spoke last); each
 *           column standardised with the training mean and deviation.
 *   sparse  word unigrams and bigrams (the registry's hashed buckets) in four role-aware slots:
 *           the CSR's last reply, the customer's last message, everything the CSR said, everything
 *           the customer said; rehashed with the slot into `buckets` model buckets. "How will the
 *           customer take the CSR's last reply" lives in that reply's words, which is why it gets
 *           a slot of its own rather than being mixed into the conversation's bag of words.
 *
 * ENCODING_VERSION is part of a model's featureSet string: bump it whenever this file changes what
 * a model sees, so older models refuse to load instead of scoring garbage.
 */
export const ENCODING_VERSION = 1;

/** The feature set a model is trained against: the registry's version and this encoding's. */
export const modelFeatureSet = `${featureSetVersion}+enc${ENCODING_VERSION}`;

export const SPARSE_SLOTS = ['csr_last', 'customer_last', 'csr_all', 'customer_all', 'csr_open', 'csr_close', 'customer_open'] as const;
export type SparseSlot = (typeof SPARSE_SLOTS)[number];

/** Summary of one message kept for the "last message" inputs. */
export interface MessageSummary {
  role: AnalyzedMessage['role'];
  tone: number;
  chars: number;
  question: boolean;
  exclamation: boolean;
  /** Words that deny or refuse (NEGATORS, unable, unavailable). */
  negations: number;
  /** Apologises or regrets (sorry, unfortunately, I'm afraid, …). */
  apology: boolean;
  /** Words with digits (times, prices, counts) and reference-like codes (letters and digits, 6+ long). */
  numbers: number;
  codes: number;
  /** Content words (not STOP_WORDS), for how much a reply covers what was asked. */
  content: ReadonlySet<string>;
  /** Registry n-gram buckets → counts. */
  grams: Map<number, number>;
  /** Word 1-, 2- and 3-grams of the message's first words and of its last sentence (what kind of reply it is). */
  opening: Map<number, number>;
  closing: Map<number, number>;
}

/** Words of a message's opening, and of its closing sentence, that get their own n-grams. */
const EDGE_WORDS = 5;

/** Hashed 1-, 2- and 3-grams of `words` (the registry's bucket hashes; a trigram hashes as its first two words + the third). */
function edgeGrams(words: readonly string[]): Map<number, number> {
  const grams = new Map<number, number>();
  for (let i = 0; i < words.length; i++) {
    const add = (bucket: number) => grams.set(bucket, (grams.get(bucket) ?? 0) + 1);
    add(unigramBucket(words[i]!));
    if (i + 1 < words.length) add(bigramBucket(words[i]!, words[i + 1]!));
    if (i + 2 < words.length) add(bigramBucket(`${words[i]} ${words[i + 1]}`, words[i + 2]!));
  }
  return grams;
}

/** The words of the last sentence of a text (after the last . ! or ? that is not at the very end), at most EDGE_WORDS. */
function closingWords(text: string, words: readonly string[]): string[] {
  const trimmed = text.replace(/[\s.!?]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('.'), trimmed.lastIndexOf('!'), trimmed.lastIndexOf('?'));
  const tail = cut < 0 ? words : tokenize(trimmed.slice(cut + 1)).filter((token) => /[\p{L}\p{N}]/u.test(token));
  return tail.slice(-EDGE_WORDS);
}

/** Words of refusal beyond the negators the tone scorer uses. */
const REFUSALS: ReadonlySet<string> = new Set([...NEGATORS, 'unable', 'unavailable', 'unfortunately']);
const APOLOGIES: ReadonlySet<string> = new Set(['sorry', 'apologize', 'apologise', 'apologies', 'apology', 'unfortunately', 'afraid', 'regret', 'regrettably']);

/** Function words left out of the coverage of a request. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  ('a an the and or but if of to in on at for from by with about as into than then so is are was were be been being am do does did have has had ' +
    'i me my we our you your he she it its they them their this that these those there here what which who whom when where why how can could ' +
    'would should will shall may might must please thanks thank yes no not ok okay also just any some all'
  ).split(' '),
);

export function summarize(analyzed: AnalyzedMessage, grams: Map<number, number>): MessageSummary {
  let numbers = 0;
  let codes = 0;
  const content = new Set<string>();
  for (const word of analyzed.words) {
    if (/\d/.test(word)) {
      numbers++;
      if (word.length >= 6 && /[a-z]/.test(word)) codes++;
    }
    if (word.length > 2 && !STOP_WORDS.has(word)) content.add(word);
  }
  const opening = edgeGrams(analyzed.words.slice(0, EDGE_WORDS));
  const closing = edgeGrams(closingWords(analyzed.text, analyzed.words));
  let negations = 0;
  let apology = false;
  for (const word of analyzed.words) {
    if (REFUSALS.has(word)) negations++;
    if (APOLOGIES.has(word)) apology = true;
  }
  return {
    role: analyzed.role,
    tone: analyzed.tone,
    chars: analyzed.chars,
    question: analyzed.question,
    exclamation: analyzed.exclamation,
    negations,
    apology,
    numbers,
    codes,
    content,
    grams,
    opening,
    closing,
  };
}

/** Share of the request's content words that the reply repeats. */
function coverage(request: ReadonlySet<string>, reply: ReadonlySet<string>): number {
  if (request.size === 0) return 0;
  let covered = 0;
  for (const word of request) if (reply.has(word)) covered++;
  return covered / request.size;
}

/** |A ∩ B| / |A ∪ B| over the n-gram buckets of two messages. */
function overlap(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let common = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const bucket of small.keys()) if (large.has(bucket)) common++;
  return common / (a.size + b.size - common);
}

/** Registry features the model treats as categories although they are stored as integers. */
const CATEGORICAL_INTS: ReadonlySet<string> = new Set(['start_hour', 'start_weekday']);

interface RawColumn {
  name: string;
  /** Registry index, or −1 for a model-side column. */
  registryIndex: number;
  nullable: boolean;
  /** Signed log1p before standardising (counts, lengths, durations). */
  log: boolean;
}

const MODEL_SIDE_COLUMNS = [
  { name: 'last_from_customer', log: false, nullable: false },
  { name: 'last_from_csr', log: false, nullable: false },
  { name: 'messages_since_customer', log: true, nullable: false },
  { name: 'csr_last_tone', log: false, nullable: true },
  { name: 'csr_last_chars', log: true, nullable: true },
  { name: 'csr_last_question', log: false, nullable: true },
  { name: 'csr_last_exclamation', log: false, nullable: true },
  { name: 'customer_last_chars', log: true, nullable: true },
  { name: 'customer_last_question', log: false, nullable: true },
  { name: 'csr_last_negations', log: true, nullable: true },
  { name: 'csr_last_apology', log: false, nullable: true },
  { name: 'customer_last_negations', log: true, nullable: true },
  { name: 'csr_negative_replies', log: true, nullable: false },
  { name: 'csr_apologies', log: true, nullable: false },
  { name: 'customer_negative_messages', log: true, nullable: false },
  { name: 'customer_repeat', log: false, nullable: true },
  { name: 'reply_overlap', log: false, nullable: true },
  { name: 'reply_coverage', log: false, nullable: true },
  { name: 'csr_repeat', log: false, nullable: true },
  { name: 'csr_last_numbers', log: true, nullable: true },
  { name: 'csr_last_codes', log: true, nullable: true },
] as const;
export type ModelSideColumn = (typeof MODEL_SIDE_COLUMNS)[number]['name'];

/** The raw numeric columns, in a fixed order defined by the code (the registry's, then model-side ones). */
export const RAW_COLUMNS: readonly RawColumn[] = [
  ...featureRegistry.dense.flatMap((feature, registryIndex): RawColumn[] =>
    feature.type === 'category' || CATEGORICAL_INTS.has(feature.name)
      ? []
      : [{ name: feature.name, registryIndex, nullable: feature.nullable, log: feature.type !== 'bool' && !feature.name.startsWith('tone_') }],
  ),
  ...MODEL_SIDE_COLUMNS.map((column) => ({ name: column.name, registryIndex: -1, nullable: column.nullable, log: column.log })),
];
/** The categorical columns (registry categories and CATEGORICAL_INTS), as strings. */
export const CATEGORY_COLUMNS: ReadonlyArray<{ name: string; registryIndex: number }> = featureRegistry.dense.flatMap((feature, registryIndex) =>
  feature.type === 'category' || CATEGORICAL_INTS.has(feature.name) ? [{ name: feature.name, registryIndex }] : [],
);

/**
 * Per-conversation state: the registry features' states plus what the model-side inputs need.
 * Registry states are small records of primitives (feature.ts), so a copy is a shallow one; the
 * constructor checks that, since `copyFrom` (used by the what-if path) depends on it.
 */
export class ConversationState {
  readonly states: unknown[];
  readonly context: FeatureContext;
  length = 0;
  lastRole: AnalyzedMessage['role'] | null = null;
  lastCsr: MessageSummary | null = null;
  lastCustomer: MessageSummary | null = null;
  /** The customer message before lastCustomer (repeated requests), and the CSR reply before lastCsr. */
  previousCustomer: MessageSummary | null = null;
  previousCsr: MessageSummary | null = null;
  messagesSinceCustomer = 0;
  /** CSR/bot messages that refuse or deny; that apologise; customer messages that deny. */
  csrNegativeReplies = 0;
  csrApologies = 0;
  customerNegativeMessages = 0;
  /** Registry bucket → count over all CSR (and bot) messages, and over all customer messages. */
  readonly csrAll = new Map<number, number>();
  readonly customerAll = new Map<number, number>();
  /** Last message's channel and time: the defaults for a candidate reply. */
  lastChannel: string | null = null;
  lastTsMs: number | null = null;

  constructor(options: { sourceChannel?: string | null; timeZone?: string } = {}, context?: FeatureContext) {
    this.context = context ?? { sourceChannel: options.sourceChannel ?? null, calendar: zonedCalendar(options.timeZone) };
    this.states = featureRegistry.dense.map((feature) => feature.initState());
    for (const state of this.states) assertFlat(state);
  }

  push(message: FeatureMessage): AnalyzedMessage {
    const analyzed = analyzeMessage(message, this.length + 1);
    this.pushAnalyzed(analyzed, ngramCounts(analyzed.words));
    return analyzed;
  }

  /**
   * Push a message already analysed (with its n-gram counts and, optionally, its summary).
   * `accumulate: false` leaves the cumulative counts alone: the what-if path advances a scratch
   * copy without copying those maps and overlays the candidate's counts when encoding instead
   * (encodeSparse); it passes the summary it prepared once, so scoring a candidate allocates nothing.
   */
  pushAnalyzed(analyzed: AnalyzedMessage, grams: Map<number, number>, accumulate = true, summary: MessageSummary = summarize(analyzed, grams)): void {
    this.length++;
    const features = featureRegistry.dense;
    for (let i = 0; i < features.length; i++) this.states[i] = features[i]!.update(this.states[i], analyzed, this.context);
    this.lastRole = analyzed.role;
    this.lastChannel = analyzed.channel;
    if (analyzed.tsMs !== null) this.lastTsMs = analyzed.tsMs;
    if (analyzed.role === 'customer') {
      this.previousCustomer = this.lastCustomer;
      this.lastCustomer = summary;
      this.messagesSinceCustomer = 0;
      if (summary.negations > 0) this.customerNegativeMessages++;
      if (accumulate) addCounts(this.customerAll, grams);
    } else {
      this.messagesSinceCustomer++;
      if (analyzed.role === 'csr' || analyzed.role === 'bot') {
        this.previousCsr = this.lastCsr;
        this.lastCsr = summary;
        if (summary.negations > 0) this.csrNegativeReplies++;
        if (summary.apology) this.csrApologies++;
        if (accumulate) addCounts(this.csrAll, grams);
      }
    }
  }

  /**
   * Makes this state equal to `other` (same conversation options), reusing this one's objects;
   * `withCounts: false` skips the cumulative n-gram maps (the what-if path does not need them).
   */
  copyFrom(other: ConversationState, withCounts = true): void {
    for (let i = 0; i < this.states.length; i++) {
      const source = other.states[i];
      const target = this.states[i];
      if (source !== null && typeof source === 'object' && target !== null && typeof target === 'object') Object.assign(target, source);
      else this.states[i] = source !== null && typeof source === 'object' ? { ...source } : source;
    }
    this.length = other.length;
    this.lastRole = other.lastRole;
    this.lastCsr = other.lastCsr;
    this.lastCustomer = other.lastCustomer;
    this.previousCustomer = other.previousCustomer;
    this.previousCsr = other.previousCsr;
    this.messagesSinceCustomer = other.messagesSinceCustomer;
    this.csrNegativeReplies = other.csrNegativeReplies;
    this.csrApologies = other.csrApologies;
    this.customerNegativeMessages = other.customerNegativeMessages;
    this.lastChannel = other.lastChannel;
    this.lastTsMs = other.lastTsMs;
    if (withCounts) {
      copyMap(this.csrAll, other.csrAll);
      copyMap(this.customerAll, other.customerAll);
    }
  }

  clone(): ConversationState {
    const copy = new ConversationState({}, this.context);
    copy.copyFrom(this);
    return copy;
  }

  value(registryIndex: number) {
    return featureRegistry.dense[registryIndex]!.value(this.states[registryIndex]);
  }
}

function assertFlat(state: unknown): void {
  if (state === null || typeof state !== 'object') return;
  for (const value of Object.values(state)) {
    if (value !== null && typeof value === 'object') throw new Error('a feature state holds a nested object: ConversationState.copyFrom needs flat states');
  }
}

function addCounts(into: Map<number, number>, from: ReadonlyMap<number, number>): void {
  for (const [bucket, count] of from) into.set(bucket, (into.get(bucket) ?? 0) + count);
}

function copyMap(into: Map<number, number>, from: ReadonlyMap<number, number>): void {
  into.clear();
  for (const [key, value] of from) into.set(key, value);
}

const slog1p = (x: number) => (x < 0 ? -Math.log1p(-x) : Math.log1p(x));

function modelSideValue(name: ModelSideColumn, state: ConversationState): number {
  const csr = state.lastCsr;
  const customer = state.lastCustomer;
  switch (name) {
    case 'last_from_customer':
      return state.lastRole === 'customer' ? 1 : 0;
    case 'last_from_csr':
      return state.lastRole === 'csr' || state.lastRole === 'bot' ? 1 : 0;
    case 'messages_since_customer':
      return state.messagesSinceCustomer;
    case 'csr_last_tone':
      return csr ? csr.tone : Number.NaN;
    case 'csr_last_chars':
      return csr ? csr.chars : Number.NaN;
    case 'csr_last_question':
      return csr ? Number(csr.question) : Number.NaN;
    case 'csr_last_exclamation':
      return csr ? Number(csr.exclamation) : Number.NaN;
    case 'customer_last_chars':
      return customer ? customer.chars : Number.NaN;
    case 'customer_last_question':
      return customer ? Number(customer.question) : Number.NaN;
    case 'csr_last_negations':
      return csr ? csr.negations : Number.NaN;
    case 'csr_last_apology':
      return csr ? Number(csr.apology) : Number.NaN;
    case 'customer_last_negations':
      return customer ? customer.negations : Number.NaN;
    case 'csr_negative_replies':
      return state.csrNegativeReplies;
    case 'csr_apologies':
      return state.csrApologies;
    case 'customer_negative_messages':
      return state.customerNegativeMessages;
    case 'customer_repeat':
      return customer && state.previousCustomer ? overlap(customer.grams, state.previousCustomer.grams) : Number.NaN;
    case 'reply_overlap':
      return customer && csr ? overlap(customer.grams, csr.grams) : Number.NaN;
    case 'reply_coverage':
      return customer && csr ? coverage(customer.content, csr.content) : Number.NaN;
    case 'csr_repeat':
      return csr && state.previousCsr ? overlap(csr.grams, state.previousCsr.grams) : Number.NaN;
    case 'csr_last_numbers':
      return csr ? csr.numbers : Number.NaN;
    case 'csr_last_codes':
      return csr ? csr.codes : Number.NaN;
  }
}

/**
 * The raw (untransformed) numeric columns of a state into `out` (RAW_COLUMNS order; NaN = null)
 * and its categories into `categories` (CATEGORY_COLUMNS order; null when unknown).
 */
export function readRaw(state: ConversationState, out: Float64Array, categories: Array<string | null>): void {
  for (let c = 0; c < RAW_COLUMNS.length; c++) {
    const column = RAW_COLUMNS[c]!;
    if (column.registryIndex >= 0) {
      const value = state.value(column.registryIndex);
      out[c] = value === null ? Number.NaN : typeof value === 'boolean' ? Number(value) : Number(value);
    } else {
      out[c] = modelSideValue(column.name as ModelSideColumn, state);
    }
  }
  for (let c = 0; c < CATEGORY_COLUMNS.length; c++) {
    const value = state.value(CATEGORY_COLUMNS[c]!.registryIndex);
    categories[c] = value === null ? null : String(value);
  }
}

/** What standardisation learned from the training rows; serialised with the model. */
export interface DenseSpec {
  /** Per raw column: transform, mean and deviation after the transform, and the null indicator's. */
  columns: Array<{ name: string; log: boolean; mean: number; sd: number; nullMean: number | null; nullSd: number | null }>;
  /** Per category column: the vocabulary (one-hot each), plus an implicit "other/unknown" that is all zeros. */
  categories: Array<{ name: string; values: string[]; means: number[]; sds: number[] }>;
  width: number;
}

export interface DenseColumnInfo {
  /** The feature (registry or model-side) the column derives from: drivers group by it. */
  feature: string;
  kind: 'value' | 'null' | 'category';
  /** For category columns, the value it is one-hot for. */
  category?: string;
}

/** Names of the dense columns, in the order `standardize` writes them. */
export function denseLayout(spec: DenseSpec): DenseColumnInfo[] {
  const layout: DenseColumnInfo[] = [];
  for (const column of spec.columns) layout.push({ feature: column.name, kind: 'value' });
  for (const column of spec.columns) if (column.nullMean !== null) layout.push({ feature: column.name, kind: 'null' });
  for (const category of spec.categories) for (const value of category.values) layout.push({ feature: category.name, kind: 'category', category: value });
  return layout;
}

const MAX_CATEGORY_VALUES = 24;

/** Fits the dense spec on training rows (raw values from `readRaw`). */
export function fitDenseSpec(raw: readonly Float64Array[], categories: ReadonlyArray<ReadonlyArray<string | null>>): DenseSpec {
  const n = raw.length;
  const columns = RAW_COLUMNS.map((column, c) => {
    let count = 0;
    let sum = 0;
    let sumSq = 0;
    let nulls = 0;
    for (const row of raw) {
      const value = row[c]!;
      if (Number.isNaN(value)) {
        nulls++;
        continue;
      }
      const x = column.log ? slog1p(value) : value;
      count++;
      sum += x;
      sumSq += x * x;
    }
    const mean = count === 0 ? 0 : sum / count;
    const sd = count === 0 ? 0 : Math.sqrt(Math.max(0, sumSq / count - mean * mean));
    const nullRate = n === 0 ? 0 : nulls / n;
    return {
      name: column.name,
      log: column.log,
      mean,
      sd,
      nullMean: column.nullable ? nullRate : null,
      nullSd: column.nullable ? Math.sqrt(nullRate * (1 - nullRate)) : null,
    };
  });
  const cats = CATEGORY_COLUMNS.map((column, c) => {
    const counts = new Map<string, number>();
    for (const row of categories) {
      const value = row[c];
      if (value !== null && value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    const values = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, MAX_CATEGORY_VALUES)
      .map(([value]) => value)
      .sort();
    const rates = values.map((value) => (n === 0 ? 0 : (counts.get(value) ?? 0) / n));
    return { name: column.name, values, means: rates, sds: rates.map((p) => Math.sqrt(p * (1 - p))) };
  });
  const width = columns.length + columns.filter((column) => column.nullMean !== null).length + cats.reduce((sum, cat) => sum + cat.values.length, 0);
  return { columns, categories: cats, width };
}

const standardized = (x: number, mean: number, sd: number) => {
  if (!(sd > 1e-12)) return 0;
  const z = (x - mean) / sd;
  // Clipped: one absurd value (a conversation open for a month) must not dominate a linear score.
  return z > 8 ? 8 : z < -8 ? -8 : z;
};

/** Raw values → the model's dense inputs (`out.length` = spec.width). Nulls take the mean (0 after standardising). */
export function standardize(spec: DenseSpec, raw: Float64Array, categories: ReadonlyArray<string | null>, out: Float32Array): void {
  let o = 0;
  const columns = spec.columns;
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c]!;
    const value = raw[c]!;
    out[o++] = Number.isNaN(value) ? 0 : standardized(column.log ? slog1p(value) : value, column.mean, column.sd);
  }
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c]!;
    if (column.nullMean === null) continue;
    out[o++] = standardized(Number.isNaN(raw[c]!) ? 1 : 0, column.nullMean, column.nullSd!);
  }
  for (let c = 0; c < spec.categories.length; c++) {
    const category = spec.categories[c]!;
    const value = categories[c];
    for (let v = 0; v < category.values.length; v++) out[o++] = standardized(category.values[v] === value ? 1 : 0, category.means[v]!, category.sds[v]!);
  }
}

/** Sparse inputs of one row: model buckets and values, grouped by slot (`slotEnd[s]` = end of slot s). */
export interface SparseRow {
  idx: Int32Array;
  val: Float32Array;
  nnz: number;
  slotEnd: Int32Array;
}

export function createSparseRow(capacity = 256): SparseRow {
  return { idx: new Int32Array(capacity), val: new Float32Array(capacity), nnz: 0, slotEnd: new Int32Array(SPARSE_SLOTS.length) };
}

function ensureCapacity(row: SparseRow, needed: number): void {
  if (needed <= row.idx.length) return;
  let size = row.idx.length;
  while (size < needed) size *= 2;
  const idx = new Int32Array(size);
  idx.set(row.idx.subarray(0, row.nnz));
  const val = new Float32Array(size);
  val.set(row.val.subarray(0, row.nnz));
  row.idx = idx;
  row.val = val;
}

/** The model bucket of a registry bucket in a slot (buckets a power of two). */
export function modelBucket(slot: number, registryBucket: number, buckets: number): number {
  // A multiplicative mix of (bucket, slot): the same word in two slots lands in unrelated buckets.
  let h = Math.imul(registryBucket ^ Math.imul(slot + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) & (buckets - 1);
}

/**
 * Appends one slot: binary presence for the last-message slots, log1p(count) for the cumulative
 * ones, L2-normalised within the slot so a long message does not outweigh a short one. `extra`
 * adds counts on top of `grams` (a candidate reply not yet pushed).
 */
function appendSlot(row: SparseRow, slot: number, grams: ReadonlyMap<number, number> | null, extra: ReadonlyMap<number, number> | null, binary: boolean, buckets: number): void {
  const start = row.nnz;
  ensureCapacity(row, start + (grams?.size ?? 0) + (extra?.size ?? 0));
  let norm = 0;
  if (grams) {
    for (const [bucket, count] of grams) {
      const total = count + (extra?.get(bucket) ?? 0);
      const value = binary ? 1 : Math.log1p(total);
      row.idx[row.nnz] = modelBucket(slot, bucket, buckets);
      row.val[row.nnz++] = value;
      norm += value * value;
    }
  }
  if (extra) {
    for (const [bucket, count] of extra) {
      if (grams?.has(bucket)) continue;
      const value = binary ? 1 : Math.log1p(count);
      row.idx[row.nnz] = modelBucket(slot, bucket, buckets);
      row.val[row.nnz++] = value;
      norm += value * value;
    }
  }
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm);
    for (let i = start; i < row.nnz; i++) row.val[i]! *= scale;
  }
  row.slotEnd[slot] = row.nnz;
}

/**
 * The sparse inputs of a state. What-if: `candidate` is a message pushed into `state` without
 * accumulating (see pushAnalyzed), and `counts` the state before it, whose cumulative counts
 * the candidate's are added to here.
 */
export function encodeSparse(
  state: ConversationState,
  buckets: number,
  row: SparseRow,
  slots: readonly boolean[] = ALL_SLOTS,
  candidate?: { summary: MessageSummary; counts: ConversationState },
): void {
  row.nnz = 0;
  const counts = candidate?.counts ?? state;
  const role = candidate?.summary.role;
  const extraCsr = candidate && (role === 'csr' || role === 'bot') ? candidate.summary.grams : null;
  const extraCustomer = candidate && role === 'customer' ? candidate.summary.grams : null;
  appendSlot(row, 0, slots[0] ? (state.lastCsr?.grams ?? null) : null, null, true, buckets);
  appendSlot(row, 1, slots[1] ? (state.lastCustomer?.grams ?? null) : null, null, true, buckets);
  appendSlot(row, 2, slots[2] ? counts.csrAll : null, slots[2] ? extraCsr : null, false, buckets);
  appendSlot(row, 3, slots[3] ? counts.customerAll : null, slots[3] ? extraCustomer : null, false, buckets);
  appendSlot(row, 4, slots[4] ? (state.lastCsr?.opening ?? null) : null, null, true, buckets);
  appendSlot(row, 5, slots[5] ? (state.lastCsr?.closing ?? null) : null, null, true, buckets);
  appendSlot(row, 6, slots[6] ? (state.lastCustomer?.opening ?? null) : null, null, true, buckets);
}

const ALL_SLOTS: readonly boolean[] = SPARSE_SLOTS.map(() => true);
