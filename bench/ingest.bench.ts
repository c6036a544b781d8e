/**
 * Ingest benchmark (issue 3, "Figures"): `loopwise ingest` of a generated JSONL file and of the
 * same data as CSV, against DuckDB's own `read_json` / `read_csv` on the same files in the same
 * run. For each size (default 1M and 5M messages) and format:
 *
 *   1. `node bin/loopwise.js ingest …` as a child process into a fresh DuckDB file, validation and
 *      redaction on (the defaults)                                         → messages/s, peak RSS
 *   2. bench/support/duckdb-native.ts as a child process into another fresh DuckDB file
 *                                                                          → the native ceiling
 *
 * Peak RSS is the child's maximum resident set (`/usr/bin/time -v` when present, else VmHWM from
 * /proc/<pid>/status polled until it exits). Generated files live in a temp dir, deleted at the end.
 *
 * Run: npm run bench:ingest [-- --sizes 100000,300000]   (see bench/README.md)
 */
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeGenerated } from '../data/generate/index.ts';
import { intOption, ROOT, sleep , writeResults } from './support/harness.ts';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'ingest.json');
/** Messages per generated conversation, on average (data/generate/README.md: ~11.1). */
const MESSAGES_PER_CONVERSATION = 11.1;
const TARGETS = { ratioVsNative: 0.25, peakRssMiB: 1024, rssGrowth: 1.25 } as const;

// ---------------------------------------------------------------------------------------------
// Options: flags win over environment variables, which win over defaults.

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string' },
    formats: { type: 'string' },
    seed: { type: 'string' },
    'batch-size': { type: 'string' },
    'keep-dir': { type: 'string' },
    'cpu-prof': { type: 'string' },
    check: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    [
      'npm run bench:ingest -- [options]',
      '  --sizes N,N        messages per generated file, approximately (BENCH_INGEST_SIZES, 1000000,5000000)',
      '  --formats F,F      jsonl and/or csv (BENCH_INGEST_FORMATS, jsonl,csv)',
      '  --seed S           generator seed (BENCH_SEED, 1)',
      '  --batch-size N     loopwise ingest --batch-size (BENCH_BATCH_SIZE, the CLI default)',
      '  --keep-dir DIR     generate into DIR and keep it (default: a temp dir, deleted) (BENCH_KEEP_DIR)',
      '  --cpu-prof DIR     V8 CPU profile of each loopwise ingest child into DIR (BENCH_CPU_PROF)',
      '  --check            exit 2 when a target is missed (BENCH_CHECK=1)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const sizesRaw = flags.sizes ?? process.env.BENCH_INGEST_SIZES ?? '1000000,5000000';
const formatsRaw = flags.formats ?? process.env.BENCH_INGEST_FORMATS ?? 'jsonl,csv';
const options = {
  sizes: sizesRaw.split(',').map((size) => intOption(size.trim().replace(/_/g, ''), 0, 1000)),
  formats: formatsRaw.split(',').map((format) => {
    const value = format.trim();
    if (value !== 'jsonl' && value !== 'csv') throw new Error(`--formats: jsonl or csv, got "${value}"`);
    return value;
  }),
  seed: intOption(flags.seed ?? process.env.BENCH_SEED, 1, 0),
  batchSize: flags['batch-size'] ?? process.env.BENCH_BATCH_SIZE ? intOption(flags['batch-size'] ?? process.env.BENCH_BATCH_SIZE, 1000) : undefined,
  keepDir: flags['keep-dir'] ?? process.env.BENCH_KEEP_DIR,
  cpuProfDir: flags['cpu-prof'] ?? process.env.BENCH_CPU_PROF,
  check: Boolean(flags.check) || process.env.BENCH_CHECK === '1',
};

// ---------------------------------------------------------------------------------------------
// A child process with its wall time and peak RSS

interface Measured {
  code: number;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  peakRssKiB: number | null;
}

const TIME_BIN = '/usr/bin/time';
const hasTimeBin = await access(TIME_BIN).then(
  () => true,
  () => false,
);

async function vmHwmKiB(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) : null;
}

/** Runs `node <args>` in ROOT; the node process is measured (through /usr/bin/time -v when present). */
async function measureNode(args: string[], env: Record<string, string>, scratch: string): Promise<Measured> {
  const timeFile = path.join(scratch, `time-${process.hrtime.bigint()}.txt`);
  const [command, commandArgs] = hasTimeBin ? [TIME_BIN, ['-v', '-o', timeFile, process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  const child = spawn(command, commandArgs, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  let polledPeak = null as number | null;
  let running = true;
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      running = false;
      resolve(code ?? 1);
    });
  });
  const poller = (async () => {
    if (hasTimeBin || child.pid === undefined) return;
    while (running) {
      const value = await vmHwmKiB(child.pid);
      if (value !== null) polledPeak = Math.max(polledPeak ?? 0, value);
      await sleep(50);
    }
  })();
  const code = await exited;
  const wallSeconds = (performance.now() - started) / 1000;
  await poller;
  let peakRssKiB: number | null = polledPeak;
  if (hasTimeBin) {
    const report = await readFile(timeFile, 'utf8').catch(() => '');
    const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
    peakRssKiB = match ? Number(match[1]) : null;
    await rm(timeFile, { force: true });
  }
  return { code, stdout, stderr, wallSeconds, peakRssKiB };
}

