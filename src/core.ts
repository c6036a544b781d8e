import path from 'node:path';
import { createKeyService } from './auth/index.ts';
import { createCsrService } from './csrs/index.ts';
import { createCustomerService } from './customers/index.ts';
import { createListingService } from './listings/index.ts';
import { createLocalAttachmentStorage, createMessageService, type AttachmentStorage } from './messages/index.ts';
import { systemClock, type Clock, type Config, type Database } from './platform/index.ts';
import { createTicketService } from './tickets/index.ts';

export interface CoreDeps {
  db: Database;
  config: Config;
  clock?: Clock;
  storage?: AttachmentStorage;
}

/** Wires the ticket/chat core's services over one database; shared by the api, worker and CLI. */
export function createCoreServices({ db, config, clock = systemClock, storage }: CoreDeps) {
  return {
    keys: createKeyService({ db, adminApiKey: config.ADMIN_API_KEY, cacheSeconds: config.API_KEY_CACHE_SECONDS }),
    listings: createListingService({ db }),
    csrs: createCsrService({ db }),
    customers: createCustomerService({ db }),
    tickets: createTicketService({ db, clock }),
    messages: createMessageService({
      db,
      storage: storage ?? createLocalAttachmentStorage(path.join(config.dataDir, 'attachments')),
      limits: { maxBytes: config.ATTACHMENT_MAX_BYTES, allowedTypes: config.ATTACHMENT_TYPES },
    }),
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
