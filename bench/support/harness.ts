/**
 * Process, load and measurement helpers shared by the benchmarks: servers run as child processes
 * so the load generator never shares their event loop, autocannon drives them, /proc tells which
 * process used the CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type RawRequest, type RequestSpec, type Result } from 'autocannon';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  name: string;
  process: ChildProcess;
  output(): string;
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/**
 * The V8 flags `npm start` and `npm run worker` give the service (package.json): a 64 MB young
 * generation instead of 16. The suggest path allocates ~140 KB per request; at 1,000 req/s the
 * default spent 278 ms per 10 s in GC (99 scavenges, two mark-compacts) against 156 ms (24 and
 * one), for the same p99 (bench/README.md). Servers under test start with the same flags.
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=64'];

/**
 * Starts a TypeScript entry point under `node --import tsx`: one process, so its pid is the
 * server's. With `cpuProfileDir` the child writes a V8 CPU profile there when it exits (V8's
 * default names: CPU.<date>.<time>.<pid>.<thread>…; the pid is logged): where a server's time goes
 * under the load. Open it in Chrome DevTools.
 */
export function startChild(name: string, script: string, env: Record<string, string>, options: { cpuProfileDir?: string | undefined; nodeFlags?: readonly string[] } = {}): Child {
  const profileDir = options.cpuProfileDir;
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...profiling, '--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (profileDir) process.stderr.write(`${name}: pid ${child.pid}, CPU profile into ${profileDir}\n`);
  let output = '';
  const keep = (chunk: Buffer) => {
    // Only the tail matters, for diagnosing a failure; the pipes must be drained regardless.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, process: child, output: () => output };
}

export async function waitForHttp(child: Child, url: string, init: RequestInit = {}, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}) before answering:\n${child.output()}`);
    }
    try {
      const response = await fetch(url, init);
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.output()}`);
}

export async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export function runProcess(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): which of server, PostgreSQL and load generator is saturated.

const CLOCK_TICKS = 100;

// The readings below run every 250 ms on the machine under test, so they are kept cheap:
// synchronous reads (no FileHandle per file) and each process's name read once, not every time.

function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of all CPUs. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((sum, value) => sum + value, 0);
    // idle and iowait are fields 4 and 5
    return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** Whether each pid seen is a PostgreSQL process (a pid is reused only after the counter wraps). */
const isPostgresPid = new Map<number, boolean>();

function postgresPids(): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let postgres = isPostgresPid.get(pid);
    if (postgres === undefined) {
      try {
        postgres = readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        continue; // gone already
      }
      isPostgresPid.set(pid, postgres);
    }
    if (postgres) pids.push(pid);
  }
  return pids;
}

export interface CpuShare {
  /** Percent of one core, averaged over the measurement; null when there is no server process. */
  server: number | null;
  /** Every PostgreSQL process on the machine, including other clients' backends. */
  postgres: number;
  /** The backends of `ownBackends.applicationNames` plus the WAL writer: this benchmark's share. */
  postgresOwn: number | null;
  loadGenerator: number;
  /** Whole machine (all cores, so up to 100 × cores), from /proc/stat; the rest is other processes. */
  machine: number | null;
}

export interface OwnBackends {
  databaseUrl: string;
  applicationNames: readonly string[];
}

/**
 * Runs `work` while sampling CPU time. PostgreSQL backends come and go (pgbench connects its own),
 * so they are sampled every 250 ms and each process's growth is summed; a process first seen
 * mid-run is counted from zero. On a shared machine `postgresOwn` separates this run's backends.
 */
