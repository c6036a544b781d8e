import path from 'node:path';
import { AppError } from '../platform/index.ts';
import { abcdAdapter } from './adapters/abcd.adapter.ts';
import type { Adapter } from './adapters/adapter.ts';
import { csvAdapter } from './adapters/csv.adapter.ts';
import { ibmTwitterAdapter } from './adapters/ibm-twitter.adapter.ts';
import { jsonArrayAdapter, jsonlAdapter } from './adapters/jsonl.adapter.ts';
import { ussAdapter } from './adapters/uss.adapter.ts';
import { FormatProblem } from './readers.ts';

export const ingestFormats = ['jsonl', 'json', 'csv', 'parquet', 'uss', 'ibm-twitter', 'abcd'] as const;
export type IngestFormat = (typeof ingestFormats)[number];

export const adapters: Record<IngestFormat, { adapter: Adapter; seekable: boolean }> = {
  jsonl: { adapter: jsonlAdapter, seekable: true },
  json: { adapter: jsonArrayAdapter(), seekable: false },
  // Not seekable: a resumed read re-reads the header (and the interactions table) and skips.
  csv: { adapter: csvAdapter, seekable: false },
  // Read by DuckDB (read_parquet) on the SQL path only; this adapter is never reached.
  parquet: { adapter: parquetAdapter, seekable: false },
  uss: { adapter: ussAdapter, seekable: true },
  'ibm-twitter': { adapter: ibmTwitterAdapter, seekable: false },
  abcd: { adapter: abcdAdapter, seekable: false },
};

/** Formats named on the command line that are planned but not implemented yet. */
const later: Record<string, string> = {};

function parquetAdapter(): AsyncGenerator<never> {
  throw new FormatProblem('Parquet is read by the SQL engine only');
}

export function checkFormatName(name: string): IngestFormat {
  if ((ingestFormats as readonly string[]).includes(name)) return name as IngestFormat;
  if (later[name]) throw new AppError('validation_failed', later[name]);
  throw new AppError('validation_failed', `unknown format "${name}"; use one of ${ingestFormats.join(', ')}`);
}

/** The file name without directories and compression/format extensions, as an id prefix. */
export function stemOf(sourceName: string): string {
  const base = path.basename(sourceName).replace(/\.gz$/i, '').replace(/\.[a-z0-9]{1,8}$/i, '');
  return (
    base
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'input'
  );
}

/**
 * The format from the extension where it is specific (.jsonl, .ndjson), otherwise from the first
 * bytes: a JSON array whose first element has `dialogHeader` is IBM Twitter, `convo_id` ABCD,
 * anything else canonical records; `{` starts JSONL; `USER\t`/`SYSTEM\t` is USS. Returns
 * undefined for empty (or blank) input, whatever its name, and throws when nothing fits.
 */
export function detectFormat(sourceName: string, head: Buffer): IngestFormat | undefined {
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const start = text.trimStart();
  if (start === '') return undefined;
  const extension = path.extname(sourceName.replace(/\.gz$/i, '')).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.csv') return checkFormatName('csv');
  if (extension === '.parquet' || text.startsWith('PAR1')) return 'parquet';
  if (start.startsWith('[')) {
    if (/"dialogHeader"\s*:/.test(text)) return 'ibm-twitter';
    if (/"convo_id"\s*:/.test(text)) return 'abcd';
    return 'json';
  }
  if (start.startsWith('{')) return 'jsonl';
  if (/^(USER|SYSTEM)\t/.test(start)) return 'uss';
  throw new AppError('validation_failed', `cannot tell the format of ${sourceName}; pass --format (${ingestFormats.join(', ')})`);
}
