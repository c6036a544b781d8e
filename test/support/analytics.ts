import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrateAnalytics, openAnalyticsDb, type AnalyticsDb } from '../../src/analytics-store/index.ts';
import { createIngestService, type IngestOptions, type IngestSummary } from '../../src/ingest/index.ts';
import { newId, systemClock } from '../../src/platform/index.ts';

/** The shared real datasets, by path from the repository root (never copied into git). */
export const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
export const MWOZ = path.join(DATA, 'uss/MWOZ.txt');
export const SGD = path.join(DATA, 'uss/SGD.txt');
export const IBM_DEV = path.join(DATA, 'ibm-twitter/dev.json');
export const ABCD_SAMPLE = path.join(DATA, 'abcd-sample/abcd_sample.json');

export interface AnalyticsFixture {
  dir: string;
  file: string;
  db: AnalyticsDb;
  ingest(options: Omit<IngestOptions, 'listingId' | 'redact'> & Partial<Pick<IngestOptions, 'listingId' | 'redact'>>): Promise<IngestSummary>;
  /** Closes and reopens the file (as a new process would). */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh DuckDB file in a temp dir, migrated. */
export async function createAnalyticsFixture(): Promise<AnalyticsFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loopwise-analytics-'));
  const file = path.join(dir, 'analytics.duckdb');
  const fixture: AnalyticsFixture = {
    dir,
    file,
    db: await openAnalyticsDb(file),
    ingest: (options) =>
      createIngestService({ db: fixture.db, clock: systemClock, newId }).ingest({ listingId: 'acme', redact: true, ...options }),
    async reopen() {
      fixture.db.close();
      fixture.db = await openAnalyticsDb(file);
    },
    async close() {
      fixture.db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await migrateAnalytics(fixture.db);
  return fixture;
}

/**
 * Every row of the data tables, minus the columns that record when and by which run a row was
 * written: two ways of reaching the same state compare equal.
 */
export async function dumpTables(db: AnalyticsDb): Promise<Record<string, string>> {
  const queries: Record<string, string> = {
    interactions: 'SELECT * EXCLUDE (run_id, ingested_at) FROM interactions ORDER BY listing_id, id',
    messages: 'SELECT * FROM messages ORDER BY listing_id, interaction_id, seq',
    labels: 'SELECT * FROM labels ORDER BY ALL',
    events: 'SELECT * FROM interaction_events ORDER BY listing_id, interaction_id, position',
    quarantine: 'SELECT * EXCLUDE (run_id, quarantined_at) FROM quarantine ORDER BY listing_id, source, record_index',
  };
  const dump: Record<string, string> = {};
  for (const [name, sql] of Object.entries(queries)) {
    const reader = await db.connection.runAndReadAll(sql);
    dump[name] = JSON.stringify(reader.getRowsJson());
  }
  return dump;
}

/** The first `dialogues` dialogues of a USS file, written into `dir` (smaller, faster tests). */
export async function ussSlice(source: string, dir: string, dialogues: number): Promise<string> {
  const text = await readFile(source, 'utf8');
  const parts = text.split(/\n\s*\n/).slice(0, dialogues);
  const target = path.join(dir, `${path.basename(source, '.txt').toLowerCase()}-${dialogues}.txt`);
  await writeFile(target, `${parts.join('\n\n')}\n`);
  return target;
}
