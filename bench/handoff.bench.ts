/**
 * Per-call cost of the hand-off assessment (POST /v1/handoff/assess is called on every bot turn).
 * Real conversations: the USS dialogues (default MWOZ and SGD) with USER as the customer and
 * SYSTEM as the bot; the bot asks after every customer message with the whole conversation so
 * far, so every prefix ending in a USER turn is one request.
 *
 * Measured in one run, per request, after a warm-up round:
 *   floor    tokenize + scoreTone of every message of the request: reading each message once,
 *            which any text-based assessment over the whole request pays
 *   assess   assessHandoff(messages, defaults) — the pure function the route calls
 *   route    assessHandoffBody.safeParse(body) + assessHandoff: what the route adds (validation)
 * and the ratio of each to the floor. As a sanity figure (not a goal: USS "bots" are human
 * wizards), the AUC of the confidence for a dissatisfied turn (majority rating ≤ 2).
 *
 * Run: npm run bench:handoff [-- --corpus path/a.txt,path/b.txt --rounds 4]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { scoreTone, tokenize } from '../src/features/index.ts';
import { assessHandoff, assessHandoffBody, defaultHandoffSettings, type TranscriptMessage } from '../src/handoff/index.ts';
import { rocAuc } from '../src/models/index.ts';
import { ROOT } from './support/harness.ts';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: ['MWOZ.txt', 'SGD.txt'].map((name) => path.resolve(ROOT, '..', 'shared', 'data', 'uss', name)).join(',') },
    rounds: { type: 'string', default: '4' },
  },
});
const rounds = Math.max(2, Number(args.rounds));

interface Request {
  messages: TranscriptMessage[];
  dissatisfied: boolean;
}

/** USS text → one request per USER turn: the conversation up to and including it. */
async function loadRequests(file: string): Promise<Request[]> {
  const requests: Request[] = [];
  for (const block of (await readFile(file, 'utf8')).split(/\n\s*\n/)) {
    const messages: TranscriptMessage[] = [];
    for (const line of block.split('\n')) {
      const [role, text = '', , ratings = ''] = line.split('\t');
      if ((role !== 'USER' && role !== 'SYSTEM') || text === 'OVERALL' || text.trim() === '') continue;
      messages.push({ role: role === 'USER' ? 'customer' : 'bot', text });
      if (role === 'USER') {
        const scores = ratings.split(',').map(Number).filter((value) => value >= 1 && value <= 5);
        const counts = new Map<number, number>();
        for (const score of scores) counts.set(score, (counts.get(score) ?? 0) + 1);
        const majority = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 3;
        requests.push({ messages: [...messages], dissatisfied: majority <= 2 });
      }
    }
  }
  return requests;
}

const requests = (await Promise.all(args.corpus.split(',').map(loadRequests))).flat();
const bodies = requests.map((request) => JSON.parse(JSON.stringify({ messages: request.messages })) as unknown);
const settings = defaultHandoffSettings();

type Variant = 'floor' | 'assess' | 'route';
const run: Record<Variant, (index: number) => unknown> = {
  floor: (index) => {
    let sum = 0;
    for (const message of requests[index]!.messages) sum += scoreTone(tokenize(message.text)).score;
    return sum;
  },
  assess: (index) => assessHandoff(requests[index]!.messages, settings),
  route: (index) => {
    const parsed = assessHandoffBody.safeParse(bodies[index]);
    if (!parsed.success) throw new Error('invalid body');
    return assessHandoff(parsed.data.messages, settings);
  },
};

const samples: Record<Variant, number[]> = { floor: [], assess: [], route: [] };
/** assess samples by the request's message count, to show the cost stays bounded as conversations grow. */
const buckets = [
  { label: '1-9', max: 9 },
  { label: '10-19', max: 19 },
  { label: '20-29', max: 29 },
  { label: '30+', max: Infinity },
];
const byLength = new Map<string, { floor: number[]; assess: number[] }>(buckets.map((bucket) => [bucket.label, { floor: [], assess: [] }]));
const bucketOf = (length: number) => buckets.find((bucket) => length <= bucket.max)!.label;
let sink = 0;
for (let round = 0; round < rounds; round++) {
  // Interleaved per request, in a rotating order, so drift in machine load and cache effects hit
  // every variant alike.
  const order = ['floor', 'assess', 'route'] as const;
  for (let index = 0; index < requests.length; index++) {
    for (let k = 0; k < order.length; k++) {
      const variant = order[(index + k) % order.length]!;
      const start = process.hrtime.bigint();
      const result = run[variant](index);
      const ns = Number(process.hrtime.bigint() - start);
      sink += typeof result === 'number' ? result : 1;
      if (round > 0) {
        samples[variant].push(ns / 1000);
        if (variant !== 'route') byLength.get(bucketOf(requests[index]!.messages.length))![variant].push(ns / 1000);
      }
    }
  }
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number) => +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return { p50_us: pick(0.5), p90_us: pick(0.9), p99_us: pick(0.99), mean_us: +(values.reduce((a, b) => a + b, 0) / values.length).toFixed(1) };
};
const figures = Object.fromEntries((['floor', 'assess', 'route'] as const).map((variant) => [variant, summary(samples[variant])])) as Record<Variant, ReturnType<typeof summary>>;

const assessments = requests.map((request) => assessHandoff(request.messages, settings));
const handedOff = assessments.filter((assessment) => assessment.handoff).length;
const auc = rocAuc(
  assessments.map((assessment) => assessment.confidence),
  requests.map((request) => request.dissatisfied),
);
const result = {
  corpora: args.corpus.split(',').map((file) => path.basename(file)),
  requests: requests.length,
  meanMessagesPerRequest: +(requests.reduce((sum, request) => sum + request.messages.length, 0) / requests.length).toFixed(1),
  maxMessagesPerRequest: Math.max(...requests.map((request) => request.messages.length)),
  rounds: rounds - 1,
  ...figures,
  assessByMessages: Object.fromEntries(
    [...byLength].map(([label, values]) => [label, { requests: values.assess.length / (rounds - 1), floor_p50_us: summary(values.floor).p50_us, assess_p50_us: summary(values.assess).p50_us }]),
  ),
  ratio_assess_to_floor_p50: +(figures.assess.p50_us / figures.floor.p50_us).toFixed(2),
  ratio_route_to_floor_p50: +(figures.route.p50_us / figures.floor.p50_us).toFixed(2),
  handoffRate: +(handedOff / requests.length).toFixed(4),
  aucDissatisfiedTurn: auc === null ? null : +auc.toFixed(3),
  sink: sink > 0,
};
await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(path.join(ROOT, 'bench', 'results', 'handoff.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
