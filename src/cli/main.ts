import { Command, InvalidArgumentError, Option } from 'commander';
import { ZodError } from 'zod';
import { roles, type Role } from '../auth/index.ts';
import { createCsrBody } from '../csrs/index.ts';
import { createListingBody } from '../listings/index.ts';
import { AppError, ConfigError, createLogger, loadConfigFromEnv, migrate, openDatabase } from '../platform/index.ts';
import { createCoreServices } from '../core.ts';
import { directAdminClient, RemoteProblem, runningEmbeddedServer, serverAdminClient, type AdminClient } from './admin-client.ts';
import { registerIngestCommands } from './ingest.command.ts';
import { registerExportCommands } from './export.command.ts';
import { registerFeaturesCommands } from './features.command.ts';
import { registerSuggestCommands } from './suggest.command.ts';
import { registerModelCommands } from './models.command.ts';

/**
 * `npx loopwise …`: administration of the ticket core (and, as they land, ingest, train, score…).
 * Human-readable output by default, `--json` for scripts. Exit codes: 0 ok, 1 refused, 2 usage.
 */
const positiveInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
};

async function withAdmin<T>(work: (client: AdminClient) => Promise<T>): Promise<T> {
  const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
  const server = await runningEmbeddedServer(config);
  if (server) return work(await serverAdminClient(config, server));
  const db = await openDatabase(config, 'loopwise-cli');
  try {
    await migrate(db);
    return await work(directAdminClient(createCoreServices({ db, config })));
  } finally {
    await db.close();
  }
}

