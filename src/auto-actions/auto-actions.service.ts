import type { Principal } from '../auth/index.ts';
import { appendEvent, EventNames, type Actor, type EventName } from '../events/index.ts';
import type { MessageService, PostMessageInput } from '../messages/index.ts';
import { AppError, isUniqueViolation, newId, systemClock, type Clock, type Database, type Logger, type Queryable } from '../platform/index.ts';
import { localDate } from '../schedule/index.ts';
import {
  analyticsQuery,
  autoActionSettingsBody,
  evaluateBody,
  offerBody,
  policyBody,
  type ActionView,
  type AnalyticsView,
  type AutoActionSettingsInput,
  type AutoActionSettingsView,
  type EvaluateInput,
  type EvaluationView,
  type OfferInput,
  type OfferResponseView,
  type OfferView,
  type PolicyInput,
  type PolicyReportView,
  type PolicyView,
  type SkipReason,
} from './auto-actions.schemas.ts';
import {
  armOutcomes,
  countToday,
  findAction,
  findOffer,
  findOfferMessage,
  findPolicy,
  findSettings,
  hasActed,
  insertAction,
  insertOffer,
  insertOfferResponse,
  insertPolicy,
  listActionsOfTicket,
  listOffers,
  listPolicies,
  listUnsent,
  loadActive,
  loadTicketFacts,
  lockCustomer,
  markDecided,
  markOfferDeleted,
  markPolicyDeleted,
  policiesUsingOffer,
  toActionView,
  toOfferView,
  toPolicyView,
  updateOffer,
  updatePolicy,
  upsertSettings,
  type ActionRow,
  type ActivePolicy,
  type ArmRow,
  type PolicyFields,
} from './auto-actions.store.ts';
import { detectHesitation } from './hesitation.ts';
import { capReached, cappedDiscount, holdoutBucket, inHoldout, matchPolicy, type PolicyFacts } from './policy.ts';
import { compareRates, rateOf } from './stats.ts';

type ArmCounts = Pick<ArmRow, 'eligible' | 'delivered' | 'ended' | 'resolved' | 'converted' | 'rated' | 'satisfied' | 'rating_sum'>;
const NO_COUNTS: ArmCounts = Object.freeze({ eligible: 0, delivered: 0, ended: 0, resolved: 0, converted: 0, rated: 0, satisfied: 0, rating_sum: 0 });

/** Listing defaults while it has saved no settings. */
export const DEFAULT_AUTO_ACTION_SETTINGS = Object.freeze({ enabled: true, maxPerCustomerPerDay: 3 });

/** The key id auto-actions act under: events and messages it produced carry it (loop guard). */
export const AUTO_ACTIONS_KEY_ID = 'auto-actions';
const AUTO_ACTOR: Actor = Object.freeze({ keyId: AUTO_ACTIONS_KEY_ID, role: 'auto-actions' });
export const producedByAutoActions = (event: { actor?: { keyId?: string | undefined } | undefined }): boolean => event.actor?.keyId === AUTO_ACTIONS_KEY_ID;

/**
 * The message service knows API principals only. Automatic offers go in as `system` messages; a
 * manager-role principal is the one that may post as `system` without holding the ticket, and its
 * key id marks the message as ours.
 */
const autoPrincipal = (listingId: string): Principal => ({ keyId: AUTO_ACTIONS_KEY_ID, role: 'manager', listingId, csrId: null, rateLimitPerMinute: null });

export interface TicketQuery {
  listingId: string;
  ticketId: string;
}

export interface AutoActionServiceDeps {
  db: Database;
  messages: Pick<MessageService, 'post'>;
  clock?: Clock;
  /** The latest risk (0–1) of a bad outcome for a model target and ticket (src/models); undefined: no prediction. */
  risk?: (query: TicketQuery & { target: string }) => number | undefined | Promise<number | undefined>;
  /** Tags of the keyword rules that fire on the ticket's conversation (src/suggest/rules `tag` actions). */
  ruleTags?: (query: TicketQuery) => readonly string[] | Promise<readonly string[]>;
  logger?: Pick<Logger, 'warn'>;
}

const nameTaken = (error: unknown, name: string) =>
  isUniqueViolation(error) ? new AppError('auto_action_name_taken', `Another one of this listing is called "${name}"`) : error;

const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role, csrId: principal.csrId });

