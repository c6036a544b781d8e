import { describe, expect, it } from 'vitest';
import { createOnlineFeatures, featureRegistry, type FeatureMessage } from '../../src/features/index.ts';
import {
  CATEGORY_COLUMNS,
  ConversationState,
  RAW_COLUMNS,
  SPARSE_SLOTS,
  decodeArtifact,
  encodeArtifact,
  fitDenseSpec,
  loadOutcomeModel,
  modelFeatureSet,
  readRaw,
  type ArtifactContent,
  type ModelConfig,
} from '../../src/models/index.ts';
import { AppError } from '../../src/platform/index.ts';

// Serving: the session runs the same state and encoding as training, what-if scoring equals
// pushing the candidate, drivers come out in words, and a model of another feature set refuses
// to load.

const at = (minutes: number) => Date.UTC(2024, 4, 6, 9, 0, 0) + minutes * 60_000;
const message = (role: FeatureMessage['role'], text: string, tsMs: number | null = null, channel: string | null = 'chat'): FeatureMessage => ({
  role,
  kind: 'text',
  channel,
  tsMs,
  text,
  hasAttachment: false,
});

const conversation: FeatureMessage[] = [
  message('customer', 'Hi, my order never arrived and I want a refund', at(0)),
  message('csr', "I'm sorry to hear that. Could you tell me the order number?", at(14)),
  message('customer', 'It is 4471. This is ridiculous, NOTHING works!', at(16)),
  message('csr', 'Unfortunately I cannot refund it today. Is there anything else?', at(30)),
  message('customer', 'No.', at(31)),
];

function lcg(seed: number) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** A satisfaction model with random weights over a dense spec fitted on the test conversation. */
function randomModel(kind: 'logistic' | 'mlp', featureSet = modelFeatureSet) {
  const state = new ConversationState();
  const raws: Float64Array[] = [];
  const cats: Array<Array<string | null>> = [];
  for (const m of conversation) {
    state.push(m);
    const raw = new Float64Array(RAW_COLUMNS.length);
    const categories = new Array<string | null>(CATEGORY_COLUMNS.length).fill(null);
    readRaw(state, raw, categories);
    raws.push(raw);
    cats.push(categories);
  }
  const dense = fitDenseSpec(raws, cats);
  const buckets = 1 << 12;
  const config: ModelConfig = { kind, denseWidth: dense.width, buckets, classes: 5, hidden: 6, seed: 1 };
  const width = kind === 'logistic' ? 5 : 6;
  const random = lcg(kind === 'logistic' ? 3 : 4);
  const fill = (n: number) => Float32Array.from({ length: n }, () => random() - 0.5);
  const content: ArtifactContent = {
    featureSet,
    target: { name: 'satisfaction', at: 'after-turn', kind: 'multiclass', classes: [1, 2, 3, 4, 5], riskClasses: [0, 1], labelRule: 'majority', softLabels: false },
    config,
    slots: [...SPARSE_SLOTS],
    dense,
    decisionBias: [0, 0, 0, 0, 0],
    vocabulary: [],
    weights: {
      denseKernel: fill(dense.width * width),
      denseBias: fill(width),
      sparse: { buckets: Int32Array.from({ length: buckets }, (_, i) => i), rows: fill(buckets * width) },
      ...(kind === 'mlp' ? { outKernel: fill(width * 5), outBias: fill(5) } : {}),
    },
  };
  return { content, bytes: encodeArtifact(content), metadata: { kind, featureSet } };
}

describe('the conversation state', () => {
  it('computes the registry features exactly as createOnlineFeatures does', () => {
    const online = createOnlineFeatures({ sourceChannel: 'website' });
    const state = new ConversationState({ sourceChannel: 'website' });
    for (const m of conversation) {
      online.push(m);
      state.push(m);
      featureRegistry.dense.forEach((_, i) => expect(state.value(i)).toEqual(online.value(i)));
    }
  });

  it('a clone is independent of its original', () => {
    const state = new ConversationState();
    for (const m of conversation.slice(0, 3)) state.push(m);
    const copy = state.clone();
    copy.push(conversation[3]!);
    expect(copy.length).toBe(4);
    expect(state.length).toBe(3);
    expect(copy.csrApologies).toBe(state.csrApologies + 1); // "Unfortunately"
    expect(copy.csrNegativeReplies).toBe(state.csrNegativeReplies + 1);
    const index = featureRegistry.dense.findIndex((f) => f.name === 'message_count_csr');
    expect(copy.value(index)).toBe(2);
    expect(state.value(index)).toBe(1);
  });
});