export async function measureCpu<T>(serverPid: number | undefined, work: () => Promise<T>, ownBackends?: OwnBackends): Promise<{ value: T; cpu: CpuShare }> {
  const seen = new Map<number, { first: number; last: number }>();
  const own = new Set<number>();
  const client = ownBackends ? new pg.Client({ connectionString: ownBackends.databaseUrl, application_name: 'loopwise-bench-monitor' }) : undefined;
  await client?.connect();
  const sample = async () => {
    if (client && ownBackends) {
      const { rows } = await client.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = ANY($1) OR backend_type = 'walwriter'`,
        [ownBackends.applicationNames],
      );
      for (const { pid } of rows) own.add(pid);
    }
    for (const pid of postgresPids()) {
      const ticks = processTicks(pid);
      if (ticks === undefined) continue;
      const entry = seen.get(pid);
      if (entry) entry.last = ticks;
      else seen.set(pid, { first: ticks, last: ticks });
    }
  };
  await sample();
  const existing = new Set(seen.keys());
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(250);
      await sample();
    }
  })();
  const started = process.hrtime.bigint();
  const server0 = serverPid ? (processTicks(serverPid) ?? 0) : 0;
  const machine0 = machineTicks();
  const self0 = process.cpuUsage();
  let value: T;
  try {
    value = await work();
  } finally {
    sampling = false;
  }
  const self = process.cpuUsage(self0);
  const server1 = serverPid ? (processTicks(serverPid) ?? 0) : 0;
  const machine1 = machineTicks();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await sampler;
  await client?.end();
  let postgres = 0;
  let postgresOwn = 0;
  for (const [pid, { first, last }] of seen) {
    const used = existing.has(pid) ? last - first : last;
    postgres += used;
    if (own.has(pid)) postgresOwn += used;
  }
  const percent = (ticks: number) => Math.round((ticks / CLOCK_TICKS / seconds) * 100);
  return {
    value,
    cpu: {
      server: serverPid ? percent(server1 - server0) : null,
      postgres: percent(postgres),
      postgresOwn: ownBackends ? percent(postgresOwn) : null,
      loadGenerator: Math.round(((self.user + self.system) / 1e6 / seconds) * 100),
      machine: machine0 && machine1 ? percent(machine1.busy - machine0.busy) : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP load

export interface LoadOptions {
  connections: number;
  duration: number;
  warmup: number;
  /** A steady offered load (requests/s over all connections) instead of saturation. */
  rate?: number;
}

export interface HttpFigures {
  name: string;
  requestsPerSecond: number;
  total2xx: number;
  latencyMs: { p50: number; p90: number; p99: number; p99_9: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationSeconds: number;
  cpuPercent: CpuShare;
  /** The first non-2xx response, for diagnosing a failure. */
  firstFailure?: { status: number; body: string };
}

/**
 * Requests prepared once per connection: connection `client` cycles through `forClient(client)`.
 * autocannon serialises such requests once, where a `setupRequest` makes it rebuild the raw request
 * (and its garbage) before every send: load-generator CPU taken from the machine under test.
 */
export interface PerClientRequests {
  forClient(client: number, connections: number): RawRequest[];
}

/** Warms up, then measures one request shape; req/s counts 2xx responses only. */
export async function load(
  name: string,
  url: string,
  request: RequestSpec | PerClientRequests,
  serverPid: number | undefined,
  options: LoadOptions & { ownBackends?: OwnBackends; around?: { start(): Promise<void>; end(): Promise<void> } },
): Promise<HttpFigures> {
  let firstFailure: { status: number; body: string } | undefined;
  const checked = <T extends RawRequest>(spec: T): T & RequestSpec => ({
    ...spec,
    onResponse: (status: number, body: string) => {
      if ((status < 200 || status >= 300) && !firstFailure) firstFailure = { status, body: body.slice(0, 500) };
    },
  });
  const perClient = 'forClient' in request ? request : undefined;
  const run = (duration: number) => {
    let client = 0;
    return autocannon({
      url,
      connections: options.connections,
      duration,
      timeout: 10,
      ...(options.rate ? { overallRate: options.rate } : {}),
      ...(perClient
        ? {
            requests: perClient.forClient(0, options.connections).map(checked),
            setupClient: (connection) => connection.setRequests(perClient.forClient(client++, options.connections).map(checked)),
          }
        : { requests: [checked(request as RequestSpec)] }),
    });
  };
  if (options.warmup > 0) {
    const warm = await run(options.warmup);
    if (warm.non2xx > 0 || warm.errors > 0) {
      throw new Error(`${name}: warm-up had ${warm.non2xx} non-2xx responses and ${warm.errors} errors; first: ${JSON.stringify(firstFailure)}`);
    }
  }
  // `around` brackets the measured run only (not the warm-up): e.g. readings of the server's GC.
  await options.around?.start();
  const { value: result, cpu } = await measureCpu(serverPid, async () => run(options.duration), options.ownBackends);
  await options.around?.end();
  return { ...figures(name, result), cpuPercent: cpu, ...(firstFailure ? { firstFailure } : {}) };
}

function figures(name: string, result: Result): Omit<HttpFigures, 'cpuPercent'> {
  return {
    name,
    // autocannon's mean of per-second counts; its `duration` also covers connection set-up and drain.
    requestsPerSecond: Math.round(result.requests.average),
    total2xx: result['2xx'],
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      p99_9: result.latency.p99_9,
      average: Math.round(result.latency.average * 100) / 100,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)])),
    durationSeconds: result.duration,
  };
}

// ---------------------------------------------------------------------------------------------
// pgbench

export interface PgbenchFigures {
  tps: number;
  latencyAverageMs: number | null;
  transactions: number | null;
  failed: number;
  command: string;
  cpuPercent: CpuShare;
}

/** Runs a custom pgbench script (-n: no vacuum of pgbench's own tables), warm-up first. */
export async function pgbench(databaseUrl: string, script: string, sql: string, options: LoadOptions & { threads: number }): Promise<PgbenchFigures> {
  const url = new URL(databaseUrl);
  await writeFile(script, sql);
  const connection = ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres')];
  const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const env: Record<string, string> = url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {};
  const args = (seconds: number) => [...connection, '-n', '-c', String(options.connections), '-j', String(options.threads), '-T', String(seconds), '-f', script, database];
  if (options.warmup > 0) await runProcess('pgbench', args(options.warmup), env);
  const { value: run, cpu } = await measureCpu(undefined, () => runProcess('pgbench', args(options.duration), env), { databaseUrl, applicationNames: ['pgbench'] });
  if (run.code !== 0) throw new Error(`pgbench failed (${run.code}):\n${run.stderr}\n${run.stdout}`);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout);
  if (!tps) throw new Error(`Could not find tps in pgbench output:\n${run.stdout}`);
  const latency = /latency average = ([\d.]+) ms/.exec(run.stdout);
  const processed = /number of transactions actually processed: (\d+)/.exec(run.stdout);
  const failed = /number of failed transactions: (\d+)/.exec(run.stdout);
  return {
    tps: Math.round(Number(tps[1])),
    latencyAverageMs: latency ? Number(latency[1]) : null,
    transactions: processed ? Number(processed[1]) : null,
    failed: failed ? Number(failed[1]) : 0,
    command: `pgbench ${args(options.duration).join(' ')}`,
    cpuPercent: cpu,
  };
}

/** An integer option from a flag or environment value (the first given), else `fallback`. */
/** Writes a benchmark's results as JSON (bench/results/, git-ignored), creating the folder. */
export async function writeResults(file: string, results: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
}

export function intOption(raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`Expected an integer ≥ ${min}, got "${raw}"`);
  return value;
}