function offerMessage(row: Pick<ActionRow, 'id' | 'offer_name' | 'offer_description' | 'offer_code' | 'discount_percent'>, senderRole?: 'system'): PostMessageInput {
  const title = row.discount_percent !== null ? `${row.offer_name}: ${row.discount_percent}% off` : row.offer_name;
  return {
    kind: 'offer',
    text: row.offer_description || title,
    offer: {
      title,
      ...(row.offer_description ? { description: row.offer_description } : {}),
      ...(row.discount_percent !== null ? { discountPercent: row.discount_percent } : {}),
      ...(row.offer_code ? { code: row.offer_code } : {}),
    },
    clientMessageId: `auto-action:${row.id}`,
    ...(senderRole ? { senderRole } : {}),
  };
}

/** How long a listing's "has an active policy" answer is trusted on the message path. */
const ACTIVE_TTL_MS = 2000;

const actionPayload = (row: ActionRow) => ({
  actionId: row.id,
  policyId: row.policy_id,
  offerId: row.offer_id,
  customerId: row.customer_id,
  action: row.action,
  mode: row.mode,
  holdout: row.holdout,
  discountPercent: row.discount_percent,
  reason: row.reason,
  messageId: row.message_id,
});

/**
 * Auto-actions (seed 002: "the interaction analyzer may determine that the most likely way to a
 * successful outcome is to offer a discount, and may send such an offer automatically"): per
 * listing, policies over model risk, hesitation, rule tags and turn propose an offer of the
 * catalogue to the CSR, or send it. Every action is logged with its reason and inputs; a hashed
 * holdout share of customers never gets it, so its effect can be measured.
 */
