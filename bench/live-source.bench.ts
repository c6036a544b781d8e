/**
 * The live analytics source's cost per outbox event (issue 3's live source; it runs in the api
 * process in the embedded layout, so its CPU is taken from message posting — see core-http's
 * section in bench/README.md). On a fresh schema of the configured PostgreSQL:
 *
 *   1. `--tickets` tickets are created as `ticket.created` events and folded once (the baseline
 *      every later pass reads back);
 *   2. each round appends `--per-ticket` `message.created` events to every ticket (payloads shaped
 *      as the message writer's, ~170-character texts with an e-mail address and an order number
 *      to redact) and folds them with one batch size, alternating `--batches` (default 5000 and
 *      50000) so both meet the same tables.
 *
 * Per pass: wall time, process CPU (every thread: JS, DuckDB's, the driver's) and the event
 * loop's busy share (ELU), each per event. The process holds nothing else, so the figures are the
 * fold's own.
 *
 * Run: npm run bench:live-source [-- --tickets 1000 --per-ticket 20 --rounds 4 --batches 5000,50000]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createAnalyticsOwner } from '../src/analytics-store/index.ts';
import { appendEvent, EventNames } from '../src/events/index.ts';
import { createOutboxIngest } from '../src/ingest/index.ts';
import { createPostgresDatabase, migrate } from '../src/platform/index.ts';
import { intOption, ROOT, writeResults } from './support/harness.ts';

const { values: flags } = parseArgs({
  options: {
    tickets: { type: 'string' },
    'per-ticket': { type: 'string' },
    rounds: { type: 'string' },
    batches: { type: 'string' },
    'database-url': { type: 'string' },
  },
  strict: true,
});
const options = {
  tickets: intOption(flags.tickets, 1000),
  perTicket: intOption(flags['per-ticket'], 20),
  rounds: intOption(flags.rounds, 4),
  batches: (flags.batches ?? '5000,50000').split(',').map((size) => intOption(size.trim(), 5000)),
  databaseUrl: flags['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
};

const schema = `bench_live_${randomUUID().slice(0, 8)}`;
const admin = createPostgresDatabase({ url: options.databaseUrl, schema: 'public', poolSize: 1 });
await admin.exec(`CREATE SCHEMA ${schema}`);
const db = createPostgresDatabase({ url: options.databaseUrl, schema, poolSize: 8 });
const dir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-live-'));
const owner = createAnalyticsOwner(path.join(dir, 'analytics.duckdb'));
const listingId = 'bench';

try {
  await migrate(db);
  const tickets = Array.from({ length: options.tickets }, () => randomUUID());
  await insertEvents(
    tickets.map((ticketId) => ({
      ticketId,
      name: EventNames.ticketCreated,
      payload: { ref: 'T-1', customerId: randomUUID(), source: { app: 'web', channel: 'chat' } },
    })),
  );
  const job = createOutboxIngest({ db, analytics: owner });
  await job({});

  process.stdout.write(
    `live source: ${options.tickets} tickets × ${options.perTicket} message events per round, ${options.rounds} rounds, batches ${options.batches.join(' / ')}\n`,
  );
  const passes: Array<{ batch: number; events: number; wallMs: number; cpuMs: number; elu: number; cpuUsPerEvent: number; loopUsPerEvent: number }> = [];
  let seq = 0;
  for (let round = 0; round < options.rounds; round++) {
    const batch = options.batches[round % options.batches.length]!;
    const events = [];
    for (let m = 0; m < options.perTicket; m++) {
      seq++;
      for (const ticketId of tickets) {
        events.push({
          ticketId,
          name: EventNames.messageCreated,
          payload: {
            messageId: randomUUID(),
            seq,
            senderRole: seq % 2 === 0 ? 'csr' : 'customer',
            csrId: null,
            kind: 'text',
            channel: 'chat',
            text: `Hi, my order #48${seq}13 has not arrived yet and the tracking page has not changed since Monday. Can you check? Write me at jane${seq}@example.com`,
            content: {},
            attachmentId: null,
            createdAt: new Date().toISOString(),
          },
        });
      }
    }
    await insertEvents(events);
    const eluBefore = performance.eventLoopUtilization();
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const result = await job({ batchSize: batch });
    const wallMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const pass = {
      batch,
      events: result.applied,
      wallMs,
      cpuMs,
      elu: elu.utilization,
      cpuUsPerEvent: (cpuMs * 1000) / result.applied,
      loopUsPerEvent: (elu.active * 1000) / result.applied,
    };
    passes.push(pass);
    process.stdout.write(
      `  batch ${String(batch).padStart(6)}: ${result.applied} events in ${wallMs.toFixed(0)} ms, process CPU ${pass.cpuUsPerEvent.toFixed(1)} µs/event, event loop busy ${pass.loopUsPerEvent.toFixed(1)} µs/event\n`,
    );
  }
  const summary = options.batches.map((batch) => {
    const of = passes.filter((pass) => pass.batch === batch);
    const mean = (pick: (pass: (typeof passes)[number]) => number) => of.reduce((sum, pass) => sum + pick(pass), 0) / of.length;
    return { batch, passes: of.length, cpuUsPerEvent: mean((pass) => pass.cpuUsPerEvent), loopUsPerEvent: mean((pass) => pass.loopUsPerEvent) };
  });
  process.stdout.write('\nmean per event:\n');
  for (const row of summary) process.stdout.write(`  batch ${String(row.batch).padStart(6)}: process CPU ${row.cpuUsPerEvent.toFixed(1)} µs, event loop ${row.loopUsPerEvent.toFixed(1)} µs (${row.passes} passes)\n`);
  const base = summary[0]!;
  for (const row of summary.slice(1)) process.stdout.write(`  batch ${row.batch} ÷ batch ${base.batch}: CPU ${(row.cpuUsPerEvent / base.cpuUsPerEvent).toFixed(2)}×\n`);
  process.stdout.write(
    `\nreproduce: npm run bench:live-source -- --tickets ${options.tickets} --per-ticket ${options.perTicket} --rounds ${options.rounds} --batches ${options.batches.join(',')}\n`,
  );
  await writeResults(path.join(ROOT, 'bench', 'results', 'live-source.json'), { at: new Date().toISOString(), cpus: os.cpus().length, options: { ...options, databaseUrl: undefined }, passes, summary });
} finally {
  await owner.close();
  await db.close();
  await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
  await rm(dir, { recursive: true, force: true });
}

/** Appends events in one transaction per thousand (as committed posts would have). */
async function insertEvents(events: Array<{ ticketId: string; name: (typeof EventNames)[keyof typeof EventNames]; payload: Record<string, unknown> }>) {
  for (let from = 0; from < events.length; from += 1000) {
    await db.transaction(async (tx) => {
      for (const event of events.slice(from, from + 1000)) {
        await appendEvent(tx, { listingId, name: event.name, aggregateType: 'ticket', aggregateId: event.ticketId, payload: event.payload, actor: { role: 'bot' } });
      }
    });
  }
}
