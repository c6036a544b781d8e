import path from 'node:path';
import { createKeyService } from './auth/index.ts';
import { createCsrService } from './csrs/index.ts';
import { createCustomerService } from './customers/index.ts';
import { createListingService } from './listings/index.ts';
import { createLocalAttachmentStorage, createMessageService, type AttachmentStorage } from './messages/index.ts';
import { systemClock, type Clock, type Config, type Database } from './platform/index.ts';
import { createTicketService } from './tickets/index.ts';
import { createChatLinkService } from './chat-links/index.ts';
import { createExpertService } from './experts/index.ts';
import { createIvrService } from './ivr/index.ts';
import { createOutboxSmsSender, createSmsService, type SmsSender } from './sms/index.ts';
import { createAutomatedMessageService } from './automation/index.ts';
import { createCannedService } from './canned/index.ts';
import { createScheduleService } from './schedule/index.ts';
import { createIngestStatusService } from './ingest-status/index.ts';
// The registry alone (not src/models/index.ts): serving processes must not load the trainer's tfjs.
import { createModelRegistry } from './models/registry/index.ts';

export interface CoreDeps {
  db: Database;
  config: Config;
  clock?: Clock;
  storage?: AttachmentStorage;
  /** How SMS go out (IVR chat links); the outbox table when absent. */
  smsSender?: SmsSender;
}

/** Wires the ticket/chat core's services over one database; shared by the api, worker and CLI. */
export function createCoreServices({ db, config, clock = systemClock, storage, smsSender }: CoreDeps) {
  const chatLinks = createChatLinkService({ db, clock });
  const tickets = createTicketService({ db, clock });
  return {
    keys: createKeyService({ db, adminApiKey: config.ADMIN_API_KEY, cacheSeconds: config.API_KEY_CACHE_SECONDS }),
    listings: createListingService({ db }),
    csrs: createCsrService({ db }),
    customers: createCustomerService({ db }),
    tickets,
    messages: createMessageService({
      db,
      storage: storage ?? createLocalAttachmentStorage(path.join(config.dataDir, 'attachments')),
      limits: { maxBytes: config.ATTACHMENT_MAX_BYTES, allowedTypes: config.ATTACHMENT_TYPES },
      writer: { maxInFlight: config.MESSAGE_WRITE_CONCURRENCY },
    }),
    chatLinks,
    sms: createSmsService({ db }),
    ivr: createIvrService({ db, tickets, chatLinks, sms: smsSender ?? createOutboxSmsSender({ db }) }),
    experts: createExpertService({ db }),
    schedule: createScheduleService({ db, clock }),
    automatedMessages: createAutomatedMessageService({ db }),
    canned: createCannedService({ db }),
    // The live analytics source's lag; reads Postgres only, so every api process can answer.
    ingestStatus: createIngestStatusService({ db, clock }),
    models: createModelRegistry({ db }),
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