export function createAutoActionService({ db, messages, clock = systemClock, risk, ruleTags, logger }: AutoActionServiceDeps) {
  async function event(tx: Queryable, listingId: string, name: EventName, aggregateId: string, payload: Record<string, unknown>, actor: Actor, aggregateType = 'ticket') {
    await appendEvent(tx, { listingId, name, aggregateType, aggregateId, payload, actor });
  }

  async function mustFindAction(listingId: string, id: string): Promise<ActionRow> {
    const row = await findAction(db, listingId, id);
    // Held-out actions do not exist for the people who act on proposals.
    if (!row || row.holdout) throw new AppError('not_found', `Auto-action ${id} not found`);
    return row;
  }

  /** Sends a logged auto action; a ticket that ended meanwhile dismisses it instead. */
  async function deliver(listingId: string, row: ActionRow): Promise<void> {
    let messageId: string;
    try {
      messageId = (await messages.post(listingId, row.ticket_id, offerMessage(row, 'system'), autoPrincipal(listingId))).message.id;
    } catch (error) {
      if (!(error instanceof AppError) || (error.code !== 'ticket_closed' && error.code !== 'not_found')) throw error;
      await db.transaction(async (tx) => {
        if (await markDecided(tx, listingId, row.id, { status: 'dismissed', messageId: null, decidedBy: { ...AUTO_ACTOR, reason: 'the ticket ended before sending' }, from: ['sending'] })) {
          await event(tx, listingId, EventNames.autoActionDismissed, row.ticket_id, { ...actionPayload(row), reason: 'the ticket ended before sending' }, AUTO_ACTOR);
        }
      });
      return;
    }
    await db.transaction(async (tx) => {
      if (await markDecided(tx, listingId, row.id, { status: 'sent', messageId, decidedBy: { ...AUTO_ACTOR }, from: ['sending'] })) {
        await event(tx, listingId, EventNames.autoActionSent, row.ticket_id, { ...actionPayload(row), messageId }, AUTO_ACTOR);
      }
    });
  }

  async function gatherRisk(query: TicketQuery, policies: readonly ActivePolicy[], given: Record<string, number> | undefined) {
    const targets = [...new Set(policies.flatMap((policy) => (policy.conditions.risk ?? []).map((condition) => condition.target)))];
    const values: Record<string, number> = {};
    for (const target of targets) {
      let value = given?.[target];
      if (value === undefined && risk) {
        try {
          value = await risk({ ...query, target });
        } catch (error) {
          logger?.warn({ err: error, target }, 'auto-actions: risk failed');
        }
      }
      if (value !== undefined && Number.isFinite(value)) values[target] = value;
    }
    // Given values for targets no policy reads are still reported (and logged as inputs).
    return { ...given, ...values };
  }

  async function gatherTags(query: TicketQuery, policies: readonly ActivePolicy[], given: readonly string[] | undefined): Promise<string[]> {
    if (given) return [...given];
    if (!ruleTags || !policies.some((policy) => policy.conditions.ruleTags)) return [];
    try {
      return [...(await ruleTags(query))];
    } catch (error) {
      logger?.warn({ err: error }, 'auto-actions: rule tags failed');
      return [];
    }
  }

  async function validatePolicy(tx: Queryable, listingId: string, input: ReturnType<typeof policyBody.parse>): Promise<PolicyFields> {
    const offer = await findOffer(tx, listingId, input.offerId, { forUpdate: true });
    if (!offer) throw new AppError('unprocessable', `offerId ${input.offerId} is no offer of this listing`);
    if (input.discountPercent !== undefined && offer.kind !== 'discount') throw new AppError('unprocessable', `Offer "${offer.name}" is a ${offer.kind}, not a discount`);
    if (input.discountPercent !== undefined && offer.max_discount_percent !== null && input.discountPercent > offer.max_discount_percent) {
      throw new AppError('unprocessable', `Offer "${offer.name}" allows at most ${offer.max_discount_percent}% off`);
    }
    if (input.mode === 'auto' && offer.kind === 'escalate') throw new AppError('unprocessable', 'An escalation is never sent automatically; use mode propose');
    return {
      name: input.name,
      description: input.description,
      enabled: input.enabled,
      priority: input.priority,
      conditions: input.conditions,
      offerId: input.offerId,
      discountPercent: input.discountPercent ?? null,
      mode: input.mode,
      holdoutPercent: input.holdoutPercent,
      maxPerCustomerPerDay: input.maxPerCustomerPerDay,
    };
  }

  function report(rows: readonly ArmRow[]): PolicyReportView[] {
    const byPolicy = new Map<string, { treated: ArmCounts; holdout: ArmCounts; any: ArmRow }>();
    for (const row of rows) {
      const entry = byPolicy.get(row.policy_id) ?? { treated: NO_COUNTS, holdout: NO_COUNTS, any: row };
      if (row.holdout) entry.holdout = row;
      else entry.treated = row;
      byPolicy.set(row.policy_id, entry);
    }
    return [...byPolicy.values()].map(({ treated, holdout, any }) => ({
      policyId: any.policy_id,
      policyName: any.policy_name,
      mode: any.mode,
      holdoutPercent: any.holdout_percent,
      eligible: treated.eligible + holdout.eligible,
      treated: treated.eligible,
      holdout: holdout.eligible,
      delivered: treated.delivered,
      ended: { treated: treated.ended, holdout: holdout.ended },
      outcomes: {
        converted: compareRates(rateOf(treated.converted, treated.ended), rateOf(holdout.converted, holdout.ended)),
        resolved: compareRates(rateOf(treated.resolved, treated.ended), rateOf(holdout.resolved, holdout.ended)),
        satisfied: compareRates(rateOf(treated.satisfied, treated.rated), rateOf(holdout.satisfied, holdout.rated)),
      },
      meanRating: {
        treated: treated.rated > 0 ? Math.round((treated.rating_sum / treated.rated) * 1000) / 1000 : null,
        holdout: holdout.rated > 0 ? Math.round((holdout.rating_sum / holdout.rated) * 1000) / 1000 : null,
      },
    }));
  }

  // Whether a listing has an active policy, as the message path asks after every message (most
  // listings have none, and evaluating costs several queries): cached for ACTIVE_TTL_MS, so a change
  // made in another process (the api, when jobs run in a worker) applies within it; forgotten at
  // once when this process changes the listing's settings, offers or policies.
  const activeCache = new Map<string, { at: number; active: Promise<boolean> }>();
  function hasActivePolicies(listingId: string): Promise<boolean> {
    const now = clock.now().getTime();
    const cached = activeCache.get(listingId);
    if (cached && now - cached.at < ACTIVE_TTL_MS) return cached.active;
    // The promise is cached, so the messages of a burst share one query.
    const active = loadActive(db, listingId).then(({ settings, policies }) => (settings?.enabled ?? DEFAULT_AUTO_ACTION_SETTINGS.enabled) && policies.length > 0);
    if (activeCache.size >= 10_000) activeCache.clear();
    activeCache.set(listingId, { at: now, active });
    active.catch(() => {
      if (activeCache.get(listingId)?.active === active) activeCache.delete(listingId);
    });
    return active;
  }

  /** A transaction that changes what is active (settings, policies): this process sees it at once. */
  const changingActive = <T>(listingId: string, work: (tx: Queryable) => Promise<T>): Promise<T> =>
    db.transaction(work).finally(() => activeCache.delete(listingId));

  const service = {
    /** Whether the listing has an enabled policy and auto-actions are on (cached ACTIVE_TTL_MS). */
    hasActivePolicies,

    // -------------------------------------------------------------------------------------------
    // Settings

    async getSettings(listingId: string): Promise<AutoActionSettingsView> {
      const row = await findSettings(db, listingId);
      return row
        ? { enabled: row.enabled, maxPerCustomerPerDay: row.max_per_customer_per_day, updatedAt: row.updated_at }
        : { ...DEFAULT_AUTO_ACTION_SETTINGS, updatedAt: null };
    },

    async putSettings(listingId: string, rawInput: AutoActionSettingsInput, actor: Actor): Promise<AutoActionSettingsView> {
      const input = autoActionSettingsBody.parse(rawInput);
      const row = await changingActive(listingId, async (tx) => {
        const saved = await upsertSettings(tx, listingId, input.enabled, input.maxPerCustomerPerDay);
        await event(tx, listingId, EventNames.autoActionSettingsUpdated, listingId, { ...input }, actor, 'listing');
        return saved;
      });
      return { enabled: row.enabled, maxPerCustomerPerDay: row.max_per_customer_per_day, updatedAt: row.updated_at };
    },

    // -------------------------------------------------------------------------------------------
    // Offer catalogue

    async createOffer(listingId: string, rawInput: OfferInput, actor: Actor): Promise<OfferView> {
      const input = offerBody.parse(rawInput);
      try {
        return await db.transaction(async (tx) => {
          const row = await insertOffer(tx, listingId, newId(), { ...input, maxDiscountPercent: input.maxDiscountPercent ?? null, code: input.code ?? null });
          await event(tx, listingId, EventNames.autoActionOfferCreated, row.id, { name: row.name, kind: row.kind, maxDiscountPercent: row.max_discount_percent }, actor, 'auto_action_offer');
          return toOfferView(row);
        });
      } catch (error) {
        throw nameTaken(error, input.name);
      }
    },

    async updateOffer(listingId: string, id: string, rawInput: OfferInput, actor: Actor): Promise<OfferView> {
      const input = offerBody.parse(rawInput);
      try {
        return await db.transaction(async (tx) => {
          const current = await findOffer(tx, listingId, id, { forUpdate: true });
          if (!current) throw new AppError('not_found', `Offer ${id} not found`);
          if (current.kind !== input.kind) {
            const users = await policiesUsingOffer(tx, listingId, id);
            if (users.length > 0) {
              throw new AppError('auto_action_offer_in_use', `Policies use this ${current.kind}; its kind cannot change`, { policies: users.map((policy) => policy.name) });
            }
          }
          const row = (await updateOffer(tx, listingId, id, { ...input, maxDiscountPercent: input.maxDiscountPercent ?? null, code: input.code ?? null }))!;
          await event(tx, listingId, EventNames.autoActionOfferUpdated, id, { name: row.name, kind: row.kind, maxDiscountPercent: row.max_discount_percent }, actor, 'auto_action_offer');
          return toOfferView(row);
        });
      } catch (error) {
        throw nameTaken(error, input.name);
      }
    },

    async getOffer(listingId: string, id: string): Promise<OfferView> {
      const row = await findOffer(db, listingId, id);
      if (!row) throw new AppError('not_found', `Offer ${id} not found`);
      return toOfferView(row);
    },

    listOffers: async (listingId: string): Promise<OfferView[]> => (await listOffers(db, listingId)).map(toOfferView),

    async deleteOffer(listingId: string, id: string, actor: Actor): Promise<void> {
      await db.transaction(async (tx) => {
        const current = await findOffer(tx, listingId, id, { forUpdate: true });
        if (!current) throw new AppError('not_found', `Offer ${id} not found`);
        const users = await policiesUsingOffer(tx, listingId, id);
        if (users.length > 0) throw new AppError('auto_action_offer_in_use', 'Delete or change the policies that use this offer first', { policies: users.map((policy) => policy.name) });
        await markOfferDeleted(tx, listingId, id);
        await event(tx, listingId, EventNames.autoActionOfferDeleted, id, { name: current.name }, actor, 'auto_action_offer');
      });
    },

    // -------------------------------------------------------------------------------------------
    // Policies

    async createPolicy(listingId: string, rawInput: PolicyInput, actor: Actor): Promise<PolicyView> {
      const input = policyBody.parse(rawInput);
      try {
        return await changingActive(listingId, async (tx) => {
          const fields = await validatePolicy(tx, listingId, input);
          const row = await insertPolicy(tx, listingId, newId(), fields);
          await event(tx, listingId, EventNames.autoActionPolicyCreated, row.id, { ...toPolicyView(row) }, actor, 'auto_action_policy');
          return toPolicyView(row);
        });
      } catch (error) {
        throw nameTaken(error, input.name);
      }
    },

    async updatePolicy(listingId: string, id: string, rawInput: PolicyInput, actor: Actor): Promise<PolicyView> {
      const input = policyBody.parse(rawInput);
      try {
        return await changingActive(listingId, async (tx) => {
          if (!(await findPolicy(tx, listingId, id))) throw new AppError('not_found', `Policy ${id} not found`);
          const fields = await validatePolicy(tx, listingId, input);
          const row = (await updatePolicy(tx, listingId, id, fields))!;
          await event(tx, listingId, EventNames.autoActionPolicyUpdated, id, { ...toPolicyView(row) }, actor, 'auto_action_policy');
          return toPolicyView(row);
        });
      } catch (error) {
        throw nameTaken(error, input.name);
      }
    },

    async getPolicy(listingId: string, id: string): Promise<PolicyView> {
      const row = await findPolicy(db, listingId, id);
      if (!row) throw new AppError('not_found', `Policy ${id} not found`);
      return toPolicyView(row);
    },

    listPolicies: async (listingId: string): Promise<PolicyView[]> => (await listPolicies(db, listingId)).map(toPolicyView),

    async deletePolicy(listingId: string, id: string, actor: Actor): Promise<void> {
      await changingActive(listingId, async (tx) => {
        if (!(await markPolicyDeleted(tx, listingId, id))) throw new AppError('not_found', `Policy ${id} not found`);
        await event(tx, listingId, EventNames.autoActionPolicyDeleted, id, {}, actor, 'auto_action_policy');
      });
    },

    // -------------------------------------------------------------------------------------------
    // Evaluation

    /**
     * Evaluates the listing's enabled policies for a ticket now (the API, and the prediction job
     * after every message). Each policy acts at most once per ticket; caps are counted and the
     * action logged under the customer's lock, so concurrent evaluations cannot both pass a cap.
     */
    async evaluate(listingId: string, rawInput: EvaluateInput, actor: Actor = AUTO_ACTOR): Promise<EvaluationView> {
      const input = evaluateBody.parse(rawInput);
      const query = { listingId, ticketId: input.ticketId };
      const ticket = await loadTicketFacts(db, listingId, input.ticketId);
      if (!ticket) throw new AppError('not_found', `Ticket ${input.ticketId} not found`);
      const { settings, policies } = await loadActive(db, listingId);
      const enabled = settings?.enabled ?? DEFAULT_AUTO_ACTION_SETTINGS.enabled;
      const listingCap = settings?.max_per_customer_per_day ?? DEFAULT_AUTO_ACTION_SETTINGS.maxPerCustomerPerDay;
      const active = enabled ? policies : [];

      if (!input.dryRun) for (const unsent of await listUnsent(db, listingId, input.ticketId)) await deliver(listingId, unsent);

      const facts: PolicyFacts = {
        status: ticket.status,
        turn: ticket.turns,
        hesitation: ticket.last_customer_text ? detectHesitation(ticket.last_customer_text) : [],
        risk: await gatherRisk(query, active, input.signals.risk),
        ruleTags: await gatherTags(query, active, input.signals.ruleTags),
      };
      const view = {
        ticketId: input.ticketId,
        enabled,
        dryRun: input.dryRun,
        facts: { status: facts.status, turn: facts.turn, hesitation: [...facts.hesitation], risk: facts.risk as Record<string, number>, ruleTags: [...facts.ruleTags] },
      };
      const actions: ActionView[] = [];
      const skipped: EvaluationView['skipped'] = [];
      const skip = (policy: ActivePolicy, reason: SkipReason, detail: string) => skipped.push({ policyId: policy.id, policyName: policy.name, reason, detail });
      const today = localDate(ticket.timezone, clock.now());

      for (const policy of active) {
        const match = matchPolicy(policy.conditions, facts);
        if (!match.matched) {
          skip(policy, 'conditions', match.reasons[0] ?? 'conditions do not hold');
          continue;
        }
        const bucket = holdoutBucket(listingId, ticket.customer_id, policy.id);
        const holdout = inHoldout(bucket, policy.holdout_percent);
        const discount = policy.offer_kind === 'discount' ? cappedDiscount(policy.discount_percent, policy.offer_max_discount_percent) : null;
        const mode = policy.mode === 'auto' && policy.offer_kind !== 'escalate' ? 'auto' : 'propose';
        const status = holdout ? 'holdout' : mode === 'auto' ? 'sending' : 'proposed';
        const reason = `${policy.name}: ${match.reasons.join('; ')}${holdout ? ' (customer in the holdout group)' : ''}`;
        const id = newId();
        const inputs = {
          ...view.facts,
          lastCustomerSeq: ticket.last_customer_seq,
          holdoutBucket: Math.round(bucket * 1e6) / 1e6,
          holdoutPercent: policy.holdout_percent,
          discountPercent: discount,
          localDay: today,
        };

        const decided = await (async (): Promise<{ skip: SkipReason; detail: string } | { acted: true }> => {
          const decide = async (tx: Queryable) => {
            if (!input.dryRun) await lockCustomer(tx, listingId, ticket.customer_id);
            if (await hasActed(tx, listingId, input.ticketId, policy.id)) return { skip: 'already_acted' as const, detail: 'this policy has already acted on this ticket' };
            const counts = await countToday(tx, listingId, ticket.customer_id, policy.id, today);
            const cap = capReached(counts, { listingPerCustomerPerDay: listingCap, policyPerCustomerPerDay: policy.max_per_customer_per_day });
            if (cap === 'cap_customer') return { skip: cap, detail: `${counts.customerToday} of ${listingCap} actions for this customer today` };
            if (cap === 'cap_policy') return { skip: cap, detail: `${counts.policyToday} of ${policy.max_per_customer_per_day} actions of this policy for this customer today` };
            if (input.dryRun) return { acted: true as const };
            await insertAction(tx, {
              id,
              listingId,
              ticketId: input.ticketId,
              customerId: ticket.customer_id,
              policyId: policy.id,
              offerId: policy.offer_id,
              action: policy.offer_kind,
              mode,
              status,
              holdout,
              discountPercent: discount,
              reason,
              inputs: { ...inputs, counts },
              localDay: today,
            });
            // An auto action's event is written when it is sent (auto_action.sent).
            if (status !== 'sending') {
              const payload = { actionId: id, policyId: policy.id, offerId: policy.offer_id, customerId: ticket.customer_id, action: policy.offer_kind, mode, holdout, discountPercent: discount, reason };
              await event(tx, listingId, holdout ? EventNames.autoActionHeldOut : EventNames.autoActionProposed, input.ticketId, payload, actor);
            }
            return { acted: true as const };
          };
          if (input.dryRun) return decide(db);
          try {
            return await db.transaction(decide);
          } catch (error) {
            // Only without the lock's protection (another writer of the log) can this race.
            if (isUniqueViolation(error)) return { skip: 'already_acted', detail: 'this policy has already acted on this ticket' };
            throw error;
          }
        })();
        if ('skip' in decided) {
          skip(policy, decided.skip, decided.detail);
          continue;
        }
        if (input.dryRun) {
          actions.push({
            id,
            ticketId: input.ticketId,
            customerId: ticket.customer_id,
            policyId: policy.id,
            policyName: policy.name,
            offer: { id: policy.offer_id, name: policy.offer_name, description: policy.offer_description, kind: policy.offer_kind, code: policy.offer_code },
            action: policy.offer_kind,
            mode,
            status,
            holdout,
            discountPercent: discount,
            reason,
            inputs,
            messageId: null,
            decidedAt: null,
            createdAt: clock.now(),
          });
          continue;
        }
        if (status === 'sending') await deliver(listingId, (await findAction(db, listingId, id))!);
        actions.push(toActionView((await findAction(db, listingId, id))!));
      }
      return { ...view, actions, skipped };
    },

    // -------------------------------------------------------------------------------------------
    // Proposals

    /** What the CSR sees for a ticket: every treated action (held-out ones are invisible). */
    async listForTicket(listingId: string, ticketId: string): Promise<ActionView[]> {
      const ticket = await loadTicketFacts(db, listingId, ticketId);
      if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
      return (await listActionsOfTicket(db, listingId, ticketId, { includeHoldout: false })).map(toActionView);
    },

    /**
     * The CSR (or a manager) takes a proposal: the offer goes into the thread as their message
     * (an escalation is only acknowledged: the CSR escalates through expert help or a transfer).
     */
    async send(listingId: string, id: string, principal: Principal): Promise<ActionView> {
      const row = await mustFindAction(listingId, id);
      if (row.status === 'sent') return toActionView(row);
      if (row.status !== 'proposed') throw new AppError('auto_action_decided', `The proposal is ${row.status}`);
      const decidedBy = { ...actorOf(principal) };
      const messageId =
        row.action === 'escalate'
          ? null
          : (await messages.post(listingId, row.ticket_id, offerMessage(row, principal.role === 'csr' ? undefined : 'system'), principal)).message.id;
      await db.transaction(async (tx) => {
        // A dismissal racing the send loses: the offer is in the thread.
        if (await markDecided(tx, listingId, id, { status: 'sent', messageId, decidedBy, from: ['proposed', 'dismissed'] })) {
          await event(tx, listingId, EventNames.autoActionSent, row.ticket_id, { ...actionPayload(row), messageId }, actorOf(principal));
        }
      });
      return toActionView((await findAction(db, listingId, id))!);
    },

    async dismiss(listingId: string, id: string, reason: string | undefined, principal: Principal): Promise<ActionView> {
      const row = await mustFindAction(listingId, id);
      await db.transaction(async (tx) => {
        if (!(await markDecided(tx, listingId, id, { status: 'dismissed', messageId: null, decidedBy: { ...actorOf(principal), ...(reason ? { reason } : {}) }, from: ['proposed'] }))) {
          throw new AppError('auto_action_decided', `The proposal is ${row.status}`);
        }
        await event(tx, listingId, EventNames.autoActionDismissed, row.ticket_id, { ...actionPayload(row), reason: reason ?? null }, actorOf(principal));
      });
      return toActionView((await findAction(db, listingId, id))!);
    },

    /** The customer's answer to an offer message (what "converted" counts, with paid payment requests). */
    async respondToOffer(listingId: string, ticketId: string, messageId: string, accepted: boolean, principal: Principal): Promise<{ response: OfferResponseView; created: boolean }> {
      return db.transaction(async (tx) => {
        const message = await findOfferMessage(tx, listingId, ticketId, messageId);
        if (!message) throw new AppError('not_found', `Message ${messageId} not found in ticket ${ticketId}`);
        if (message.kind !== 'offer') throw new AppError('unprocessable', `Message ${messageId} is a ${message.kind}, not an offer`);
        const saved = await insertOfferResponse(tx, { listingId, ticketId, messageId, accepted, actor: { ...actorOf(principal) } });
        if (!saved.inserted && saved.accepted !== accepted) {
          throw new AppError('offer_answered', `The offer was already ${saved.accepted ? 'accepted' : 'declined'}`);
        }
        if (saved.inserted) await event(tx, listingId, accepted ? EventNames.offerAccepted : EventNames.offerDeclined, ticketId, { messageId }, actorOf(principal));
        return { response: { ticketId, messageId, accepted: saved.accepted, createdAt: saved.created_at }, created: saved.inserted };
      });
    },

    // -------------------------------------------------------------------------------------------
    // Analytics

    async analytics(listingId: string, rawQuery: unknown): Promise<AnalyticsView> {
      const query = analyticsQuery.parse(rawQuery);
      const rows = await armOutcomes(db, listingId, {
        ...(query.from ? { from: new Date(query.from) } : {}),
        ...(query.to ? { to: new Date(query.to) } : {}),
        ...(query.policyId ? { policyId: query.policyId } : {}),
      });
      return { policies: report(rows) };
    },

    /**
     * The message path's evaluation (after a ticket's predictions are refreshed): nothing at all
     * for a listing without an active policy, else `evaluate`. (An auto offer left unsent by a
     * failed delivery is retried by the next evaluation that runs; while the listing has no
     * active policy, none runs.)
     */
    async afterMessage(listingId: string, ticketId: string): Promise<EvaluationView | undefined> {
      if (!(await hasActivePolicies(listingId))) return undefined;
      return service.evaluate(listingId, { ticketId });
    },
  };

  return service;
}

export type AutoActionService = ReturnType<typeof createAutoActionService>;
