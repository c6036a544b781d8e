import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { csvInteractionColumns, csvMessageColumns, formatCsvRow, interactionToCsvRows } from '../../src/ingest/index.ts';
import { generateInteractions, type GenerateOptions } from './generator.ts';

export type OutputFormat = 'jsonl' | 'csv';

export interface WriteOptions extends GenerateOptions {
  out: string;
  format?: OutputFormat;
  /** Called every `every` conversations (default 10,000). */
  onProgress?: (done: { conversations: number; messages: number }) => void;
}

export interface WriteSummary {
  files: string[];
  format: OutputFormat;
  conversations: number;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
}

const FLUSH_CHARS = 1 << 20;

/** A file (gzip when its name ends in .gz) written in ~1 MB pieces, respecting backpressure. */
function openSink(file: string) {
  const fileStream = createWriteStream(file);
  const gzip = file.endsWith('.gz') ? createGzip({ level: 6 }) : undefined;
  if (gzip) gzip.pipe(fileStream);
  const target: Writable = gzip ?? fileStream;
  let buffer = '';
  const flush = async () => {
    if (buffer === '') return;
    const piece = buffer;
    buffer = '';
    if (!target.write(piece)) await once(target, 'drain');
  };
  return {
    async write(text: string) {
      buffer += text;
      if (buffer.length >= FLUSH_CHARS) await flush();
    },
    async close() {
      await flush();
      target.end();
      await once(fileStream, 'finish');
    },
  };
}

/** The interactions table's name beside a messages table: x.csv → x.interactions.csv (.gz kept). */
export function interactionsFileFor(messagesFile: string): string {
  const match = /^(.*?)(\.csv)?(\.gz)?$/i.exec(messagesFile)!;
  return `${match[1]}.interactions.csv${match[3] ?? ''}`;
}

export function formatFromName(file: string): OutputFormat {
  return /\.csv(\.gz)?$/i.test(file) ? 'csv' : 'jsonl';
}

export async function writeGenerated(options: WriteOptions): Promise<WriteSummary> {
  const started = performance.now();
  const format = options.format ?? formatFromName(options.out);
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  const files = format === 'csv' ? [options.out, interactionsFileFor(options.out)] : [options.out];
  const sinks = files.map(openSink);
  const [primary, secondary] = sinks as [ReturnType<typeof openSink>, ReturnType<typeof openSink> | undefined];
  let conversations = 0;
  let messages = 0;
  try {
    if (format === 'csv') {
      await primary.write(`${formatCsvRow(csvMessageColumns)}\n`);
      await secondary!.write(`${formatCsvRow(csvInteractionColumns)}\n`);
    }
    for (const record of generateInteractions(options)) {
      if (format === 'csv') {
        const rows = interactionToCsvRows(record);
        let text = '';
        for (const row of rows.messages) text += `${formatCsvRow(row)}\n`;
        await primary.write(text);
        await secondary!.write(`${formatCsvRow(rows.interaction)}\n`);
      } else {
        await primary.write(`${JSON.stringify(record)}\n`);
      }
      conversations++;
      messages += record.messages.length;
      if (options.onProgress && conversations % 10_000 === 0) options.onProgress({ conversations, messages });
    }
  } finally {
    for (const sink of sinks) await sink.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { files, format, conversations, messages, seconds, messagesPerSecond: Math.round(messages / Math.max(seconds, 1e-6)) };
}
