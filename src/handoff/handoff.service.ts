import { createHash } from 'node:crypto';
import type { Principal } from '../auth/index.ts';
import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import type { MessageService } from '../messages/index.ts';
import { AppError, newId, systemClock, type Clock, type Database, type Logger } from '../platform/index.ts';
import { isBusinessOpen, loadCalendar, nextOpening } from '../schedule/index.ts';
import type { TicketService, TicketView } from '../tickets/index.ts';
import { assessHandoff, BIAS, DEFAULT_WEIGHTS, defaultHandoffSettings, type Assessment, type HandoffSettings, type RuleHit, type TranscriptMessage } from './assessment.ts';
import {
  createHandoffBody,
  handoffSettingsBody,
  type AssessHandoffInput,
  type AssessmentView,
  type CreateHandoffInput,
  type HandoffSettingsInput,
  type HandoffSettingsView,
  type HandoffView,
  type QueueView,
} from './handoff.schemas.ts';
import { findHandoffByKey, findSettings, insertHandoff, queueFacts, recentWait, upsertSettings, type HandoffRow, type SettingsRow } from './handoff.store.ts';
import { handoffNote, summarize } from './summary.ts';

/** What the injected components see of the conversation. */
export interface ConversationQuery {
  listingId: string;
  messages: readonly TranscriptMessage[];
}

export interface HandoffServiceDeps {
  db: Database;
  tickets: Pick<TicketService, 'create' | 'get'>;
  messages: Pick<MessageService, 'post'>;
  clock?: Clock;
  /** Keyword rules that fire on the conversation (src/suggest/rules `evaluate(...).fired`); absent: no rule signal. */
  ruleHits?: (query: ConversationQuery) => readonly RuleHit[] | Promise<readonly RuleHit[]>;
  /** Outcome model risk (0–1) of a bad outcome for the conversation (src/models); absent or undefined: no risk signal. */
  risk?: (query: ConversationQuery) => number | undefined | Promise<number | undefined>;
  logger?: Pick<Logger, 'warn'>;
  /** How long a listing's settings are reused before re-reading them (every api process caches its own). */
  settingsCacheMs?: number;
  /** Assigned tickets the expected wait is the median of. */
  waitWindow?: number;
  /** Fewer known waits than this: the expected wait is unknown (null). */
  minWaitSamples?: number;
}

const toSettings = (row: SettingsRow | undefined): HandoffSettings =>
  row
    ? { threshold: row.threshold, highValueIntents: row.high_value_intents, highValueKeywords: row.high_value_keywords, weights: row.weights }
    : defaultHandoffSettings();

const toSettingsView = (settings: HandoffSettings, updatedAt: Date | null): HandoffSettingsView => ({
  threshold: settings.threshold,
  highValueIntents: [...settings.highValueIntents],
  highValueKeywords: [...settings.highValueKeywords],
  weights: { ...DEFAULT_WEIGHTS, ...settings.weights },
  bias: BIAS,
  updatedAt,
});

const reasonsOf = (assessment: Assessment) => assessment.signals.filter((signal) => signal.contribution > 0).map((signal) => signal.reason);

export const toAssessmentView = (assessment: Assessment): AssessmentView => ({ ...assessment, reasons: reasonsOf(assessment) });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Bot → live CSR hand-off (seed 002, fig. 49): the bot asks whether to hand off on every turn,
 * then hands the customer over with the transcript. The ticket is made by the ticket service
 * (source `bot`), so routing, the outbox's ticket.created and the automated offline/after-hours
 * messages apply exactly as for any ticket; the transcript goes in through the message service
 * with its original roles.
 */
