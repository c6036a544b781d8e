import { parseArgs } from 'node:util';
import { writeGenerated, type OutputFormat } from './write.ts';

/**
 * `npm run generate -- --listing acme --conversations 100000 --seed 7 --out /tmp/gen.jsonl.gz`
 * Writes synthetic interaction records with planted effects (see README.md); prints a JSON
 * summary (files, counts, messages/s) on stdout and progress on stderr.
 */

const usage = `usage: npm run generate -- --conversations N --seed S --out FILE.jsonl[.gz]|FILE.csv[.gz]
                         [--listing L] [--format jsonl|csv] [--start ISO-DATE] [--days D] [--quiet]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

function integer(name: string, value: string | undefined, min: number): number {
  const parsed = Number(value);
  if (value === undefined || !Number.isInteger(parsed) || parsed < min) fail(`--${name} must be an integer ≥ ${min}`);
  return parsed;
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        listing: { type: 'string' },
        conversations: { type: 'string' },
        seed: { type: 'string', default: '1' },
        out: { type: 'string' },
        format: { type: 'string' },
        start: { type: 'string' },
        days: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (!values.out) fail('--out is required');
  if (values.format !== undefined && values.format !== 'jsonl' && values.format !== 'csv') fail('--format must be jsonl or csv');
  if (values.start !== undefined && Number.isNaN(Date.parse(values.start))) fail('--start must be an ISO date');
  const conversations = integer('conversations', values.conversations, 1);
  const seed = integer('seed', values.seed, 0);
  const quiet = values.quiet;
  const summary = await writeGenerated({
    out: values.out,
    conversations,
    seed,
    // The listing names the id prefix, so two listings' generated ids never collide.
    ...(values.listing ? { idPrefix: `${values.listing}-s${seed}` } : {}),
    ...(values.format ? { format: values.format as OutputFormat } : {}),
    ...(values.start ? { start: values.start } : {}),
    ...(values.days ? { days: integer('days', values.days, 1) } : {}),
    onProgress: quiet ? undefined : ({ conversations: done, messages }) => process.stderr.write(`generate: ${done.toLocaleString('en-US')} conversations, ${messages.toLocaleString('en-US')} messages\n`),
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (!quiet) {
    const [messagesFile, interactionsFile] = summary.files;
    const listing = values.listing ?? '<listing>';
    const ingest =
      summary.format === 'csv'
        ? `npx loopwise ingest ${messagesFile} --interactions ${interactionsFile} --listing ${listing}`
        : `npx loopwise ingest ${messagesFile} --listing ${listing}`;
    process.stderr.write(`load it with: ${ingest}\n`);
  }
}

await main();