function print(json: boolean, value: unknown, human: () => string) {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function buildCli(): Command {
  const program = new Command('loopwise')
    .description('Loopwise: conversation intelligence for customer service')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });

  program
    .command('migrate')
    .description('apply pending database migrations (the server also does this at start)')
    .action(async () => {
      const config = loadConfigFromEnv();
      const db = await openDatabase(config, 'loopwise-cli');
      try {
        const applied = await migrate(db);
        process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await db.close();
      }
    });

  const listings = program.command('listings').description('tenants (enterprises)');
  listings
    .command('create')
    .description('create a listing')
    .requiredOption('--id <id>', 'listing id: lower-case letters, digits, - and _')
    .requiredOption('--name <name>', 'display name')
    .option('--ref-prefix <prefix>', 'ticket reference prefix (A-Z, 0-9)')
    .option('--timezone <zone>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--json', 'print JSON')
    .action(async (options: { id: string; name: string; refPrefix?: string; timezone?: string; json?: boolean }) => {
      const input = createListingBody.parse({
        id: options.id,
        name: options.name,
        ...(options.refPrefix ? { refPrefix: options.refPrefix } : {}),
        ...(options.timezone ? { timezone: options.timezone } : {}),
      });
      const listing = await withAdmin((client) => client.createListing(input));
      print(Boolean(options.json), listing, () => `created listing ${listing.id} (${listing.name}), tickets numbered ${listing.refPrefix}-000001…`);
    });
  listings
    .command('list')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const items = await withAdmin((client) => client.listListings());
      print(Boolean(options.json), items, () => items.map((l) => `${l.id}\t${l.refPrefix}\t${l.timezone}\t${l.name}`).join('\n') || '(no listings)');
    });

  const csrs = program.command('csrs').description('customer-service representatives');
  csrs
    .command('create')
    .requiredOption('--listing <id>', 'listing id')
    .requiredOption('--name <name>', 'display name')
    .option('--email <email>')
    .option('--external-id <id>')
    .option('--capacity <n>', 'maximum concurrent tickets', positiveInt)
    .option('--skills <list>', 'comma-separated skill tags')
    .addOption(new Option('--presence <presence>').choices(['online', 'away', 'offline']))
    .option('--json', 'print JSON')
    .action(async (options: { listing: string; name: string; email?: string; externalId?: string; capacity?: number; skills?: string; presence?: 'online' | 'away' | 'offline'; json?: boolean }) => {
      const input = createCsrBody.parse({
        name: options.name,
        ...(options.email ? { email: options.email } : {}),
        ...(options.externalId ? { externalId: options.externalId } : {}),
        ...(options.capacity ? { capacity: options.capacity } : {}),
        ...(options.skills ? { skills: options.skills.split(',').map((skill) => skill.trim()).filter(Boolean) } : {}),
        ...(options.presence ? { presence: options.presence } : {}),
      });
      const csr = await withAdmin((client) => client.createCsr(options.listing, input));
      print(Boolean(options.json), csr, () => `created CSR ${csr.id} (${csr.name}) in ${csr.listingId}, capacity ${csr.capacity}`);
    });
  csrs
    .command('list')
    .requiredOption('--listing <id>', 'listing id')
    .option('--json', 'print JSON')
    .action(async (options: { listing: string; json?: boolean }) => {
      const items = await withAdmin((client) => client.listCsrs(options.listing));
      print(Boolean(options.json), items, () => items.map((c) => `${c.id}\t${c.presence}\t${c.activeTickets}/${c.capacity}\t${c.name}`).join('\n') || '(no CSRs)');
    });

  const keys = program.command('keys').description('API keys (stored hashed; the key is shown once)');
  keys
    .command('create')
    .option('--listing <id>', 'listing id (every role but admin)')
    .addOption(new Option('--role <role>', 'key role').choices([...roles]).makeOptionMandatory())
    .option('--csr <id>', 'csr keys: the CSR the key acts as')
    .option('--name <name>', 'a label')
    .option('--rate-limit <n>', 'requests per minute for this key', positiveInt)
    .option('--json', 'print JSON')
    .action(async (options: { listing?: string; role: Role; csr?: string; name?: string; rateLimit?: number; json?: boolean }) => {
      if (options.role !== 'admin' && !options.listing) throw new AppError('validation_failed', `--listing is required for ${options.role} keys`);
      const created = await withAdmin((client) =>
        client.createKey({
          listingId: options.role === 'admin' ? null : options.listing!,
          role: options.role,
          csrId: options.csr ?? null,
          name: options.name ?? '',
          rateLimitPerMinute: options.rateLimit ?? null,
        }),
      );
      print(Boolean(options.json), created, () => `created ${created.key.role} key ${created.key.id}${created.key.listingId ? ` for ${created.key.listingId}` : ''}\n\n  ${created.token}\n\nStore it now: it is not shown again.`);
    });
  keys
    .command('list')
    .option('--listing <id>', 'only this listing')
    .option('--json', 'print JSON')
    .action(async (options: { listing?: string; json?: boolean }) => {
      const items = await withAdmin((client) => client.listKeys(options.listing));
      print(Boolean(options.json), items, () =>
        items.map((k) => `${k.id}\t${k.role}\t${k.listingId ?? '*'}\t${k.revokedAt ? 'revoked' : 'active'}\t${k.name}`).join('\n') || '(no keys)',
      );
    });
  keys
    .command('revoke')
    .argument('<id>', 'key id (the 16 hex characters after lw_)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const revoked = await withAdmin((client) => client.revokeKey(id));
      print(Boolean(options.json), revoked, () => `revoked key ${revoked.id}`);
    });

  registerIngestCommands(program);
  registerExportCommands(program);
  registerFeaturesCommands(program);
  registerSuggestCommands(program);
  registerModelCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else if (error instanceof ZodError) process.stderr.write(`invalid input:\n${error.issues.map((issue) => `  ${issue.path.join('.') || '(input)'}: ${issue.message}`).join('\n')}\n`);
    else if (error instanceof AppError || error instanceof RemoteProblem) process.stderr.write(`error (${error.code}): ${error.message}\n`);
    else {
      createLogger({ LOG_LEVEL: 'error' }).error({ err: error }, 'command failed');
      return 1;
    }
    return error instanceof ZodError || (error instanceof AppError && error.code === 'validation_failed') ? 2 : 1;
  }
}
