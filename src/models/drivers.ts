import { featureRegistry } from '../features/index.ts';

/**
 * Drivers in words a manager understands: each model input (a registry feature, a model-side
 * fact, or the words of one n-gram slot) with its value, rendered as a short sentence
 * ("first reply came after 14 min"). The sign of a driver's contribution says whether it raised
 * or lowered the risk; the sentence states the fact.
 */

export interface Driver {
  /** Registry feature, model-side column, or `words:<slot>` for the n-grams. */
  feature: string;
  /** The feature's value (for words: the word or word pair that moved the prediction most). */
  value: number | string | boolean | null;
  /** Change in the risk (P(bad outcome)) this input accounts for, first order: positive raises it. */
  contribution: number;
  text: string;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, '')} h`;
  return `${Math.round(seconds / 86400)} days`;
}

function toneWord(tone: number): string {
  if (tone <= -0.3) return 'very negative';
  if (tone < -0.05) return 'negative';
  if (tone <= 0.05) return 'neutral';
  if (tone < 0.3) return 'positive';
  return 'very positive';
}

const WEEKDAYS = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const INTENT_PHRASES: Record<string, string> = {
  cancel: 'cancelling',
  refund: 'a refund',
  complaint: 'a complaint',
  human_request: 'wanting a human',
  billing: 'billing',
  thanks: 'thanks',
};
const SLOT_PHRASES: Record<string, [string, string]> = {
  csr_last: ["the CSR's last reply says", "the wording of the CSR's last reply"],
  customer_last: ["the customer's last message says", "the wording of the customer's last message"],
  csr_all: ['the CSR has said', "the CSR's wording so far"],
  customer_all: ['the customer has said', "the customer's wording so far"],
  csr_open: ["the CSR's last reply opens with", "the opening of the CSR's last reply"],
  csr_close: ["the CSR's last reply ends with", "the end of the CSR's last reply"],
  customer_open: ["the customer's last message opens with", "the opening of the customer's last message"],
};

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const percent = (x: number) => `${Math.round(x * 100)} %`;

type Template = (value: number) => string;
const NUMERIC: Record<string, Template> = {
  message_count: (v) => `${count(v, 'message')} so far`,
  message_count_customer: (v) => `the customer has sent ${count(v, 'message')}`,
  message_count_csr: (v) => `the CSR has sent ${count(v, 'message')}`,
  message_count_bot: (v) => `the bot has sent ${count(v, 'message')}`,
  message_count_system: (v) => `${count(v, 'system message')}`,
  chars_total_customer: (v) => `the customer has written ${count(v, 'character')}`,
  chars_mean_customer: (v) => `the customer's messages average ${Math.round(v)} characters`,
  chars_total_csr: (v) => `the CSR has written ${count(v, 'character')}`,
  chars_mean_csr: (v) => `the CSR's messages average ${Math.round(v)} characters`,
  speaker_changes: (v) => `${count(v, 'change')} of speaker`,
  question_count_customer: (v) => `the customer has asked ${count(v, 'question')}`,
  question_count_csr: (v) => `the CSR has asked ${count(v, 'question')}`,
  exclamation_count_customer: (v) => `the customer used "!" in ${count(v, 'message')}`,
  exclamation_count_csr: (v) => `the CSR used "!" in ${count(v, 'message')}`,
  caps_words_customer: (v) => `the customer wrote ${count(v, 'word')} in capitals`,
  words_customer: (v) => `the customer has written ${count(v, 'word')}`,
  tone_last: (v) => `the customer's latest message sounds ${toneWord(v)}`,
  tone_min: (v) => `the customer's most negative message sounds ${toneWord(v)}`,
  tone_mean: (v) => `the customer's tone is ${toneWord(v)} on average`,
  tone_trend: (v) => (v < -0.05 ? "the customer's tone has dropped since the start" : v > 0.05 ? "the customer's tone has risen since the start" : "the customer's tone has not changed since the start"),
  wait_first_csr_s: (v) => `first reply came after ${formatDuration(v)}`,
  csr_gap_mean_s: (v) => `the CSR takes ${formatDuration(v)} on average to answer`,
  customer_gap_mean_s: (v) => `the customer takes ${formatDuration(v)} on average to answer`,
  duration_s: (v) => `the conversation has lasted ${formatDuration(v)}`,
  channel_changes: (v) => `${count(v, 'change')} of channel`,
  ivr_converted: (v) => (v ? 'a phone call was moved to chat' : 'no phone call was moved to chat'),
  multimedia_count: (v) => `${count(v, 'image, file or voice message', 'images, files or voice messages')}`,
  csr_first_question_seq: (v) => `the CSR first asked a question at message ${v}`,
  csr_first_diagnostic_seq: (v) => `the CSR first asked a diagnostic question at message ${v}`,
  last_from_customer: (v) => (v ? 'the customer is waiting for a reply' : 'the customer is not waiting for a reply'),
  last_from_csr: (v) => (v ? 'the CSR spoke last' : 'the CSR did not speak last'),
  messages_since_customer: (v) => `${count(v, 'message')} since the customer last wrote`,
  csr_last_tone: (v) => `the CSR's last reply sounds ${toneWord(v)}`,
  csr_last_chars: (v) => `the CSR's last reply is ${count(v, 'character')} long`,
  csr_last_question: (v) => (v ? "the CSR's last reply asks a question" : "the CSR's last reply asks nothing"),
  csr_last_exclamation: (v) => (v ? 'the CSR\'s last reply uses "!"' : 'the CSR\'s last reply uses no "!"'),
  customer_last_chars: (v) => `the customer's last message is ${count(v, 'character')} long`,
  customer_last_question: (v) => (v ? "the customer's last message is a question" : "the customer's last message is not a question"),
  csr_last_negations: (v) => (v > 0 ? "the CSR's last reply says no or cannot" : "the CSR's last reply refuses nothing"),
  csr_last_apology: (v) => (v ? "the CSR's last reply apologises" : "the CSR's last reply does not apologise"),
  customer_last_negations: (v) => (v > 0 ? "the customer's last message says no or not" : "the customer's last message denies nothing"),
  csr_negative_replies: (v) => `${count(v, 'CSR reply', 'CSR replies')} so far said no or cannot`,
  csr_apologies: (v) => `the CSR has apologised ${v === 1 ? 'once' : `${v} times`}`,
  customer_negative_messages: (v) => `the customer said no or not in ${count(v, 'message')}`,
  customer_repeat: (v) => `the customer's last message repeats ${percent(v)} of their previous one`,
  reply_overlap: (v) => `the CSR's last reply shares ${percent(v)} of its words with the customer's last message`,
  reply_coverage: (v) => `the CSR's last reply takes up ${percent(v)} of what the customer asked`,
  csr_repeat: (v) => `the CSR's last reply repeats ${percent(v)} of their previous one`,
  csr_last_numbers: (v) => (v > 0 ? `the CSR's last reply gives ${count(v, 'number')}` : "the CSR's last reply gives no number"),
  csr_last_codes: (v) => (v > 0 ? "the CSR's last reply gives a reference code" : "the CSR's last reply gives no reference code"),
};

