import { EventNames, type StoredEvent } from '../events/index.ts';
import type { FeatureMessage } from '../features/index.ts';
import type { JobProducer } from '../jobs/index.ts';
import type { ModelRegistry, ModelVersion } from '../models/registry/index.ts';
import { AppError, createBoundedCache, type Database, type Logger } from '../platform/index.ts';
import { findTicketFacts, readTicketMessages, writePrediction, type TicketMessageRow } from './predictions.store.ts';
import type { LoadedOutcomeModel, OutcomeModelLoader, OutcomeSession } from './predictions.types.ts';

/**
 * Keeps every ticket's predictions current: after each relayed message.created event it queues a
 * refresh of that ticket, and the refresh feeds the ticket's new messages into a per-ticket
 * session of each promoted outcome model (online feature state included) and stores the result.
 *
 * Sessions stay in memory (bounded, least recently used out) so a refresh reads and featurises
 * only the messages since the last one; a miss — another worker, a restart, a newly promoted
 * version — rebuilds the session from the ticket's messages, so the cache never decides a value.
 */

/** Targets the suggestion engine keeps in the same registry but that are not outcome models. */
const NOT_OUTCOME_TARGETS = new Set(['reply']);

interface ListingModels {
  loadedAt: number;
  models: Array<{ version: ModelVersion; model: LoadedOutcomeModel }>;
}

interface TicketSessions {
  /** `${target}:${version}` of each model, in the order of `sessions`. */
  key: string;
  lastSeq: number;
  sessions: OutcomeSession[];
}

export interface PredictionEngineDeps {
  db: Database;
  registry: ModelRegistry;
  load: OutcomeModelLoader;
  jobs: Pick<JobProducer, 'enqueue'>;
  logger?: Logger;
  /** Tickets whose sessions stay in memory. */
  maxSessions?: number;
  /** How long a listing's promoted versions are trusted before asking the registry again. */
  modelsTtlMs?: number;
  /**
   * Listings whose tickets need the refresh job even without an outcome model (the job also runs
   * the auto-action policies). Without a model and without this, a message queues no job.
   */
  refreshAlsoFor?: (listingId: string) => Promise<boolean>;
  now?: () => number;
}

export interface RefreshResult {
  predictions: number;
  atSeq: number;
}

const toFeatureMessage = (row: TicketMessageRow): FeatureMessage => ({
  role: row.sender_role,
  kind: row.kind,
  channel: row.channel,
  tsMs: row.created_at.getTime(),
  text: row.text ?? row.transcript ?? '',
  hasAttachment: row.has_attachment,
});

