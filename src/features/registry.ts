import { createHash } from 'node:crypto';
import type { InteractionMessage } from '../ingest/index.ts';
import { denseFeatures, ngramFeature } from './definitions.ts';
import {
  analyzeMessage,
  openingTest,
  zonedCalendar,
  type FeatureCalendar,
  type AnalyzedMessage,
  type Feature,
  type FeatureContext,
  type FeatureMessage,
  type FeatureValue,
  type SparseFeatureDefinition,
} from './feature.ts';

/** Every feature, defined once (definitions.ts). */
export const featureRegistry: { readonly dense: readonly Feature[]; readonly sparse: readonly SparseFeatureDefinition[] } = {
  dense: denseFeatures,
  sparse: [ngramFeature],
};

/**
 * The feature-set version: a digest of every feature's name, type and version (and the n-gram
 * bucket count). Stored with every materialised row; a model trained on one set refuses another.
 */
export const featureSetVersion: string = (() => {
  const parts = [
    ...featureRegistry.dense.map((f) => `${f.name}:${f.type}:${f.version}`),
    ...featureRegistry.sparse.map((f) => `${f.name}:${f.type}:${f.version}:${f.buckets}`),
  ];
  return `fs-${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 12)}`;
})();

{
  const names = new Set<string>();
  for (const feature of [...featureRegistry.dense, ...featureRegistry.sparse]) {
    if (!/^[a-z][a-z0-9_]*$/.test(feature.name)) throw new Error(`feature name ${feature.name} is not snake_case`);
    if (names.has(feature.name)) throw new Error(`feature ${feature.name} is defined twice`);
    names.add(feature.name);
  }
}

export interface OnlineOptions {
  /** The interaction's source channel (source.channel), when known. */
  sourceChannel?: string | null;
  /** The listing's time zone, weekly hours and holidays; UTC and the default hours by default. */
  calendar?: FeatureCalendar;
  /** IANA time zone for the calendar features (overrides the calendar's). */
  timeZone?: string;
}

/**
 * Live features of one conversation: push each message as it arrives and read the values after
 * it. The batch build runs this same code over the stored messages.
 */
export interface OnlineFeatures {
  push(message: FeatureMessage): AnalyzedMessage;
  /** Messages pushed so far. */
  readonly length: number;
  /** The value of dense feature `index` (featureRegistry.dense order). */
  value(index: number): FeatureValue;
  values(): FeatureValue[];
  snapshot(): Record<string, FeatureValue>;
  /** The n-gram counts so far. Live: copy it to keep a prefix's value. */
  ngrams(): ReadonlyMap<number, number>;
  /** The n-gram counts the last message added (what the batch stores). */
  ngramDelta(): ReadonlyMap<number, number>;
}

export function createOnlineFeatures(options: OnlineOptions = {}): OnlineFeatures {
  const features = featureRegistry.dense;
  const calendar = resolveCalendar(options);
  const context: FeatureContext = { sourceChannel: options.sourceChannel ?? null, calendar: zonedCalendar(calendar.timeZone), isOpen: openingTest(calendar) };
  const states: unknown[] = features.map((feature) => feature.initState());
  const grams = new Map<number, number>();
  let length = 0;
  let delta: ReadonlyMap<number, number> = new Map();
  return {
    push(message) {
      length++;
      const analyzed = analyzeMessage(message, length);
      for (let i = 0; i < features.length; i++) states[i] = features[i]!.update(states[i], analyzed, context);
      delta = ngramFeature.delta(analyzed);
      for (const [bucket, count] of delta) grams.set(bucket, (grams.get(bucket) ?? 0) + count);
      return analyzed;
    },
    get length() {
      return length;
    },
    value: (index) => features[index]!.value(states[index]),
    values: () => features.map((feature, i) => feature.value(states[i])),
    snapshot: () => Object.fromEntries(features.map((feature, i) => [feature.name, feature.value(states[i])])),
    ngrams: () => grams,
    ngramDelta: () => delta,
  };
}

/** The calendar the options describe: the given one (or UTC and the default hours), with `timeZone` overriding its zone. */
export function resolveCalendar(options: Pick<OnlineOptions, 'calendar' | 'timeZone'>): FeatureCalendar {
  const calendar = options.calendar ?? { timeZone: 'UTC', weekly: null, holidays: [] };
  return options.timeZone ? { ...calendar, timeZone: options.timeZone } : calendar;
}

/** A canonical interaction message as the features see it. */
export function toFeatureMessage(message: InteractionMessage): FeatureMessage {
  return {
    role: message.role,
    kind: message.kind,
    channel: message.channel ?? null,
    tsMs: message.ts === undefined ? null : Date.parse(message.ts),
    text: message.text ?? message.transcript ?? '',
    hasAttachment: message.attachment !== undefined,
  };
}
