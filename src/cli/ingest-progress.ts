import path from 'node:path';
import type { IngestProgress } from '../ingest/index.ts';

/**
 * Ingest progress on stderr: on a terminal, one redrawn line with a bar, rate and ETA (by bytes
 * read, so gzip inputs estimate right); otherwise a plain line every few seconds, which log
 * collectors and CI keep readable. stdout stays free for the summary (and `--json`).
 */
export interface ProgressReporter {
  update(progress: IngestProgress): void;
  done(): void;
}

export function createProgressReporter(
  stream: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number },
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressReporter {
  const tty = Boolean(stream.isTTY);
  const interval = options.intervalMs ?? (tty ? 100 : 5000);
  const now = options.now ?? Date.now;
  // Quick runs print nothing; the first plain line comes after one interval.
  let last = tty ? 0 : now();
  let drawn = false;
  const render = (progress: IngestProgress): string => {
    const seconds = progress.elapsedMs / 1000;
    const rate = seconds > 0 ? progress.records / seconds : 0;
    const name = `${path.basename(progress.source)}${progress.sourceCount > 1 ? ` (${progress.sourceNumber}/${progress.sourceCount})` : ''}`;
    const counts = `${progress.records.toLocaleString('en-US')} records${progress.quarantined ? `, ${progress.quarantined.toLocaleString('en-US')} quarantined` : ''}, ${Math.round(rate).toLocaleString('en-US')}/s`;
    if (!progress.totalBytes) return `${name}: ${counts}, ${formatBytes(progress.bytesRead)} read`;
    const fraction = Math.min(1, progress.bytesRead / progress.totalBytes);
    const eta = fraction > 0 && fraction < 1 ? formatDuration((seconds / fraction) * (1 - fraction)) : fraction >= 1 ? '0s' : '?';
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    if (!tty) return `${name}: ${percent}, ${counts}, ETA ${eta}`;
    const width = 24;
    const filled = Math.round(fraction * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent} ${name}: ${counts}, ETA ${eta}`;
  };
  return {
    update(progress) {
      const time = now();
      if (time - last < interval) return;
      last = time;
      const line = render(progress);
      if (tty) {
        const columns = stream.columns ?? 120;
        stream.write(`\r\u001b[2K${line.slice(0, columns - 1)}`);
        drawn = true;
      } else {
        stream.write(`ingest: ${line}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function formatDuration(seconds: number): string {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
