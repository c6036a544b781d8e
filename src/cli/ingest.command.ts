import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { analyticsDbPath, migrateAnalytics, openAnalyticsDb, type AnalyticsDb } from '../analytics-store/index.ts';
import {
  checkFormatName,
  createIngestService,
  ingestFormats,
  listQuarantine,
  quarantineReasons,
  type IngestSummary,
} from '../ingest/index.ts';
import { listingIdSchema } from '../listings/index.ts';
import { AppError, loadConfigFromEnv, newId, systemClock, type Config } from '../platform/index.ts';
import { runningAnalyticsOwner, serverIngest } from './admin-client.ts';
import { createProgressReporter } from './ingest-progress.ts';

/**
 * `loopwise ingest` and `loopwise quarantine`: the analytics store's commands. They open the
 * DuckDB file directly; DuckDB admits one process per file, so while another process holds it
 * they stop at once with a message naming that process (exit 1) rather than wait or crash.
 */

const positiveInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
};

async function withAnalytics<T>(config: Config, mode: 'write' | 'read', work: (db: AnalyticsDb) => Promise<T>): Promise<T> {
  const db = await openAnalyticsDb(analyticsDbPath(config), { readOnly: mode === 'read' });
  try {
    if (mode === 'write') await migrateAnalytics(db);
    return await work(db);
  } finally {
    db.close();
  }
}

