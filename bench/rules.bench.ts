/**
 * Keyword AI rules: evaluation cost per suggest request with 2,000 published rules against 20, and
 * against the naive per-rule evaluation, all in one run (issue 5: with 2,000 rules one request's
 * rule evaluation must cost tens of microseconds).
 *
 * Requests are real: every customer message of the USS MultiWOZ dialogues (default
 * ../shared/data/uss/MWOZ.txt), evaluated as the latest message of its conversation so far,
 * exactly as `rules.evaluate` does it for the suggest API — a fresh conversation per request
 * (its messages tokenised and stemmed on demand, stems memoised per process), one matcher pass,
 * conditions of the rules with a hit. Rules are generated from the corpus's own words (seeded):
 * words and two-word phrases of middling frequency, any/all/near modes, some with tone, turn,
 * role, business-hours or regex conditions, reply sets with variables. The 20-rule set is the
 * first 20 of the 2,000.
 *
 *   compiled   the published-set path: one Aho–Corasick pass, then only rules with a hit
 *   naive      the baseline: every rule scans its own terms in the (already stemmed) messages
 *
 * Rounds interleave the configurations (round 0 warms the JIT and the stem memo and is not
 * counted). Prints a JSON summary; writes bench/results/rules.json.
 *
 * Run: npm run bench:rules [-- --rules 2000 --small 20 --rounds 3 --corpus path/MWOZ.txt]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileRules,
  createConversation,
  createWordsCache,
  evaluateRules,
  ruleDefinition,
  type CompiledRuleSet,
  type ConversationMessage,
  type EvaluationContext,
} from '../src/suggest/rules/index.ts';
import { intOption, ROOT, writeResults } from './support/harness.ts';
import { generateRules, readUssDialogues } from './support/rule-corpus.ts';

const { values: flags } = parseArgs({
  options: {
    rules: { type: 'string' },
    small: { type: 'string' },
    rounds: { type: 'string' },
    requests: { type: 'string' },
    corpus: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write(
    [
      'npm run bench:rules -- [options]',
      '  --rules N     the large published set (BENCH_RULES; default 2000)',
      '  --small N     the small published set (BENCH_RULES_SMALL; default 20)',
      '  --rounds N    measured rounds over all requests (BENCH_RULES_ROUNDS; default 3)',
      '  --requests N  requests per round, spread evenly over the corpus (BENCH_RULES_REQUESTS; default 2000)',
      '  --corpus F,F  USS dialogue files (BENCH_RULES_CORPUS; default ../shared/data/uss/{MWOZ,SGD,ReDial,CCPE}.txt)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const LARGE = intOption(flags.rules ?? process.env.BENCH_RULES, 2000);
const SMALL = intOption(flags.small ?? process.env.BENCH_RULES_SMALL, 20);
const ROUNDS = intOption(flags.rounds ?? process.env.BENCH_RULES_ROUNDS, 3);
const REQUESTS = intOption(flags.requests ?? process.env.BENCH_RULES_REQUESTS, 2000);
const DEFAULT_CORPORA = ['MWOZ.txt', 'SGD.txt', 'ReDial.txt', 'CCPE.txt'].map((name) => path.join(ROOT, '..', 'shared', 'data', 'uss', name));
const CORPORA = (flags.corpus ?? process.env.BENCH_RULES_CORPUS)?.split(',').map((file) => path.resolve(file.trim())) ?? DEFAULT_CORPORA;
const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'rules.json');

// ---------------------------------------------------------------------------------------------
// Requests: each customer message as the latest of its conversation so far.

const dialogues: ConversationMessage[][] = await readUssDialogues(CORPORA);

// Whole dialogues, spread evenly over the corpora, every customer turn of each a request: the
// naive baseline at thousands of rules costs milliseconds per request, so not all of them.
const perDialogue = dialogues.map((messages) => messages.flatMap((message, index) => (message.role === 'customer' ? [messages.slice(0, index + 1)] : [])));
const totalRequests = perDialogue.reduce((sum, list) => sum + list.length, 0);
const everyNth = Math.max(1, totalRequests / REQUESTS);
const requests: ConversationMessage[][] = [];
for (let index = 0; requests.length < REQUESTS && Math.floor(index * everyNth) < perDialogue.length; index++) {
  requests.push(...perDialogue[Math.floor(index * everyNth)]!.slice(0, REQUESTS - requests.length));
}

// ---------------------------------------------------------------------------------------------
// Rules from the corpus's own vocabulary (seeded, so every run evaluates the same rules).

const definitions = generateRules(dialogues, LARGE);
const sources = definitions.map((definition, index) => ({ ruleId: `r${index}`, version: 1, definition: ruleDefinition.parse(definition) }));
const compileMs: number[] = [];
let large: CompiledRuleSet | undefined;
for (let attempt = 0; attempt < 5; attempt++) {
  const started = performance.now();
  large = compileRules(sources);
  compileMs.push(performance.now() - started);
}
const small = compileRules(sources.slice(0, SMALL));
compileMs.sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------------
// Measurement

const context: EvaluationContext = {
  now: new Date(Date.UTC(2026, 0, 5, 10)),
  isOpen: () => true,
  values: { 'customer.name': 'Ada Lovelace', 'customer.first_name': 'Ada', 'csr.name': 'Sam Smith', 'csr.first_name': 'Sam', 'listing.name': 'Acme' },
};

interface Config {
  name: string;
  set: CompiledRuleSet;
  strategy: 'compiled' | 'naive';
  /** Keep analysed message texts across requests, as the rules service does. */
  cache: boolean;
}
const configs: Config[] = [
  { name: `compiled_${SMALL}`, set: small, strategy: 'compiled', cache: true },
  { name: `compiled_${LARGE}`, set: large!, strategy: 'compiled', cache: true },
  { name: `naive_${SMALL}`, set: small, strategy: 'naive', cache: true },
  { name: `naive_${LARGE}`, set: large!, strategy: 'naive', cache: true },
  // Without the text cache every earlier message is tokenised again on each request.
  { name: `compiled_${LARGE}_uncached`, set: large!, strategy: 'compiled', cache: false },
];
const samples = new Map<string, number[]>(configs.map((config) => [config.name, []]));
const totals = new Map<string, { fired: number; evaluated: number }>(configs.map((config) => [config.name, { fired: 0, evaluated: 0 }]));

