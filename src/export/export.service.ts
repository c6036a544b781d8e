import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { RecordBatchFileWriter } from 'apache-arrow';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { AppError } from '../platform/index.ts';
import { createArrowBatcher } from './arrow-batches.ts';

/**
 * `loopwise export`: one listing's rows of one analytics table to a file for notebooks and other
 * tools. Parquet is written by DuckDB itself (COPY … TO, zstd); Arrow IPC (the file format, as
 * `pyarrow.ipc.open_file` / `tableFromIPC` read it) is built from DuckDB's result chunks in
 * record batches of about 64k rows, streamed to disk. Rows come in a stable order, so two
 * exports of the same data are identical. A file is written under a temporary name and renamed
 * when complete: a failed export never leaves a half-written file behind.
 */

export const exportTables = ['interactions', 'messages', 'labels', 'events'] as const;
export type ExportTable = (typeof exportTables)[number];
export const exportFormats = ['parquet', 'arrow'] as const;
export type ExportFormat = (typeof exportFormats)[number];

const queries: Record<ExportTable, string> = {
  interactions: 'SELECT * FROM interactions WHERE listing_id = $1 ORDER BY id',
  messages: 'SELECT * FROM messages WHERE listing_id = $1 ORDER BY interaction_id, seq',
  labels: 'SELECT * FROM labels WHERE listing_id = $1 ORDER BY interaction_id, kind, seq NULLS FIRST, name',
  events: 'SELECT * FROM interaction_events WHERE listing_id = $1 ORDER BY interaction_id, position',
};

const BATCH_ROWS = 65_536;

export interface ExportOptions {
  listingId: string;
  table: ExportTable;
  to: string;
  /** Default: from the extension (.parquet; .arrow, .feather, .ipc). */
  format?: ExportFormat;
}

export interface ExportSummary {
  listingId: string;
  table: ExportTable;
  format: ExportFormat;
  file: string;
  rows: number;
  seconds: number;
}

export function exportFormatOf(file: string): ExportFormat {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.parquet') return 'parquet';
  if (extension === '.arrow' || extension === '.feather' || extension === '.ipc') return 'arrow';
  throw new AppError('validation_failed', `cannot tell the export format of ${file}: use a .parquet or .arrow file name, or --format`);
}

export async function exportTable(db: AnalyticsDb, options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const format = options.format ?? exportFormatOf(options.to);
  const file = path.resolve(options.to);
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  let rows: number;
  try {
    rows = format === 'parquet' ? await writeParquet(db, options, partial) : await writeArrow(db, options, partial);
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { listingId: options.listingId, table: options.table, format, file, rows, seconds: (performance.now() - started) / 1000 };
}

async function writeParquet(db: AnalyticsDb, options: ExportOptions, file: string): Promise<number> {
  // COPY takes the query's parameters but not the file name as one; quote it as a literal.
  const target = `'${file.replaceAll("'", "''")}'`;
  const reader = await db.connection.runAndReadAll(`COPY (${queries[options.table]}) TO ${target} (FORMAT parquet, COMPRESSION zstd)`, [options.listingId]);
  const [row] = reader.getRows();
  return Number(row?.[0] ?? 0);
}

async function writeArrow(db: AnalyticsDb, options: ExportOptions, file: string): Promise<number> {
  const result = await db.connection.stream(queries[options.table], [options.listingId]);
  const batcher = createArrowBatcher(result.columnNames(), result.columnTypes());
  const writer = new RecordBatchFileWriter();
  const sink = createWriteStream(file);
  // The writer's bytes go to the file as they are produced; the producer waits on a full sink.
  const drained = (async () => {
    for await (const bytes of writer) {
      if (!sink.write(bytes)) await once(sink, 'drain');
    }
    sink.end();
    await once(sink, 'finish');
  })();
  let rows = 0;
  try {
    writer.reset(undefined, batcher.schema);
    let pending: DuckDBDataChunk[] = [];
    let pendingRows = 0;
    const flush = async () => {
      if (pendingRows === 0) return;
      writer.write(batcher.batch(pending));
      rows += pendingRows;
      pending = [];
      pendingRows = 0;
      await new Promise((resolve) => setImmediate(resolve));
      if (sink.writableNeedDrain) await once(sink, 'drain');
    };
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      pending.push(chunk);
      pendingRows += chunk.rowCount;
      if (pendingRows >= BATCH_ROWS) await flush();
    }
    await flush();
  } finally {
    writer.finish();
    await drained;
  }
  return rows;
}