export function createPredictionEngine({ db, registry, load, jobs, logger, maxSessions = 10_000, modelsTtlMs = 5000, refreshAlsoFor, now = Date.now }: PredictionEngineDeps) {
  const listingModels = new Map<string, Promise<ListingModels>>();
  const compiled = new Map<string, Promise<LoadedOutcomeModel>>();
  const sessions = createBoundedCache<string, TicketSessions>(maxSessions);
  /** Per-ticket chain: two refreshes of one ticket never interleave in this process. */
  const running = new Map<string, Promise<unknown>>();

  async function loadListingModels(listingId: string): Promise<ListingModels> {
    const versions = (await registry.list(listingId)).filter((version) => version.promoted && !NOT_OUTCOME_TARGETS.has(version.target));
    const models: ListingModels['models'] = [];
    for (const version of versions) {
      const cacheKey = `${listingId}:${version.target}:${version.version}`;
      let model = compiled.get(cacheKey);
      if (!model) {
        model = registry.get(listingId, version.target, version.version).then((artifact) => load(artifact.bytes, artifact.version.metadata));
        compiled.set(cacheKey, model);
      }
      try {
        models.push({ version, model: await model });
      } catch (error) {
        compiled.delete(cacheKey);
        // An incompatible model (trained by other code) is skipped, not fatal: the others still serve.
        if (error instanceof AppError && error.code === 'model_incompatible') {
          logger?.warn({ listingId, target: version.target, version: version.version, err: error }, 'promoted model cannot be loaded');
          continue;
        }
        throw error;
      }
    }
    return { loadedAt: now(), models };
  }

  async function modelsOf(listingId: string): Promise<ListingModels> {
    const cached = listingModels.get(listingId);
    if (cached) {
      const value = await cached.catch(() => undefined);
      if (value && now() - value.loadedAt < modelsTtlMs) return value;
    }
    const loading = loadListingModels(listingId);
    listingModels.set(listingId, loading);
    loading.catch(() => listingModels.delete(listingId));
    return loading;
  }

  /**
   * Whether a listing's messages need a refresh job (a promoted outcome model, or what
   * `refreshAlsoFor` says), per listing: a job per message costs a queue round trip or more
   * (BullMQ: several Redis calls and a worker wake-up), and most listings have no model. A stale
   * answer is used while a fresh one loads; an unknown listing counts as needing the job.
   */
  const routing = new Map<string, { needs: boolean; at: number }>();
  /** The answer being loaded per listing; a promotion forgets it, so an answer from before it is not kept. */
  const routingLoads = new Map<string, Promise<void>>();
  function wantsRefresh(listingId: string): boolean {
    const known = routing.get(listingId);
    if ((known === undefined || now() - known.at >= modelsTtlMs) && !routingLoads.has(listingId)) {
      // Not awaited: on PGlite these queries run once the caller's transaction has committed.
      const loading: Promise<void> = modelsOf(listingId)
        .then(async ({ models }) => models.length > 0 || ((await refreshAlsoFor?.(listingId)) ?? false))
        .then(
          (needs) => void (routingLoads.get(listingId) === loading && routing.set(listingId, { needs, at: now() })),
          (error: unknown) => logger?.warn({ err: error, listingId }, 'could not tell whether the listing needs prediction refreshes'),
        )
        .finally(() => {
          if (routingLoads.get(listingId) === loading) routingLoads.delete(listingId);
        });
      routingLoads.set(listingId, loading);
    }
    return known?.needs ?? true;
  }

  async function refresh(listingId: string, ticketId: string): Promise<RefreshResult> {
    const { models } = await modelsOf(listingId);
    if (models.length === 0) return { predictions: 0, atSeq: 0 };
    const key = models.map(({ version }) => `${version.target}:${version.version}`).join(',');
    const cacheKey = `${listingId}:${ticketId}`;
    let state = sessions.get(cacheKey);
    if (state && state.key !== key) state = undefined;
    if (!state) {
      const facts = await findTicketFacts(db, listingId, ticketId);
      if (!facts) return { predictions: 0, atSeq: 0 };
      const options = { sourceChannel: facts.sourceChannel, timeZone: facts.timezone };
      state = { key, lastSeq: 0, sessions: models.map(({ model }) => model.startConversation(options)) };
    }
    const rows = await readTicketMessages(db, listingId, ticketId, state.lastSeq);
    for (const row of rows) {
      const message = toFeatureMessage(row);
      for (const session of state.sessions) session.push(message);
      state.lastSeq = row.seq;
    }
    sessions.set(cacheKey, state);
    if (state.lastSeq === 0) return { predictions: 0, atSeq: 0 };

    let written = 0;
    for (let i = 0; i < models.length; i++) {
      const { version } = models[i]!;
      const prediction = state.sessions[i]!.predict();
      if (await writePrediction(db, { listingId, ticketId, target: version.target, modelVersion: version.version, atSeq: state.lastSeq, prediction })) written++;
    }
    return { predictions: written, atSeq: state.lastSeq };
  }

  return {
    /** Refreshes one ticket's predictions (the job handler). */
    refreshTicket(listingId: string, ticketId: string): Promise<RefreshResult> {
      const key = `${listingId}:${ticketId}`;
      const previous = running.get(key) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(() => refresh(listingId, ticketId));
      running.set(key, next);
      void next.finally(() => {
        if (running.get(key) === next) running.delete(key);
      }).catch(() => undefined);
      return next;
    },

    /**
     * Relayed outbox events: queue one refresh per ticket with new messages; forget models on
     * promotion. Called inside the relay's transaction, which on PGlite (the embedded default)
     * holds the only connection, so this must not wait on the database: it answers from the
     * per-listing cache, and a listing it does not know yet gets its jobs (each job checks for
     * itself) while the answer loads outside the transaction. Waiting for that answer here hung
     * the embedded api's database after the first relayed message.
     */
    async publish(events: readonly StoredEvent[]): Promise<void> {
      const latestByTicket = new Map<string, StoredEvent>();
      for (const event of events) {
        if (event.name === EventNames.messageCreated) latestByTicket.set(`${event.listingId}:${event.aggregateId}`, event);
        else if (event.name === EventNames.modelPromoted) {
          listingModels.delete(event.listingId);
          routing.delete(event.listingId);
          routingLoads.delete(event.listingId);
        }
      }
      for (const event of latestByTicket.values()) {
        if (!wantsRefresh(event.listingId)) continue;
        await jobs.enqueue('predictions.refresh-ticket', { listingId: event.listingId, ticketId: event.aggregateId }, { jobId: `predict-event-${event.id}` });
      }
    },
  };
}

export type PredictionEngine = ReturnType<typeof createPredictionEngine>;
