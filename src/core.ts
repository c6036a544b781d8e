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
import { createPredictionService } from './predictions/index.ts';
// The rules and the log directly (not src/suggest/index.ts): the api must not load the reply trainers.
import { createRulesService } from './suggest/rules/index.ts';
import { createSuggestionLog } from './suggest/log/index.ts';
import { createHandoffService } from './handoff/index.ts';
import { createAutoActionService } from './auto-actions/index.ts';
import { createDraftService } from './drafts/index.ts';
import { createInProcessServing, createModelWorkerPool, createSuggestService, type OutcomeScoringLoader } from './suggest/engine/index.ts';

/** The outcome models' serving half, loaded on first use (src/models/index.ts would bring the trainer). */
const loadOutcomeScoring: OutcomeScoringLoader = async (bytes, metadata) => (await import('./models/outcome-model.ts')).loadOutcomeModel(bytes, metadata);

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
  const messages = createMessageService({
    db,
    storage: storage ?? createLocalAttachmentStorage(path.join(config.dataDir, 'attachments')),
    limits: { maxBytes: config.ATTACHMENT_MAX_BYTES, allowedTypes: config.ATTACHMENT_TYPES },
    writer: { maxInFlight: config.MESSAGE_WRITE_CONCURRENCY },
  });
  const suggestions = createSuggestionLog({ db, clock });
  const canned = createCannedService({ db });
  const models = createModelRegistry({ db });
  const rules = createRulesService({ db, clock, canned, stats: suggestions, refreshMs: config.RULES_REFRESH_MS });
  // Model workers start on the first model load, so processes that serve no models never start one.
  const serving = config.SUGGEST_WORKERS > 0 ? createModelWorkerPool({ workers: config.SUGGEST_WORKERS }) : createInProcessServing(loadOutcomeScoring);
  const suggest = createSuggestService({ db, rules, canned, log: suggestions, registry: models, serving, minScore: config.SUGGEST_MIN_SCORE });
  const predictions = createPredictionService({ db });
  return {
    keys: createKeyService({ db, adminApiKey: config.ADMIN_API_KEY, cacheSeconds: config.API_KEY_CACHE_SECONDS }),
    listings: createListingService({ db }),
    csrs: createCsrService({ db }),
    customers: createCustomerService({ db }),
    tickets,
    messages,
    chatLinks,
    sms: createSmsService({ db }),
    ivr: createIvrService({ db, tickets, chatLinks, sms: smsSender ?? createOutboxSmsSender({ db }) }),
    experts: createExpertService({ db }),
    schedule: createScheduleService({ db, clock }),
    automatedMessages: createAutomatedMessageService({ db }),
    canned,
    // The live analytics source's lag; reads Postgres only, so every api process can answer.
    ingestStatus: createIngestStatusService({ db, clock }),
    models,
    predictions,
    // Keyword AI rules (compiled published sets cached per process) and the suggestion log.
    suggestions,
    rules,
    // POST /v1/suggest: rules + canned + the learned reply model, outcome-aware.
    suggest,
    // Bot → CSR hand-off, auto-actions and LLM drafts. Rule hits, model risk and reply retrieval
    // are optional deps of each (see their index.ts); wire them here when available.
    handoff: createHandoffService({
      db,
      clock,
      tickets,
      messages,
      ruleHits: async ({ listingId, messages: transcript }) => (await rules.evaluate(listingId, { messages: transcript.map((message) => ({ role: message.role, text: message.text })) })).fired,
      risk: ({ listingId, messages: transcript }) => suggest.outcomeRisk(listingId, transcript),
    }),
    autoActions: createAutoActionService({
      db,
      clock,
      messages,
      // The ticket's latest live prediction (src/predictions), and the tags of the rules firing on it.
      risk: async ({ listingId, ticketId, target }) => (await predictions.forTicket(listingId, ticketId)).find((prediction) => prediction.target === target)?.risk,
      ruleTags: ({ listingId, ticketId }) => suggest.ticketRuleTags(listingId, ticketId),
    }),
    drafts: createDraftService({
      llm: { baseUrl: config.LLM_BASE_URL, apiKey: config.LLM_API_KEY, model: config.LLM_MODEL, timeoutMs: config.LLM_TIMEOUT_MS },
      tickets,
      messages,
    }),
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