describe('loadOutcomeModel', () => {
  for (const kind of ['logistic', 'mlp'] as const) {
    it(`${kind}: scoring a candidate equals pushing it into a copy, and allocates no new session`, () => {
      const { bytes, metadata } = randomModel(kind);
      const model = loadOutcomeModel(bytes, metadata);
      const session = model.startConversation({ sourceChannel: 'website' });
      for (const m of conversation.slice(0, 3)) session.push(m);
      const candidates = ['We have refunded your order, sorry for the wait.', 'No.', 'Could you send a photo of the parcel?'];
      for (const text of candidates) {
        const probs = new Float64Array(5);
        const risk = session.predictWithCandidate(text, 'csr', probs);
        const branch = session.clone();
        branch.push(message('csr', text, null, 'chat'));
        const pushed = branch.predict({ drivers: 0 });
        expect(risk).toBeCloseTo(pushed.risk, 12);
        pushed.probs!.forEach((p, k) => expect(probs[k]).toBeCloseTo(p, 12));
        // The session itself did not move.
        expect(session.length).toBe(3);
      }
      const prepared = model.prepareCandidate(candidates[0]!, 'csr');
      expect(session.predictWithCandidate(prepared)).toBeCloseTo(session.predictWithCandidate(candidates[0]!), 12);
    });
  }

  it('predicts probabilities that sum to 1, a risk of P(rating ≤ 2), and drivers in words', () => {
    const { bytes, metadata } = randomModel('logistic');
    const model = loadOutcomeModel(bytes, metadata);
    const prediction = model.predictContext(conversation, { drivers: 4 });
    expect(prediction.probs).toHaveLength(5);
    expect(prediction.probs!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(prediction.risk).toBeCloseTo(prediction.probs![0]! + prediction.probs![1]!, 12);
    expect([1, 2, 3, 4, 5]).toContain(prediction.predicted);
    expect(prediction.drivers).toHaveLength(4);
    for (const driver of prediction.drivers) {
      expect(driver.text.length).toBeGreaterThan(3);
      expect(Number.isFinite(driver.contribution)).toBe(true);
    }
    const sorted = prediction.drivers.map((d) => Math.abs(d.contribution));
    expect([...sorted].sort((a, b) => b - a)).toEqual(sorted);
    // The same context scored session by session gives the same answer.
    const session = model.startConversation();
    for (const m of conversation) session.push(m);
    expect(session.risk()).toBeCloseTo(prediction.risk, 12);
  });

  it('refuses a model of another feature set with model_incompatible', () => {
    const { bytes } = randomModel('logistic');
    expect(() => loadOutcomeModel(bytes, { kind: 'logistic', featureSet: 'fs-000000000000+enc0' })).toThrow(AppError);
    try {
      loadOutcomeModel(bytes, { kind: 'logistic', featureSet: 'fs-000000000000+enc0' });
    } catch (error) {
      expect((error as AppError).code).toBe('model_incompatible');
    }
    const stale = randomModel('logistic', 'fs-000000000000+enc0');
    expect(() => loadOutcomeModel(stale.bytes, { kind: 'logistic', featureSet: modelFeatureSet })).toThrow(/feature set fs-000000000000\+enc0/);
    expect(() => loadOutcomeModel(new Uint8Array([1, 2, 3]), { kind: 'logistic', featureSet: modelFeatureSet })).toThrow(/cannot be read/);
  });

  it('round-trips an artifact byte for byte', () => {
    const { content, bytes } = randomModel('mlp');
    const decoded = decodeArtifact(bytes);
    expect(decoded.dense).toEqual(content.dense);
    expect(decoded.target).toEqual(content.target);
    expect(Array.from(decoded.weights.outKernel!)).toEqual(Array.from(content.weights.outKernel!));
    expect(Buffer.compare(encodeArtifact(decoded), bytes)).toBe(0);
  });
});