for (let round = 0; round <= ROUNDS; round++) {
  for (const config of configs) {
    const list = samples.get(config.name)!;
    const total = { fired: 0, evaluated: 0 };
    // A fresh cache per round: within a round, requests go through each dialogue in order, so
    // earlier messages are cached and the latest one is new — as for a live ticket.
    const cache = config.cache ? createWordsCache() : undefined;
    for (const messages of requests) {
      const start = process.hrtime.bigint();
      const evaluation = evaluateRules(config.set, createConversation(messages, cache), context, { strategy: config.strategy });
      const ns = Number(process.hrtime.bigint() - start);
      if (round > 0) list.push(ns / 1000);
      total.fired += evaluation.fired.length;
      total.evaluated += evaluation.evaluated;
    }
    totals.set(config.name, total);
  }
}

// Same answers both ways, or the comparison means nothing.
for (const size of [SMALL, LARGE]) {
  if (totals.get(`compiled_${size}`)!.fired !== totals.get(`naive_${size}`)!.fired) throw new Error(`compiled and naive disagree on ${size} rules`);
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return { mean_us: +mean.toFixed(2), p50_us: +pick(0.5).toFixed(2), p99_us: +pick(0.99).toFixed(2), max_us: +pick(1).toFixed(1) };
};
const results = Object.fromEntries(
  configs.map((config) => {
    const total = totals.get(config.name)!;
    return [config.name, { ...summary(samples.get(config.name)!), fired_per_request: +(total.fired / requests.length).toFixed(3), rules_evaluated_per_request: +(total.evaluated / requests.length).toFixed(2) }];
  }),
);
const ratio = (a: string, b: string, key: 'mean_us' | 'p50_us' | 'p99_us') => +(results[a]![key] / results[b]![key]).toFixed(2);
const report = {
  corpora: CORPORA.map((file) => path.relative(ROOT, file)),
  requests_per_round: requests.length,
  rounds: ROUNDS,
  rules: { small: SMALL, large: LARGE, patterns_large: large!.matcher.patternCount, unindexed_large: large!.unindexed.length },
  compile_ms_large_median: +compileMs[2]!.toFixed(1),
  results,
  ratios: {
    [`compiled_${LARGE}_vs_${SMALL}_mean`]: ratio(`compiled_${LARGE}`, `compiled_${SMALL}`, 'mean_us'),
    [`compiled_${LARGE}_vs_${SMALL}_p99`]: ratio(`compiled_${LARGE}`, `compiled_${SMALL}`, 'p99_us'),
    [`naive_${LARGE}_vs_${SMALL}_mean`]: ratio(`naive_${LARGE}`, `naive_${SMALL}`, 'mean_us'),
    [`naive_vs_compiled_${LARGE}_mean`]: ratio(`naive_${LARGE}`, `compiled_${LARGE}`, 'mean_us'),
    [`naive_vs_compiled_${LARGE}_p99`]: ratio(`naive_${LARGE}`, `compiled_${LARGE}`, 'p99_us'),
  },
};
await writeResults(RESULTS_FILE, report);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