// ---------------------------------------------------------------------------------------------

interface Row {
  size: number;
  format: 'jsonl' | 'csv';
  fileMiB: number;
  loopwise: { messages: number; wallSeconds: number; ingestSeconds: number; messagesPerSecond: number; peakRssMiB: number | null; quarantined: number };
  native: { messages: number; wallSeconds: number; sqlSeconds: number; messagesPerSecond: number; peakRssMiB: number | null };
  ratioVsNative: number;
}

const mib = (kib: number | null) => (kib === null ? null : Math.round((kib / 1024) * 10) / 10);
const pad = (value: string, width: number, right = false) => (right ? value.padStart(width) : value.padEnd(width));
const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) => row.map((cell, column) => pad(cell, widths[column]!, column > 1)).join('  ');
  return [line(rows[0]!), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main() {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const scratch = options.keepDir ? path.resolve(options.keepDir) : await mkdtemp(path.join(os.tmpdir(), 'loopwise-ingest-bench-'));
  await mkdir(scratch, { recursive: true });
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= options.keepDir ? Promise.resolve() : rm(scratch, { recursive: true, force: true }));
  process.once('SIGINT', () => {
    log('\ninterrupted: removing generated files…');
    void cleanup().finally(() => process.exit(130));
  });
  const cpuProfDir = options.cpuProfDir ? path.resolve(options.cpuProfDir) : undefined;
  if (cpuProfDir) await mkdir(cpuProfDir, { recursive: true });

  const rows: Row[] = [];
  try {
    log(`scratch dir ${scratch}; peak RSS via ${hasTimeBin ? '/usr/bin/time -v' : '/proc/<pid>/status VmHWM'}`);
    for (const size of options.sizes) {
      const conversations = Math.max(1, Math.round(size / MESSAGES_PER_CONVERSATION));
      for (const format of options.formats) {
        const out = path.join(scratch, `gen-${size}.${format}`);
        log(`generating ${conversations.toLocaleString('en-US')} conversations (~${size.toLocaleString('en-US')} messages) as ${format}…`);
        const generated = await writeGenerated({ out, conversations, seed: options.seed, format });
        const files = generated.files;
        let fileBytes = 0;
        for (const file of files) fileBytes += (await stat(file)).size;
        log(`  ${generated.messages.toLocaleString('en-US')} messages, ${(fileBytes / 2 ** 20).toFixed(0)} MiB in ${generated.seconds.toFixed(1)} s`);

        // 1. loopwise ingest (validation and redaction are on by default).
        const dbFile = path.join(scratch, `loopwise-${size}-${format}.duckdb`);
        const ingestArgs = [
          ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=ingest-${format}-${size}.cpuprofile`] : []),
          'bin/loopwise.js',
          'ingest',
          files[0]!,
          ...(format === 'csv' ? ['--interactions', files[1]!] : []),
          '--listing',
          'bench',
          '--quiet',
          '--json',
          ...(options.batchSize ? ['--batch-size', String(options.batchSize)] : []),
        ];
        log(`  loopwise ingest (${format})…`);
        const ingest = await measureNode(ingestArgs, { ANALYTICS_DB_PATH: dbFile, DATA_DIR: path.join(scratch, 'data'), LOG_LEVEL: 'warn' }, scratch);
        if (ingest.code !== 0) throw new Error(`loopwise ingest exited ${ingest.code}:\n${ingest.stderr}`);
        const summary = JSON.parse(ingest.stdout) as { messages: number; quarantined: number; seconds: number; redact: boolean };
        if (!summary.redact) throw new Error('redaction was off');
        if (summary.messages !== generated.messages) throw new Error(`loopwise wrote ${summary.messages} messages of ${generated.messages}`);
        await rm(dbFile, { force: true });
        await rm(`${dbFile}.wal`, { force: true });

        // 2. DuckDB's native reader on the same file(s).
        const nativeDb = path.join(scratch, `native-${size}-${format}.duckdb`);
        log(`  duckdb ${format === 'jsonl' ? 'read_json' : 'read_csv'}…`);
        const native = await measureNode(['--import', 'tsx', 'bench/support/duckdb-native.ts', nativeDb, format, ...files], {}, scratch);
        if (native.code !== 0) throw new Error(`native load exited ${native.code}:\n${native.stderr}`);
        const nativeResult = JSON.parse(native.stdout) as { messages: number; seconds: number };
        if (nativeResult.messages !== generated.messages) throw new Error(`native load read ${nativeResult.messages} messages of ${generated.messages}`);
        await rm(nativeDb, { force: true });
        await rm(`${nativeDb}.wal`, { force: true });
        for (const file of files) await rm(file, { force: true });

        // Both rates from wall time of the child (process start included on both sides).
        const loopwiseRate = generated.messages / ingest.wallSeconds;
        const nativeRate = generated.messages / native.wallSeconds;
        const row: Row = {
          size,
          format,
          fileMiB: Math.round((fileBytes / 2 ** 20) * 10) / 10,
          loopwise: {
            messages: summary.messages,
            wallSeconds: Math.round(ingest.wallSeconds * 100) / 100,
            ingestSeconds: summary.seconds,
            messagesPerSecond: Math.round(loopwiseRate),
            peakRssMiB: mib(ingest.peakRssKiB),
            quarantined: summary.quarantined,
          },
          native: {
            messages: nativeResult.messages,
            wallSeconds: Math.round(native.wallSeconds * 100) / 100,
            sqlSeconds: Math.round(nativeResult.seconds * 100) / 100,
            messagesPerSecond: Math.round(nativeRate),
            peakRssMiB: mib(native.peakRssKiB),
          },
          ratioVsNative: Math.round((loopwiseRate / nativeRate) * 1000) / 1000,
        };
        rows.push(row);
        log(
          `  loopwise ${fmt(row.loopwise.messagesPerSecond)} msg/s (${row.loopwise.peakRssMiB ?? '?'} MiB), native ${fmt(row.native.messagesPerSecond)} msg/s: ${(row.ratioVsNative * 100).toFixed(1)} %`,
        );
      }
    }

    // Report
    const tableRows = [
      ['format', 'reader', 'messages', 'file MiB', 'seconds', 'messages/s', 'peak RSS MiB', 'vs native'],
      ...rows.flatMap((row) => [
        [row.format, 'loopwise ingest', fmt(row.loopwise.messages), fmt(row.fileMiB), fmt(row.loopwise.wallSeconds, 1), fmt(row.loopwise.messagesPerSecond), fmt(row.loopwise.peakRssMiB), `${(row.ratioVsNative * 100).toFixed(1)} %`],
        [row.format, row.format === 'jsonl' ? 'duckdb read_json' : 'duckdb read_csv', fmt(row.native.messages), '', fmt(row.native.wallSeconds, 1), fmt(row.native.messagesPerSecond), fmt(row.native.peakRssMiB), '100 %'],
      ]),
    ];
    const checks: Record<string, { value: number | null; target: string; pass: boolean }> = {};
    for (const format of options.formats) {
      const ofFormat = rows.filter((row) => row.format === format).sort((a, b) => a.size - b.size);
      if (ofFormat.length === 0) continue;
      const worstRatio = Math.min(...ofFormat.map((row) => row.ratioVsNative));
      checks[`${format}.ratioVsNative`] = { value: worstRatio, target: `≥ ${TARGETS.ratioVsNative}`, pass: worstRatio >= TARGETS.ratioVsNative };
      const peaks = ofFormat.map((row) => row.loopwise.peakRssMiB ?? Infinity);
      const maxPeak = Math.max(...peaks);
      checks[`${format}.peakRssMiB`] = { value: Number.isFinite(maxPeak) ? maxPeak : null, target: `< ${TARGETS.peakRssMiB}`, pass: maxPeak < TARGETS.peakRssMiB };
      if (ofFormat.length > 1) {
        const growth = peaks[peaks.length - 1]! / peaks[0]!;
        checks[`${format}.rssGrowth`] = {
          value: Number.isFinite(growth) ? Math.round(growth * 100) / 100 : null,
          target: `≤ ${TARGETS.rssGrowth}× from ${fmt(ofFormat[0]!.size)} to ${fmt(ofFormat[ofFormat.length - 1]!.size)} messages`,
          pass: growth <= TARGETS.rssGrowth,
        };
      }
    }
    const reproduce = [
      'npm run bench:ingest --',
      `--sizes ${options.sizes.join(',')}`,
      `--formats ${options.formats.join(',')}`,
      `--seed ${options.seed}`,
      ...(options.batchSize ? [`--batch-size ${options.batchSize}`] : []),
    ].join(' ');
    const mark = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
    process.stdout.write(
      [
        '',
        `Loopwise ingest benchmark — ${os.cpus().length} cores, Node ${process.versions.node}, validation + redaction on, each reader a child process into a fresh DuckDB file`,
        '',
        table(tableRows),
        '',
        ...Object.entries(checks).map(([name, check]) => `${pad(name, 20)}  ${check.value ?? '—'}  (target ${check.target})  ${mark(check.pass)}`),
        '',
        'seconds = wall time of the child process (start-up included); peak RSS = its maximum resident set',
        `reproduce: ${reproduce}`,
        `results:   ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );

    const results = {
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.versions.node, loadAverage: os.loadavg() },
      options: { ...options, keepDir: undefined, cpuProfDir: undefined },
      peakRssSource: hasTimeBin ? '/usr/bin/time -v' : '/proc/<pid>/status VmHWM',
      rows,
      checks,
      reproduce,
    };
    await writeResults(RESULTS_FILE, results);
    if (options.check && Object.values(checks).some((check) => !check.pass)) process.exitCode = 2;
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