export function createHandoffService({
  db,
  tickets,
  messages,
  clock = systemClock,
  ruleHits,
  risk,
  logger,
  settingsCacheMs = 5_000,
  waitWindow = 50,
  minWaitSamples = 3,
}: HandoffServiceDeps) {
  const cache = new Map<string, { settings: HandoffSettings; at: number }>();

  async function settingsFor(listingId: string): Promise<HandoffSettings> {
    const now = clock.now().getTime();
    const cached = cache.get(listingId);
    if (cached && now - cached.at < settingsCacheMs) return cached.settings;
    const settings = toSettings(await findSettings(db, listingId));
    cache.set(listingId, { settings, at: now });
    return settings;
  }

  /** The other components' view; a failing one is left out rather than failing the bot's turn. */
  async function extrasFor(query: ConversationQuery) {
    // Called inside async functions, so a synchronous throw is caught like a rejection.
    const tolerant = async <T>(name: string, call: (() => T | Promise<T>) | undefined): Promise<T | undefined> => {
      if (!call) return undefined;
      try {
        return await call();
      } catch (error) {
        logger?.warn({ err: error }, `hand-off: ${name} failed`);
        return undefined;
      }
    };
    const [hits, riskValue] = await Promise.all([
      tolerant('rule hits', ruleHits && (() => ruleHits(query))),
      tolerant('risk', risk && (() => risk(query))),
    ]);
    return { ruleHits: hits, risk: riskValue };
  }

  async function queueOf(listingId: string, ticketId: string): Promise<QueueView> {
    const now = clock.now();
    const [facts, calendar] = await Promise.all([queueFacts(db, listingId, ticketId), loadCalendar(db, listingId, now)]);
    const open = calendar ? isBusinessOpen(calendar.schedule, calendar.holidays, now) : true;
    const opensAt = calendar && !open ? nextOpening(calendar.schedule, calendar.holidays, now) : null;
    const status = facts?.status;
    let expected: number | null = null;
    if (status === 'assigned') expected = 0;
    else if (status === 'waiting') {
      const wait = await recentWait(db, listingId, waitWindow);
      if (wait.samples >= minWaitSamples && wait.medianSeconds !== null) {
        // While closed nobody is assigned before the listing opens.
        const untilOpen = opensAt ? (opensAt.getTime() - now.getTime()) / 1000 : 0;
        expected = Math.round(Math.max(wait.medianSeconds, untilOpen));
      }
    }
    return {
      position: status === 'waiting' ? facts!.ahead + 1 : status === 'assigned' ? 0 : null,
      waiting: facts?.waiting ?? 0,
      expectedWaitSeconds: expected,
      csrsOnline: facts?.csrsOnline ?? 0,
      businessOpen: open,
      nextOpening: opensAt,
    };
  }

  async function viewOf(listingId: string, row: HandoffRow, replayed: boolean): Promise<HandoffView> {
    const ticket: TicketView = await tickets.get(listingId, row.ticket_id);
    return {
      handoffId: row.id,
      replayed,
      ticketCreated: row.ticket_created,
      ticket,
      queue: await queueOf(listingId, row.ticket_id),
      intent: row.intent,
      priority: row.priority,
      confidence: row.confidence,
      reasons: row.reasons,
      summary: row.summary,
      importedMessages: row.transcript.length,
      thread: { ticketId: row.ticket_id, messagesPath: `/v1/tickets/${row.ticket_id}/messages` },
    };
  }

  return {
    /**
     * Pure over the messages plus the listing's settings: nothing is written. Takes validated
     * input (the route validated it; it is called on every bot turn, so it is not parsed twice).
     */
    async assess(listingId: string, input: AssessHandoffInput): Promise<AssessmentView> {
      const [settings, extras] = await Promise.all([settingsFor(listingId), extrasFor({ listingId, messages: input.messages })]);
      return toAssessmentView(assessHandoff(input.messages, settings, extras));
    },

    async getSettings(listingId: string): Promise<HandoffSettingsView> {
      const row = await findSettings(db, listingId);
      return toSettingsView(toSettings(row), row?.updated_at ?? null);
    },

    async putSettings(listingId: string, rawInput: HandoffSettingsInput, actor: Actor): Promise<HandoffSettingsView> {
      const input = handoffSettingsBody.parse(rawInput);
      const settings: HandoffSettings = {
        threshold: input.threshold,
        highValueIntents: [...new Set(input.highValueIntents)],
        highValueKeywords: [...new Set(input.highValueKeywords)],
        weights: input.weights,
      };
      const row = await db.transaction(async (tx) => {
        const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
        if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
        const saved = await upsertSettings(tx, listingId, settings);
        await appendEvent(tx, {
          listingId,
          name: EventNames.handoffSettingsUpdated,
          aggregateType: 'listing',
          aggregateId: listingId,
          payload: { threshold: settings.threshold, highValueIntents: settings.highValueIntents, highValueKeywords: settings.highValueKeywords, weights: settings.weights },
          actor,
        });
        return saved;
      });
      cache.delete(listingId);
      return toSettingsView(toSettings(row), row.updated_at);
    },

    /**
     * Hands the customer to a CSR. Idempotent by key (header, else the bot's conversation id,
     * else a hash of the customer and the transcript): each step converges on a retry — the
     * ticket service returns the customer's open ticket, each transcript message has a
     * clientMessageId derived from the key, the hand-off row is unique per key — so a bot that
     * retries after a timeout, or two racing retries, end with one ticket and one transcript.
     */
    async create(listingId: string, rawInput: CreateHandoffInput, principal: Principal, idempotencyKey?: string): Promise<{ handoff: HandoffView; created: boolean }> {
      const input = createHandoffBody.parse(rawInput);
      const key = idempotencyKey
        ? `key:${idempotencyKey}`
        : input.externalId
          ? `external:${input.externalId}`
          : `hash:${sha256(JSON.stringify([input.customerId ?? input.customer, input.messages]))}`;
      const existing = await findHandoffByKey(db, listingId, key);
      if (existing) return { handoff: await viewOf(listingId, existing, true), created: false };

      const [settings, extras] = await Promise.all([settingsFor(listingId), extrasFor({ listingId, messages: input.messages })]);
      const assessment = assessHandoff(input.messages, settings, extras);
      const intent = input.intent ?? assessment.intent;
      const summary = input.summary ?? summarize(input.messages, assessment);
      const firstCustomer = input.messages.find((message) => message.role === 'customer');
      const subject = input.subject ?? (firstCustomer ? firstCustomer.text.replace(/\s+/g, ' ').trim().slice(0, 200) : undefined);

      const { ticket, created: ticketCreated } = await tickets.create(
        listingId,
        {
          ...(input.customerId ? { customerId: input.customerId } : { customer: input.customer! }),
          source: { app: input.app, channel: 'bot' },
          ...(subject ? { subject } : {}),
          requiredSkills: [...new Set([...input.requiredSkills, ...assessment.skills])],
          priority: assessment.priority,
          metadata: { ...input.metadata, handoff: { intent, confidence: assessment.confidence, ...(input.externalId ? { externalId: input.externalId } : {}) } },
        },
        principal,
      );

      // One request at a time per key writes the transcript, in order; a retry re-posting the
      // same clientMessageIds gets the first messages back instead of duplicates.
      const tag = sha256(key).slice(0, 24);
      const transcript: HandoffRow['transcript'] = [];
      for (const [index, message] of input.messages.entries()) {
        const posted = await messages.post(
          listingId,
          ticket.id,
          { kind: 'text', text: message.text, senderRole: message.role, clientMessageId: `handoff:${tag}:${index}` },
          principal,
        );
        transcript.push({ messageId: posted.message.id, seq: posted.message.seq, role: message.role, ts: message.ts ?? null });
      }
      await messages.post(listingId, ticket.id, { kind: 'text', text: handoffNote(summary), senderRole: 'system', clientMessageId: `handoff:${tag}:summary` }, principal);

      const actor: Actor = { keyId: principal.keyId, role: principal.role, csrId: principal.csrId };
      const reasons = reasonsOf(assessment);
      const row = await db.transaction(async (tx) => {
        const inserted = await insertHandoff(tx, {
          id: newId(),
          listing_id: listingId,
          idempotency_key: key,
          ticket_id: ticket.id,
          customer_id: ticket.customerId,
          ticket_created: ticketCreated,
          intent,
          priority: assessment.priority,
          confidence: assessment.confidence,
          summary,
          reasons,
          transcript,
          actor: { ...actor },
        });
        if (!inserted) return undefined;
        await appendEvent(tx, {
          listingId,
          name: EventNames.handoffRequested,
          aggregateType: 'ticket',
          aggregateId: ticket.id,
          payload: {
            handoffId: inserted.id,
            ticketCreated,
            intent,
            priority: assessment.priority,
            confidence: assessment.confidence,
            signals: assessment.signals.map((signal) => signal.name),
            messages: transcript.length,
            ...(input.externalId ? { externalId: input.externalId } : {}),
          },
          actor,
        });
        return inserted;
      });
      if (row) return { handoff: await viewOf(listingId, row, false), created: true };
      // A concurrent retry with the same key recorded it first: answer with its record.
      const winner = await findHandoffByKey(db, listingId, key);
      if (!winner) throw new AppError('conflict', 'The hand-off was recorded concurrently and then removed');
      return { handoff: await viewOf(listingId, winner, true), created: false };
    },
  };
}

export type HandoffService = ReturnType<typeof createHandoffService>;
