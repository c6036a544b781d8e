/**
 * Core HTTP benchmark: how close the ticket/chat API gets to what this machine's PostgreSQL can
 * do, and what it costs on top of bare fastify. One run, one database, three measurements:
 *
 *   1. bare fastify, one JSON POST route (its own process)          → the HTTP ceiling
 *   2. the real API (`src/server.ts` in its own process) under load:
 *        POST /v1/tickets                (a new customer each request)
 *        POST /v1/tickets/{id}/messages  (text messages spread over many open tickets)
 *   3. pgbench, a single-row INSERT of a message-sized row            → the database ceiling
 *
 * Run: npm run bench:core [-- --duration 10 --connections 50 --warmup 2 --tickets 1000]
 * See bench/README.md for every option.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort, intOption, load, pgbench, ROOT, SERVICE_NODE_FLAGS, startChild, stopChild, waitForHttp, type Child, type CpuShare, type HttpFigures , writeResults } from './support/harness.ts';
import type { RuntimeStatsView } from '../src/platform/index.ts';
import { api, createTicketRequest, CUSTOMER_TEXTS, postMessageRequest, seed } from './support/loopwise.ts';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'core-http.json');
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

// ---------------------------------------------------------------------------------------------
// Options: flags win over environment variables, which win over defaults.

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    tickets: { type: 'string' },
    csrs: { type: 'string' },
    'held-per-csr': { type: 'string' },
    'pool-size': { type: 'string' },
    'database-url': { type: 'string' },
    'cpu-prof': { type: 'string' },
    redis: { type: 'string' },
    check: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (flags.help) {
  process.stdout.write(
    [
      'npm run bench:core -- [options]',
      '  --duration S       seconds measured per HTTP benchmark and for pgbench (BENCH_DURATION, 10)',
      '  --warmup S         unmeasured seconds before each measurement (BENCH_WARMUP, 2)',
      '  --connections N    autocannon connections and pgbench clients (BENCH_CONNECTIONS, 50)',
      '  --tickets N        open tickets messages are spread over (BENCH_TICKETS, 1000)',
      '  --csrs N           CSRs that pull tickets and reply (BENCH_CSRS, 10)',
      '  --held-per-csr N   tickets each CSR pulls (BENCH_HELD_PER_CSR, 20)',
      '  --pool-size N      the server\'s DATABASE_POOL_SIZE (BENCH_POOL_SIZE, = connections, as pgbench -c)',
      `  --database-url U   PostgreSQL to use (BENCH_DATABASE_URL, ${DEFAULT_DATABASE_URL})`,
      '  --cpu-prof DIR     write a V8 CPU profile of the API server into DIR (BENCH_CPU_PROF)',
      '  --redis URL        production layout: the API with REDIS_URL (jobs on BullMQ) and a separate',
      '                     worker process (npm run worker) on the same machine (BENCH_REDIS_URL;',
      '                     default: embedded, everything in the API process)',
      '  --check            exit 2 when a target is missed (BENCH_CHECK=1)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}


const options = {
  duration: intOption(flags.duration ?? process.env.BENCH_DURATION, 10),
  warmup: intOption(flags.warmup ?? process.env.BENCH_WARMUP, 2, 0),
  connections: intOption(flags.connections ?? process.env.BENCH_CONNECTIONS, 50),
  tickets: intOption(flags.tickets ?? process.env.BENCH_TICKETS, 1000),
  csrs: intOption(flags.csrs ?? process.env.BENCH_CSRS, 10, 0),
  heldPerCsr: intOption(flags['held-per-csr'] ?? process.env.BENCH_HELD_PER_CSR, 20, 0),
  poolSize: 0,
  databaseUrl: flags['database-url'] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL,
  cpuProfDir: flags['cpu-prof'] ?? process.env.BENCH_CPU_PROF,
  redisUrl: flags.redis ?? process.env.BENCH_REDIS_URL ?? '',
  check: Boolean(flags.check) || process.env.BENCH_CHECK === '1',
};

// pgbench holds one connection per client; the API gets as many, so neither side is handicapped.
options.poolSize = intOption(flags['pool-size'] ?? process.env.BENCH_POOL_SIZE, options.connections);

const TARGETS = { messagesVsPgbench: 0.5, messagesP99Ms: 25 } as const;

// ---------------------------------------------------------------------------------------------
// Report

const pad = (value: string, width: number, right = false) => (right ? value.padStart(width) : value.padEnd(width));
const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) => row.map((cell, column) => pad(cell, widths[column]!, column > 0)).join('  ');
  return [line(rows[0]!), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const cpuCell = (cpu: CpuShare) => {
  const others = cpu.machine === null ? null : Math.max(0, cpu.machine - (cpu.server ?? 0) - cpu.postgres - cpu.loadGenerator);
  return [
    ...(cpu.server === null ? [] : [`server ${cpu.server}`]),
    `postgres ${cpu.postgres}${cpu.postgresOwn === null ? '' : ` (own ${cpu.postgresOwn})`}`,
    `load gen ${cpu.loadGenerator}`,
    ...(others === null ? [] : [`other ${others}`]),
  ].join(', ');
};

// ---------------------------------------------------------------------------------------------

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function main() {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-bench-'));
  const loadOptions = { connections: options.connections, duration: options.duration, warmup: options.warmup };
  const apiLoad = { ...loadOptions, ownBackends: { databaseUrl: options.databaseUrl, applicationNames: ['loopwise-api'] } };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let bare: Child | undefined;
  let server: Child | undefined;
  let worker: Child | undefined;
  let schemaCreated = false;

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await stopChild(bare);
      await stopChild(server);
      await stopChild(worker);
      if (schemaCreated) await withClient(options.databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
      await rm(tmpDir, { recursive: true, force: true });
    })());
  process.once('SIGINT', () => {
    log('\ninterrupted: cleaning up…');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    const postgresVersion = await withClient(options.databaseUrl, async (client) => {
      const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
      await client.query(`CREATE SCHEMA ${schema}`);
      schemaCreated = true;
      // pgbench's target: a row the width of a text message (uuid key, text, timestamp).
      await client.query(`CREATE TABLE ${schema}.pgbench_messages (id uuid PRIMARY KEY, text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
      return version;
    });
    log(`schema ${schema} on ${options.databaseUrl}; ${options.duration} s per measurement after ${options.warmup} s warm-up, ${options.connections} connections`);

    // 1. Bare fastify: the HTTP ceiling.
    const barePort = await freePort();
    bare = startChild('bare fastify', 'bench/support/bare-server.ts', { PORT: String(barePort) });
    const bareUrl = `http://127.0.0.1:${barePort}/echo`;
    const bareRequest = {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'text', senderRole: 'customer', text: CUSTOMER_TEXTS[0], metadata: { app: 'web-widget', channel: 'website', locale: 'en-US', page: '/orders/48213' } }),
    };
    await waitForHttp(bare, bareUrl, bareRequest);
    log('measuring bare fastify POST…');
    const bareFigures = await load('bare fastify POST', bareUrl, bareRequest, bare.process.pid, loadOptions);
    await stopChild(bare);
    bare = undefined;

    // 2. The real API in its own process.
    const port = await freePort();
    const adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
    const cpuProfDir = options.cpuProfDir ? path.resolve(options.cpuProfDir) : undefined;
    if (cpuProfDir) await mkdir(cpuProfDir, { recursive: true });
    const serverEnv = {
      DATABASE_URL: options.databaseUrl,
      DATABASE_SCHEMA: schema,
      DATA_DIR: path.join(tmpDir, 'data'),
      ADMIN_API_KEY: adminKey,
      // Embedded (default): jobs, the outbox relay and the live analytics ingest run in the api
      // process, as in a single-node install. With --redis: on BullMQ, in the worker process.
      REDIS_URL: options.redisUrl,
      RATE_LIMIT_PER_MINUTE: '100000000',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: String(options.poolSize),
    };
    server = startChild('loopwise api', 'src/server.ts', { ...serverEnv, PORT: String(port), HOST: '127.0.0.1' }, { cpuProfileDir: cpuProfDir, nodeFlags: SERVICE_NODE_FLAGS });
    if (options.redisUrl) worker = startChild('loopwise worker', 'src/worker.ts', { ...serverEnv, DATABASE_POOL_SIZE: '10' }, { nodeFlags: SERVICE_NODE_FLAGS });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(server, `${baseUrl}/healthz`);
    log(`api up at ${baseUrl}; seeding ${options.tickets} tickets and ${options.csrs} CSRs holding ${options.heldPerCsr} each…`);
    const seeded = await seed(baseUrl, adminKey, { listingId: 'bench', tickets: options.tickets, csrs: options.csrs, heldPerCsr: options.heldPerCsr });

    // Steady state has planner statistics (autovacuum analyses within a minute); a just-created
    // schema has none, and PostgreSQL then plans the ticket update through the wrong index.
    const analyze = () =>
      withClient(options.databaseUrl, async (client) => {
        const { rows } = await client.query<{ tables: string }>(`SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') AS tables FROM pg_tables WHERE schemaname = $1`, [schema]);
        await client.query(`ANALYZE ${rows[0]!.tables}`);
      });
    await analyze();

    const ticketLoop = eventLoopBusy(baseUrl, adminKey);
    log('measuring POST /v1/tickets…');
    const ticketFigures = await load('POST /v1/tickets', baseUrl, createTicketRequest(seeded.botKey), server.process.pid, { ...apiLoad, around: ticketLoop });
    await analyze();

    const messages = postMessageRequest(seeded);
    log(`measuring POST /v1/tickets/{id}/messages over ${seeded.ticketIds.length} tickets (${seeded.held.length} held by CSRs)…`);
    const messageLoop = eventLoopBusy(baseUrl, adminKey);
    const messageFigures = await load('POST /v1/tickets/{id}/messages', baseUrl, messages.spec, server.process.pid, { ...apiLoad, around: messageLoop });

    const counts = await withClient(options.databaseUrl, async (client) => {
      // Messages written by one statement share its now(): distinct timestamps count the commits.
      const { rows } = await client.query<{ messages: number; commits: number; tickets: number }>(
        `SELECT count(*)::int AS messages, count(DISTINCT created_at)::int AS commits, (SELECT count(*)::int FROM ${schema}.tickets) AS tickets FROM ${schema}.messages`,
      );
      return rows[0];
    });
    await stopChild(server);
    server = undefined;
    await stopChild(worker);
    worker = undefined;
    if (cpuProfDir) log(`cpu profile of the api server written to ${cpuProfDir}`);

    // 3. pgbench: the database ceiling, with the API stopped so it has the machine as the API had.
    log('measuring pgbench INSERT…');
    const insertSql = `INSERT INTO ${schema}.pgbench_messages (id, text, created_at) VALUES (gen_random_uuid(), '${CUSTOMER_TEXTS[0]!.replace(/'/g, "''")}', now());\n`;
    const pgFigures = await pgbench(options.databaseUrl, path.join(tmpDir, 'insert.sql'), insertSql, { ...loadOptions, threads: 2 });

    // Report
    const ratio = messageFigures.requestsPerSecond / pgFigures.tps;
    const checks = {
      messagesVsPgbench: { value: Math.round(ratio * 100) / 100, target: `≥ ${TARGETS.messagesVsPgbench}`, pass: ratio >= TARGETS.messagesVsPgbench },
      messagesP99Ms: { value: messageFigures.latencyMs.p99, target: `≤ ${TARGETS.messagesP99Ms} ms`, pass: messageFigures.latencyMs.p99 <= TARGETS.messagesP99Ms },
    };
    const share = (value: number) => Math.round((value / bareFigures.requestsPerSecond) * 1000) / 1000;
    const percentOfBare = (value: number) => `${(share(value) * 100).toFixed(1)} %`;
    const httpRows = [bareFigures, ticketFigures, messageFigures].map((f: HttpFigures) => [
      f.name,
      fmt(f.requestsPerSecond),
      fmt(f.latencyMs.p50, 2),
      fmt(f.latencyMs.p99, 2),
      fmt(f.latencyMs.p99_9, 2),
      String(f.non2xx),
      String(f.errors + f.timeouts),
      percentOfBare(f.requestsPerSecond),
      cpuCell(f.cpuPercent),
    ]);
    const rows = [
      ['benchmark', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'non-2xx', 'errors', 'vs bare', `cpu, % of one core (machine: ${os.cpus().length * 100})`],
      ...httpRows,
      ['pgbench INSERT (tps)', fmt(pgFigures.tps), `avg ${fmt(pgFigures.latencyAverageMs, 2)}`, '', '', `${pgFigures.failed} failed`, '', '', cpuCell(pgFigures.cpuPercent)],
    ];
    const reproduce = [
      'npm run bench:core --',
      `--duration ${options.duration} --warmup ${options.warmup} --connections ${options.connections}`,
      `--tickets ${options.tickets} --csrs ${options.csrs} --held-per-csr ${options.heldPerCsr}`,
      `--pool-size ${options.poolSize}`,
      ...(options.databaseUrl !== DEFAULT_DATABASE_URL ? [`--database-url ${options.databaseUrl}`] : []),
    ].join(' ');
    const mark = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
    process.stdout.write(
      [
        '',
        `Loopwise core HTTP benchmark — ${os.cpus().length} cores, Node ${process.versions.node}, PostgreSQL ${postgresVersion.split(' ')[0]}, ${options.connections} connections, ${options.duration} s each`,
        '',
        table(rows),
        '',
        `message posting ÷ pgbench insert tps   ${checks.messagesVsPgbench.value.toFixed(2)}  (target ${checks.messagesVsPgbench.target})  ${mark(checks.messagesVsPgbench.pass)}`,
        `message posting p99                    ${fmt(checks.messagesP99Ms.value, 2)} ms  (target ${checks.messagesP99Ms.target})  ${mark(checks.messagesP99Ms.pass)}`,
        `ticket creation ÷ bare route           ${percentOfBare(ticketFigures.requestsPerSecond)}`,
        `message posting ÷ bare route           ${percentOfBare(messageFigures.requestsPerSecond)}`,
        `api event loop busy (of the measured time): ticket creation ${percent(ticketLoop.busy())}, message posting ${percent(messageLoop.busy())}`,
        `live analytics source (a pass every 15 s) during the measured time: ${fmt(ticketLoop.folded() ?? 0)} outbox events folded into DuckDB in ticket creation, ${fmt(messageLoop.folded() ?? 0)} in message posting`,
        `rows written: ${counts?.messages ?? '?'} messages over ${messages.distinct} (ticket, speaker) pairs in ${counts?.commits ?? '?'} commits (${counts ? (counts.messages / counts.commits).toFixed(1) : '?'} per commit), ${counts?.tickets ?? '?'} tickets`,
        '',
        `reproduce: ${reproduce}`,
        `pgbench:   ${pgFigures.command.replace(tmpDir, '<tmp>')}  (script: ${insertSql.trim().replace(schema, '<schema>')})`,
        `results:   ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );

    const results = {
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.versions.node, postgres: postgresVersion, loadAverage: os.loadavg() },
      options,
      bare: bareFigures,
      createTicket: ticketFigures,
      postMessage: messageFigures,
      apiEventLoopBusy: { createTicket: ticketLoop.busy(), postMessage: messageLoop.busy() },
      liveSourceEventsFolded: { createTicket: ticketLoop.folded(), postMessage: messageLoop.folded() },
      pgbench: { ...pgFigures, command: pgFigures.command.replace(tmpDir, '<tmp>') },
      ratios: {
        postMessageVsPgbench: checks.messagesVsPgbench.value,
        postMessageVsBare: share(messageFigures.requestsPerSecond),
        createTicketVsBare: share(ticketFigures.requestsPerSecond),
      },
      checks,
      rows: counts,
      reproduce,
    };
    await writeResults(RESULTS_FILE, results);

    const bad = [bareFigures, ticketFigures, messageFigures].filter((f) => f.non2xx > 0 || f.errors > 0 || f.timeouts > 0);
    if (bad.length > 0 || pgFigures.failed > 0) {
      for (const f of bad) {
        log(`FAILED ${f.name}: ${f.non2xx} non-2xx ${JSON.stringify(f.statusCodes)}, ${f.errors} errors, ${f.timeouts} timeouts; first: ${JSON.stringify(f.firstFailure)}`);
      }
      if (pgFigures.failed > 0) log(`FAILED pgbench: ${pgFigures.failed} failed transactions`);
      process.exitCode = 1;
    } else if (options.check && !(checks.messagesVsPgbench.pass && checks.messagesP99Ms.pass)) {
      process.exitCode = 2;
    }
  } catch (error) {
    if (server) log(`--- api server output (tail) ---\n${server.output()}`);
    throw error;
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/**
 * What happened in the api around one measurement, from two readings (before and after):
 *
 * - the share of the time the api's event loop was busy (GET /v1/admin/runtime): near 1, the api's
 *   one thread is what limits the rate; well below, requests wait on something else (PostgreSQL's
 *   commits, the load generator, the other processes on the cores);
 * - the outbox events the live analytics source folded into DuckDB (GET /v1/analytics/ingest-status,
 *   its position): it runs every 15 s, so a measurement of 10 s holds one of its passes or none,
 *   which moves the message rate by ~20–30 % in the embedded layout. Reported so runs compare.
 */
function eventLoopBusy(baseUrl: string, adminKey: string) {
  const read = () => api<RuntimeStatsView>(baseUrl, adminKey, 'GET', '/v1/admin/runtime');
  const position = async () => (await api<{ lastAppliedEventId: number }>(baseUrl, adminKey, 'GET', '/v1/analytics/ingest-status')).lastAppliedEventId;
  let before: RuntimeStatsView | undefined;
  let positionBefore = 0;
  let share: number | null = null;
  let folded: number | null = null;
  return {
    start: async () => {
      [before, positionBefore] = await Promise.all([read(), position()]);
    },
    end: async () => {
      const [after, positionAfter] = await Promise.all([read(), position()]);
      const active = after.eventLoop.activeMs - before!.eventLoop.activeMs;
      const idle = after.eventLoop.idleMs - before!.eventLoop.idleMs;
      share = active + idle > 0 ? Math.round((active / (active + idle)) * 1000) / 1000 : null;
      folded = positionAfter - positionBefore;
    },
    busy: () => share,
    /** Outbox events (event ids) the live analytics source applied during the measurement. */
    folded: () => folded,
  };
}

function percent(share: number | null): string {
  return share === null ? '?' : `${Math.round(share * 100)} %`;
}