function printSummary(summary: IngestSummary): string {
  const lines = [
    `${summary.status === 'completed' ? 'ingested' : 'INTERRUPTED while ingesting'} into listing ${summary.listingId} (run ${summary.runId}), redaction ${summary.redact ? 'on' : 'OFF'}`,
  ];
  for (const source of summary.sources) {
    const resumed = source.resumedAfter > 0 ? `, resumed after record ${source.resumedAfter}` : '';
    lines.push(
      source.status === 'empty'
        ? `  ${source.source}: empty, nothing to ingest`
        : `  ${source.source} (${source.format}, ${source.engine === 'sql' ? `SQL engine, ${source.checkedInJs} records checked in JS` : 'JS engine'}${resumed}): ${source.records} records: ${source.accepted} new, ${source.updated} updated, ${source.unchanged} unchanged, ${source.quarantined} quarantined; ${source.messages} messages written; ${source.seconds.toFixed(1)} s`,
    );
  }
  lines.push(
    `total: ${summary.records} records: ${summary.accepted} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.quarantined} quarantined; ${summary.messages} messages in ${summary.seconds.toFixed(1)} s (${summary.messagesPerSecond.toLocaleString('en-US')} messages/s)`,
  );
  const redactions = { email: 0, phone: 0, card: 0, account: 0 };
  const reasons: Record<string, number> = {};
  for (const source of summary.sources) {
    for (const kind of Object.keys(redactions) as Array<keyof typeof redactions>) redactions[kind] += source.redactions[kind];
    for (const [reason, count] of Object.entries(source.reasons)) reasons[reason] = (reasons[reason] ?? 0) + (count ?? 0);
  }
  if (summary.redact) lines.push(`redacted: ${redactions.email} e-mail, ${redactions.phone} phone, ${redactions.card} card, ${redactions.account} account numbers`);
  if (summary.quarantined > 0) {
    lines.push(`quarantined by reason: ${Object.entries(reasons).map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
    lines.push(`  see: loopwise quarantine list --listing ${summary.listingId}`);
  }
  return lines.join('\n');
}

export function registerIngestCommands(program: Command): void {
  program
    .command('ingest')
    .description('load interaction records into the analytics store (DuckDB), validated, redacted and quarantined')
    .argument('<paths...>', 'input files (.gz accepted); - reads stdin')
    .requiredOption('--listing <id>', 'listing (tenant) the records belong to')
    .addOption(new Option('--format <format>', 'input format (default: inferred from the extension or content)').choices([...ingestFormats]))
    .option('--interactions <file>', 'CSV or Parquet: the interactions table joined by id to the messages table given as the path')
    .option('--no-redact', 'store raw text (only for listings in INGEST_RAW_TEXT_LISTINGS)')
    .option('--id-prefix <prefix>', 'prefix for ids derived from file names (uss); default the file name')
    .option('--batch-size <n>', 'interactions per transaction (default 1,000; 10,000 on the SQL path)', positiveInt)
    .addOption(new Option('--engine <engine>', 'sql: the SQL fast path where it applies (default); js: record by record').choices(['sql', 'js']))
    .option('--max-record-bytes <n>', 'larger records are quarantined as oversize', positiveInt, 16 * 1024 * 1024)
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Formats: jsonl (canonical, schemas/interaction.schema.json), json (an array of canonical records),
uss (user-satisfaction dialogues), ibm-twitter, abcd, csv, parquet (the CSV tables' columns,
typed or not; read by DuckDB).

Engines: canonical JSONL, CSV and Parquet files are loaded by the SQL engine (DuckDB parses,
validates and redacts whole chunks; records its rules do not accept are checked by the JS path
one by one, so the tables are the same); the other formats, stdin CSV and --engine js use the
JS path record by record.

CSV: a messages table (one row per message; columns interaction_id, seq, role, kind, channel, ts,
text, transcript, message_id, csr_id, attachment, labels, meta) and optionally an interactions
table (id, customer_id, csr_ids, external_ids, brand, queue, source_channel, source_app,
created_at, first_assigned_at, first_csr_reply_at, ended_at, status, resolved, abandoned,
satisfaction, converted, conversion, labels, events), joined by id:
  loopwise ingest messages.csv --interactions interactions.csv --listing acme
Rows of one interaction must be contiguous in the messages table; a malformed row quarantines its
whole interaction. Quoting is RFC 4180; nested values (attachment, labels, meta, events) are JSON.

Re-running is safe: unchanged records are left alone, a record with a known id replaces its earlier
version, and a run that was killed resumes after its last committed batch. Rejected records go to
the quarantine with their reason: loopwise quarantine list --listing <id>.

The analytics database (ANALYTICS_DB_PATH, default DATA_DIR/analytics.duckdb) can be open in one
process at a time; while another holds it, this command stops with a message naming it.`,
    )
    .action(
      async (
        paths: string[],
        options: {
          listing: string;
          format?: string;
          interactions?: string;
          redact: boolean;
          idPrefix?: string;
          batchSize?: number;
          engine?: 'sql' | 'js';
          maxRecordBytes: number;
          quiet?: boolean;
          json?: boolean;
        },
      ) => {
        const config = loadConfigFromEnv();
        const listingId = listingIdSchema.parse(options.listing);
        const format = options.format ? checkFormatName(options.format) : undefined;
        if (!options.redact && !config.INGEST_RAW_TEXT_LISTINGS.includes(listingId)) {
          throw new AppError(
            'forbidden',
            `listing ${listingId} does not allow raw text: redaction stays on unless the listing is in INGEST_RAW_TEXT_LISTINGS`,
          );
        }
        // A running server (no REDIS_URL) owns the analytics database: hand the files to it.
        const server = await runningAnalyticsOwner(config);
        if (server) {
          if (paths.includes('-') || options.interactions === '-') {
            throw new AppError('validation_failed', `a server is running at ${server} and holds the analytics database; it reads files, not this terminal's stdin: save the input to a file and give its path`);
          }
          process.stderr.write(`a Loopwise server is running at ${server} and holds the analytics database: ingesting through it\n`);
          const controller = new AbortController();
          const onSignal = () => {
            process.stderr.write('\ninterrupted: the server stops after its current batch; run the same command again to resume\n');
            controller.abort();
          };
          process.once('SIGINT', onSignal);
          try {
            const summary = await serverIngest<IngestSummary>(
              config,
              server,
              {
                listingId,
                paths: paths.map((file) => path.resolve(file)),
                redact: options.redact,
                ...(options.batchSize ? { batchSize: options.batchSize } : {}),
                ...(options.engine ? { engine: options.engine } : {}),
                maxRecordBytes: options.maxRecordBytes,
                ...(format ? { format } : {}),
                ...(options.interactions ? { interactions: path.resolve(options.interactions) } : {}),
                ...(options.idPrefix ? { idPrefix: options.idPrefix } : {}),
              },
              controller.signal,
            );
            process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${printSummary(summary)}\n`);
            if (summary.status === 'interrupted') throw new AppError('unavailable', 'the ingest was interrupted; run the same command again to resume');
            return;
          } finally {
            process.removeListener('SIGINT', onSignal);
          }
        }
        const reporter = options.quiet ? undefined : createProgressReporter(process.stderr);
        const controller = new AbortController();
        // First Ctrl-C: finish the current batch and stop (resumable). Second: the default, exit.
        const onSignal = () => {
          process.stderr.write('\ninterrupted: finishing the current batch (Ctrl-C again to stop at once)\n');
          controller.abort();
        };
        process.once('SIGINT', onSignal);
        try {
          const summary = await withAnalytics(config, 'write', (db) =>
            createIngestService({ db, clock: systemClock, newId }).ingest({
              listingId,
              paths,
              ...(format ? { format } : {}),
              ...(options.interactions ? { interactions: options.interactions } : {}),
              redact: options.redact,
              ...(options.batchSize ? { batchSize: options.batchSize } : {}),
              ...(options.engine ? { engine: options.engine } : {}),
              maxRecordBytes: options.maxRecordBytes,
              ...(options.idPrefix ? { idPrefix: options.idPrefix } : {}),
              signal: controller.signal,
              ...(reporter ? { onProgress: (progress) => reporter.update(progress) } : {}),
            }),
          );
          reporter?.done();
          process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${printSummary(summary)}\n`);
          if (summary.status === 'interrupted') {
            throw new AppError('unavailable', 'the ingest was interrupted; run the same command again to resume');
          }
        } finally {
          reporter?.done();
          process.removeListener('SIGINT', onSignal);
        }
      },
    );

  const quarantine = program.command('quarantine').description('records rejected at ingest, with their reasons');
  quarantine
    .command('list')
    .description('show quarantined records')
    .requiredOption('--listing <id>', 'listing id')
    .option('--source <path>', 'only this source (absolute path, or stdin)')
    .addOption(new Option('--reason <reason>', 'only this reason').choices([...quarantineReasons]))
    .option('--limit <n>', 'at most this many rows', positiveInt, 50)
    .option('--json', 'print JSON')
    .action(async (options: { listing: string; source?: string; reason?: string; limit: number; json?: boolean }) => {
      const config = loadConfigFromEnv();
      const listingId = listingIdSchema.parse(options.listing);
      const rows = await withAnalytics(config, 'read', (db) =>
        listQuarantine(db, { listingId, limit: options.limit, ...(options.source ? { source: options.source } : {}), ...(options.reason ? { reason: options.reason } : {}) }),
      );
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('(nothing quarantined)\n');
        return;
      }
      for (const row of rows) {
        const where = [`record ${row.recordIndex}`, row.line !== null ? `line ${row.line}` : '', row.byteOffset !== null ? `byte ${row.byteOffset}` : ''].filter(Boolean).join(', ');
        process.stdout.write(`${row.source} (${where}): ${row.reason}: ${row.detail}\n    ${row.excerpt.replace(/\s+/g, ' ').slice(0, 160)}\n`);
      }
    });
  quarantine
    .command('export')
    .description('write quarantined records as JSONL (one row per line, with the excerpt)')
    .requiredOption('--listing <id>', 'listing id')
    .option('--source <path>', 'only this source')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (options: { listing: string; source?: string; out?: string }) => {
      const config = loadConfigFromEnv();
      const listingId = listingIdSchema.parse(options.listing);
      const output = options.out ? createWriteStream(options.out) : process.stdout;
      let count = 0;
      await withAnalytics(config, 'read', async (db) => {
        const page = 10_000;
        for (let offset = 0; ; offset += page) {
          const rows = await listQuarantine(db, { listingId, limit: page, offset, ...(options.source ? { source: options.source } : {}) });
          for (const row of rows) {
            if (!output.write(`${JSON.stringify(row)}\n`)) await once(output, 'drain');
          }
          count += rows.length;
          if (rows.length < page) break;
        }
      });
      if (options.out) {
        output.end();
        await once(output, 'finish');
        process.stderr.write(`wrote ${count} quarantined records to ${options.out}\n`);
      }
    });
}