const NULL_TEXT: Record<string, string> = {
  wait_first_csr_s: 'no CSR reply yet',
  csr_gap_mean_s: 'no timed CSR answer yet',
  customer_gap_mean_s: 'no timed customer answer yet',
  duration_s: 'no timestamps',
  csr_first_question_seq: 'the CSR has not asked a question yet',
  csr_first_diagnostic_seq: 'the CSR has not asked a diagnostic question yet',
  customer_repeat: 'the customer has written only once',
};

/** The sentence for a feature's value (raw, before any transform). */
export function describeFeature(feature: string, value: number | string | boolean | null): string {
  if (feature.startsWith('words:')) {
    const [said, wording] = SLOT_PHRASES[feature.slice(6)] ?? ['the conversation says', 'the wording of the conversation'];
    return value === null || value === '' ? wording : `${said} "${String(value)}"`;
  }
  if (feature.startsWith('intent_')) {
    const intent = feature.slice(7);
    const phrase = INTENT_PHRASES[intent] ?? intent.replace(/_/g, ' ');
    return value ? `the customer mentioned ${phrase}` : `the customer has not mentioned ${phrase}`;
  }
  if (value === null || (typeof value === 'number' && Number.isNaN(value))) {
    if (NULL_TEXT[feature]) return NULL_TEXT[feature];
    if (feature.startsWith('tone_')) return 'the customer has not written yet';
    if (feature.startsWith('csr_last')) return 'the CSR has not replied yet';
    if (feature.startsWith('customer_last')) return 'the customer has not written yet';
    return `${labelOf(feature)}: unknown`;
  }
  if (feature === 'start_hour') return `started at ${String(value).padStart(2, '0')}:00`;
  if (feature === 'start_weekday') return `started on a ${WEEKDAYS[Number(value)] ?? String(value)}`;
  if (feature === 'start_season') return `started in ${String(value)}`;
  if (feature === 'source_channel') return `came in through ${String(value)}`;
  const kind = feature.match(/^message_count_kind_(.+)$/);
  if (kind) return `${count(Number(value), `${kind[1]!.replace(/_/g, ' ')} message`)}`;
  const channel = feature.match(/^message_count_channel_(.+)$/);
  if (channel) return `${count(Number(value), 'message')} ${channel[1] === 'none' ? 'without a channel' : `on ${channel[1]}`}`;
  const template = NUMERIC[feature];
  const number = typeof value === 'boolean' ? Number(value) : Number(value);
  if (template && Number.isFinite(number)) return template(Math.round(number * 1000) / 1000);
  return `${labelOf(feature)}: ${typeof value === 'number' ? Math.round(value * 1000) / 1000 : String(value)}`;
}

