import { describe, expect, it } from 'vitest';
import { createOnlineFeatures, featureRegistry, toFeatureMessage, type FeatureMessage } from '../../src/features/index.ts';

const message = (role: FeatureMessage['role'], text: string, ts?: string, extra: Partial<FeatureMessage> = {}): FeatureMessage => ({
  role,
  kind: 'text',
  channel: null,
  tsMs: ts === undefined ? null : Date.parse(ts),
  text,
  hasAttachment: false,
  ...extra,
});

function run(messages: FeatureMessage[]) {
  const online = createOnlineFeatures();
  return messages.map((m) => {
    online.push(m);
    return online.snapshot();
  });
}

describe('online features', () => {
  it('response gaps skip pairs with a missing timestamp and stay null without any', () => {
    const steps = run([
      message('customer', 'hi', '2024-05-01T10:00:00Z'),
      message('csr', 'hello', '2024-05-01T10:00:30Z'), // csr gap 30
      message('customer', 'my order', undefined), // no timestamp: no customer gap
      message('csr', 'which one?', '2024-05-01T10:02:00Z'), // previous has no timestamp: skipped
      message('customer', 'the blue one', '2024-05-01T10:03:00Z'), // customer gap 60
      message('customer', 'hello?', '2024-05-01T10:05:00Z'), // same speaker: not a response
      message('csr', 'found it', '2024-05-01T10:05:10Z'), // csr gap 10
    ]);
    expect(steps[0]).toMatchObject({ csr_gap_mean_s: null, customer_gap_mean_s: null, wait_first_csr_s: null, duration_s: 0 });
    expect(steps[1]).toMatchObject({ csr_gap_mean_s: 30, wait_first_csr_s: 30 });
    expect(steps[3]).toMatchObject({ csr_gap_mean_s: 30, customer_gap_mean_s: null });
    expect(steps[4]).toMatchObject({ customer_gap_mean_s: 60 });
    expect(steps[6]).toMatchObject({ csr_gap_mean_s: 20, customer_gap_mean_s: 60, wait_first_csr_s: 30, duration_s: 310, speaker_changes: 5 });

    const untimed = run([message('customer', 'a'), message('csr', 'b'), message('customer', 'c')]).at(-1);
    expect(untimed).toMatchObject({ csr_gap_mean_s: null, customer_gap_mean_s: null, wait_first_csr_s: null, duration_s: null, start_hour: null, start_season: null });
  });

  it('the wait is fixed by the first CSR message, null when that message has no timestamp', () => {
    const steps = run([message('customer', 'a', '2024-05-01T10:00:00Z'), message('csr', 'b'), message('csr', 'c', '2024-05-01T10:01:00Z')]);
    expect(steps.map((s) => s.wait_first_csr_s)).toEqual([null, null, null]);
  });

  it('records the position of the CSR\'s first diagnostic question', () => {
    const steps = run([
      message('csr', 'Hi! How can I help you today?'),
      message('customer', 'My card was declined'),
      message('bot', 'What is your card type?'), // not the CSR
      message('csr', 'Sorry to hear that. Was it declined online or in a shop?'),
      message('csr', 'And which date?'),
    ]);
    expect(steps.map((s) => s.csr_first_question_seq)).toEqual([1, 1, 1, 1, 1]);
    expect(steps.map((s) => s.csr_first_diagnostic_seq)).toEqual([null, null, null, 4, 4]);
  });

  it('tracks customer tone: last, minimum, mean and trend', () => {
    const steps = run([
      message('customer', 'This is great'),
      message('csr', 'terrible news, sorry'), // CSR tone does not count
      message('customer', 'I am not happy at all'),
      message('customer', 'ok thanks'),
    ]);
    expect(steps[1]).toMatchObject({ tone_last: 1, tone_min: 1 });
    expect(steps[2]!.tone_last).toBeCloseTo(-3 / 6, 12);
    expect(steps[3]).toMatchObject({ tone_min: -0.5, tone_last: 1, tone_trend: 0 });
    expect(steps[3]!.tone_mean).toBeCloseTo((1 - 0.5 + 1) / 3, 12);
  });

  it('counts channel changes and IVR conversion', () => {
    const steps = run([
      message('customer', 'a', undefined, { channel: 'voice', kind: 'voice' }),
      message('bot', 'b', undefined, { channel: 'ivr' }),
      message('csr', 'c'), // no channel: neither a change nor a conversion
      message('csr', 'd', undefined, { channel: 'sms' }),
      message('customer', 'e', undefined, { channel: 'chat', kind: 'image', hasAttachment: true }),
    ]);
    expect(steps.map((s) => s.channel_changes)).toEqual([0, 1, 1, 2, 3]);
    expect(steps.map((s) => s.ivr_converted)).toEqual([false, false, false, true, true]);
    expect(steps.at(-1)).toMatchObject({ multimedia_count: 2, message_count_channel_none: 1, message_count_channel_voice: 1, message_count_kind_image: 1 });
  });

  it('uses the listing time zone for the calendar features', () => {
    const online = createOnlineFeatures({ timeZone: 'America/New_York' });
    online.push(message('customer', 'hi', '2024-03-01T03:00:00Z')); // Thursday 22:00 in New York, still winter there
    expect(online.snapshot()).toMatchObject({ start_hour: 22, start_weekday: 4, start_season: 'winter' });
    const utc = createOnlineFeatures();
    utc.push(message('customer', 'hi', '2024-03-01T03:00:00Z'));
    expect(utc.snapshot()).toMatchObject({ start_hour: 3, start_weekday: 5, start_season: 'spring' });
  });

  it('accepts canonical interaction messages and keeps n-grams out of the dense vector', () => {
    const online = createOnlineFeatures({ sourceChannel: 'website' });
    online.push(toFeatureMessage({ role: 'customer', kind: 'voice', transcript: 'cancel please', ts: '2024-01-01T00:00:00Z' }));
    expect(online.snapshot()).toMatchObject({ chars_total_customer: 13, source_channel: 'website', intent_cancel: true, multimedia_count: 1 });
    expect(online.values()).toHaveLength(featureRegistry.dense.length);
    expect(Object.keys(online.snapshot())).not.toContain('word_ngrams');
    expect([...online.ngrams().values()].reduce((a, b) => a + b, 0)).toBe(3); // cancel, please, "cancel please"
  });
});
