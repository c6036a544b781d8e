import { Option, type Command } from 'commander';
import { analyticsDbPath, openAnalyticsDb } from '../analytics-store/index.ts';
import { exportFormats, exportTable, exportTables, type ExportFormat, type ExportTable } from '../export/index.ts';
import { listingIdSchema } from '../listings/index.ts';
import { loadConfigFromEnv } from '../platform/index.ts';

/**
 * `loopwise export --listing L --to FILE.parquet|FILE.arrow [--table …]`: one listing's rows of an
 * analytics table for notebooks (pandas/polars/pyarrow read both). Opens the DuckDB file
 * read-only; like ingest, it stops at once while another process holds the file.
 */
export function registerExportCommands(program: Command): void {
  program
    .command('export')
    .description('write one listing\'s analytics rows to Parquet or Arrow IPC')
    .requiredOption('--listing <id>', 'listing (tenant) to export')
    .requiredOption('--to <file>', 'output file: .parquet (Parquet, zstd) or .arrow (Arrow IPC file)')
    .addOption(new Option('--table <table>', 'which table').choices([...exportTables]).default('interactions'))
    .addOption(new Option('--format <format>', 'output format (default: from the file name)').choices([...exportFormats]))
    .option('--json', 'print the summary as JSON')
    .action(async (options: { listing: string; to: string; table: ExportTable; format?: ExportFormat; json?: boolean }) => {
      const config = loadConfigFromEnv();
      const listingId = listingIdSchema.parse(options.listing);
      const db = await openAnalyticsDb(analyticsDbPath(config), { readOnly: true });
      try {
        const summary = await exportTable(db, { listingId, table: options.table, to: options.to, ...(options.format ? { format: options.format } : {}) });
        process.stdout.write(
          options.json
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `exported ${summary.rows.toLocaleString('en-US')} ${summary.table} rows of listing ${listingId} to ${summary.file} (${summary.format}) in ${summary.seconds.toFixed(1)} s\n`,
        );
      } finally {
        db.close();
      }
    });
}