function labelOf(feature: string): string {
  return featureRegistry.dense.find((definition) => definition.name === feature)?.description ?? feature.replace(/_/g, ' ');
}

const MODEL_SIDE_LABELS: Record<string, string> = {
  last_from_customer: 'whether the customer is waiting for a reply',
  last_from_csr: 'whether the CSR spoke last',
  messages_since_customer: 'messages since the customer last wrote',
  csr_last_tone: "tone of the CSR's last reply",
  csr_last_chars: "length of the CSR's last reply",
  csr_last_question: "whether the CSR's last reply asks a question",
  csr_last_exclamation: 'whether the CSR\'s last reply uses "!"',
  customer_last_chars: "length of the customer's last message",
  customer_last_question: "whether the customer's last message is a question",
  csr_last_negations: "refusals (no, cannot, unavailable) in the CSR's last reply",
  csr_last_apology: "whether the CSR's last reply apologises",
  customer_last_negations: "no/not in the customer's last message",
  csr_negative_replies: 'CSR replies so far that said no or cannot',
  csr_apologies: 'CSR apologies so far',
  customer_negative_messages: 'customer messages so far that said no or not',
  customer_repeat: 'the customer repeating their previous message',
  reply_overlap: "how much the CSR's last reply echoes the customer's last message",
  reply_coverage: "how much of the customer's request the CSR's reply takes up",
  csr_repeat: 'the CSR repeating their previous reply',
  csr_last_numbers: "numbers in the CSR's last reply",
  csr_last_codes: "reference codes in the CSR's last reply",
  'words:csr_last': "the words of the CSR's last reply",
  'words:customer_last': "the words of the customer's last message",
  'words:csr_all': 'the words the CSR has used',
  'words:customer_all': 'the words the customer has used',
  'words:csr_open': "how the CSR's last reply opens",
  'words:csr_close': "how the CSR's last reply ends",
  'words:customer_open': "how the customer's last message opens",
};

const REGISTRY_LABELS: Record<string, string> = {
  message_count: 'number of messages',
  message_count_customer: 'messages from the customer',
  message_count_csr: 'messages from the CSR',
  message_count_bot: 'messages from the bot',
  message_count_system: 'system messages',
  chars_total_customer: 'how much the customer has written',
  chars_mean_customer: "length of the customer's messages",
  chars_total_csr: 'how much the CSR has written',
  chars_mean_csr: "length of the CSR's messages",
  chars_total_bot: 'how much the bot has written',
  chars_mean_bot: "length of the bot's messages",
  chars_total_system: 'how much the system has written',
  chars_mean_system: 'length of system messages',
  speaker_changes: 'turns taken',
  question_count_customer: "the customer's questions",
  question_count_csr: "the CSR's questions",
  exclamation_count_customer: '"!" in customer messages',
  exclamation_count_csr: '"!" in CSR messages',
  caps_words_customer: 'shouting (words in capitals)',
  words_customer: 'words the customer has written',
  tone_last: "tone of the customer's latest message",
  tone_min: "the customer's most negative tone",
  tone_mean: "the customer's average tone",
  tone_trend: "change in the customer's tone",
  wait_first_csr_s: 'wait before the first CSR reply',
  csr_gap_mean_s: 'CSR response time',
  customer_gap_mean_s: 'customer response time',
  duration_s: 'duration of the conversation',
  start_hour: 'hour the conversation started',
  start_weekday: 'weekday the conversation started',
  start_season: 'season the conversation started',
  source_channel: 'channel the conversation came in through',
  channel_changes: 'changes of channel',
  ivr_converted: 'a phone call moved to chat',
  multimedia_count: 'images, files and voice messages',
  csr_first_question_seq: 'when the CSR first asked a question',
  csr_first_diagnostic_seq: 'when the CSR first asked a diagnostic question',
};

/** A feature's name as a noun phrase, for global drivers ("what drives outcomes"). */
export function featureLabel(feature: string): string {
  const known = MODEL_SIDE_LABELS[feature] ?? REGISTRY_LABELS[feature];
  if (known) return known;
  if (feature.startsWith('intent_')) return `the customer mentioning ${INTENT_PHRASES[feature.slice(7)] ?? feature.slice(7).replace(/_/g, ' ')}`;
  const kind = feature.match(/^message_count_kind_(.+)$/);
  if (kind) return `${kind[1]!.replace(/_/g, ' ')} messages`;
  const channel = feature.match(/^message_count_channel_(.+)$/);
  if (channel) return channel[1] === 'none' ? 'messages without a channel' : `messages on ${channel[1]}`;
  return labelOf(feature);
}
