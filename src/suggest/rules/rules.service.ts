import type { AnalyticsOwner } from '../../analytics-store/index.ts';
import { appendEvent, EventNames, type Actor } from '../../events/index.ts';
import { getListing } from '../../listings/index.ts';
import { AppError, newId, type Clock, type Database, type Queryable, type Transaction } from '../../platform/index.ts';
import type { RuleAnalyticsInput, RuleAnalyticsView } from '../log/index.ts';
import { isBusinessOpen, loadCalendar } from '../../schedule/index.ts';
import { compileRules, type RuleSource } from './compile.ts';
import { createConversation, createWordsCache, type ConversationMessage } from './conversation.ts';
import { evaluateRules, type Evaluation } from './evaluate.ts';
import { ruleReplayBody, ruleTestBody, type RuleReplayInput, type RuleReplayView, type RuleTestInput, type RuleTestView } from './evaluation.schemas.ts';
import { createPublishedRulesCache, type PublishedRules } from './published-rules.ts';
import { replayRule } from './replay.ts';
import {
  listRulesQuery,
  publishRuleBody,
  rollbackRuleBody,
  ruleDefinition,
  updateRuleBody,
  type ListRulesInput,
  type RuleDefinition,
  type RuleDefinitionInput,
  type RuleVersionView,
  type RuleView,
  type UpdateRuleInput,
} from './rules.schemas.ts';
import {
  advanceRule,
  bumpRuleSetRevision,
  findRule,
  findRuleVersion,
  insertRule,
  insertRuleVersion,
  listRules,
  listRuleVersions,
  loadLatestVersions,
  markRuleDeleted,
  setPublished,
  toRuleView,
  type RuleRow,
} from './rules.store.ts';
import { templateValues } from './templates.ts';

export interface RulesServiceDeps {
  db: Database;
  clock: Clock;
  /** Checks that a rule's canned actions name canned responses of the listing. */
  canned: { get(listingId: string, id: string): Promise<unknown> };
  /** Per-rule counts from the suggestion log. */
  stats: { ruleStats(listingId: string, ruleId: string, query?: RuleAnalyticsInput): Promise<RuleAnalyticsView> };
  /** How long a process serves its compiled published set before re-checking the revision (ms). */
  refreshMs?: number;
}

/** A live conversation as the suggest API hands it over. */
export interface LiveConversation {
  messages: readonly ConversationMessage[];
  ticketSource?: string | undefined;
  customerName?: string | undefined;
  csrName?: string | undefined;
  ticketRef?: string | undefined;
  /** Predicted outcome risk per model target (the outcome models' scorer). */
  risk?: ((target: string) => number | undefined) | undefined;
  now?: Date | undefined;
}

const notFound = (id: string) => new AppError('not_found', `Rule ${id} not found`);
/** JSON with object keys sorted: jsonb does not keep key order, so a stored definition reads back reordered. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
const sameDefinition = (a: RuleDefinition, b: RuleDefinition) => canonical(a) === canonical(b);

/**
 * Keyword AI rules: authoring with versions (every save is a new version, publish picks the
 * version the suggest API evaluates, rollback restores an earlier one as a new version), testing
 * against sample messages, replay over past conversations, and live evaluation of the compiled
 * published set.
 */
export function createRulesService({ db, clock, canned, stats, refreshMs = 1000 }: RulesServiceDeps) {
  const published = createPublishedRulesCache({ db, clock, refreshMs });
  const words = createWordsCache();

  /** Canned ids that are not the listing's: a validation problem pointing at each. */
  async function checkCanned(listingId: string, definition: RuleDefinition): Promise<void> {
    const errors: Array<{ path: string; message: string }> = [];
    for (const [actionIndex, action] of definition.actions.entries()) {
      if (action.type !== 'canned') continue;
      for (const [idIndex, id] of action.cannedResponseIds.entries()) {
        try {
          await canned.get(listingId, id);
        } catch (error) {
          if (!(error instanceof AppError) || error.code !== 'not_found') throw error;
          errors.push({ path: `body.actions.${actionIndex}.cannedResponseIds.${idIndex}`, message: `no canned response ${id} in this listing` });
        }
      }
    }
    if (errors.length > 0) throw new AppError('validation_failed', errors.map((error) => `${error.path}: ${error.message}`).join('; '), { errors });
  }

  async function viewOf(db: Queryable, row: RuleRow): Promise<RuleView> {
    const definition = await findRuleVersion(db, row.listing_id, row.id, row.latest_version);
    return toRuleView(row, definition!);
  }

  async function event(tx: Transaction, listingId: string, name: (typeof EventNames)[keyof typeof EventNames], ruleId: string, payload: Record<string, unknown>, actor: Actor) {
    await appendEvent(tx, { listingId, name, aggregateType: 'rule', aggregateId: ruleId, payload, actor });
  }

  async function calendarCheck(listingId: string, now: Date) {
    const calendar = await loadCalendar(db, listingId, now);
    return calendar ? (at: Date) => isBusinessOpen(calendar.schedule, calendar.holidays, at) : () => true;
  }

  return {
    async create(listingId: string, rawInput: RuleDefinitionInput, actor: Actor = {}): Promise<RuleView> {
      const definition = ruleDefinition.parse(rawInput);
      await checkCanned(listingId, definition);
      return db.transaction(async (tx) => {
        const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
        if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
        const row = await insertRule(tx, listingId, newId(), definition);
        await insertRuleVersion(tx, { listingId, ruleId: row.id, version: 1, definition, actor });
        await event(tx, listingId, EventNames.ruleCreated, row.id, { version: 1, name: definition.name, priority: definition.priority }, actor);
        return toRuleView(row, definition);
      });
    },

    async get(listingId: string, id: string): Promise<RuleView> {
      const row = await findRule(db, listingId, id);
      if (!row) throw notFound(id);
      return viewOf(db, row);
    },

    async list(listingId: string, rawQuery: ListRulesInput = {}): Promise<RuleView[]> {
      const rows = await listRules(db, listingId, listRulesQuery.parse(rawQuery));
      return rows.map(({ row, definition }) => toRuleView(row, definition));
    },

    /** Saves the definition as the next version; the published version stays until a publish. */
    async update(listingId: string, id: string, rawInput: UpdateRuleInput, actor: Actor = {}): Promise<RuleView> {
      const { baseVersion, ...definition } = updateRuleBody.parse(rawInput);
      await checkCanned(listingId, definition);
      return db.transaction(async (tx) => {
        const current = await findRule(tx, listingId, id, { forUpdate: true });
        if (!current) throw notFound(id);
        if (baseVersion !== undefined && baseVersion !== current.latest_version) {
          throw new AppError('rule_version_conflict', `Version ${baseVersion} is not the latest (it is ${current.latest_version})`, { latestVersion: current.latest_version });
        }
        const latest = await findRuleVersion(tx, listingId, id, current.latest_version);
        if (latest && sameDefinition(latest, definition)) return toRuleView(current, latest);
        const version = current.latest_version + 1;
        await insertRuleVersion(tx, { listingId, ruleId: id, version, definition, actor });
        const row = await advanceRule(tx, listingId, id, version, definition, false);
        await event(tx, listingId, EventNames.ruleUpdated, id, { version, name: definition.name, priority: definition.priority }, actor);
        return toRuleView(row, definition);
      });
    },

    /** Fired, shown, used, edited and ignored over a period (404 for a deleted or foreign rule). */
    async analytics(listingId: string, id: string, query: RuleAnalyticsInput = {}): Promise<RuleAnalyticsView> {
      if (!(await findRule(db, listingId, id))) throw notFound(id);
      return stats.ruleStats(listingId, id, query);
    },

    async versions(listingId: string, id: string): Promise<RuleVersionView[]> {
      const row = await findRule(db, listingId, id);
      if (!row) throw notFound(id);
      return listRuleVersions(db, listingId, id, row.published_version);
    },

    /** Makes a version (default: the latest) the one the suggest API evaluates. */
    async publish(listingId: string, id: string, rawInput: { version?: number | undefined } | null = {}, actor: Actor = {}): Promise<RuleView> {
      const input = publishRuleBody.parse(rawInput) ?? {};
      const view = await db.transaction(async (tx) => {
        const current = await findRule(tx, listingId, id, { forUpdate: true });
        if (!current) throw notFound(id);
        const version = input.version ?? current.latest_version;
        if (!(await findRuleVersion(tx, listingId, id, version))) throw new AppError('not_found', `Rule ${id} has no version ${version}`);
        if (current.published_version === version) return viewOf(tx, current);
        const row = await setPublished(tx, listingId, id, version);
        const revision = await bumpRuleSetRevision(tx, listingId);
        await event(tx, listingId, EventNames.rulePublished, id, { version, previousVersion: current.published_version, revision }, actor);
        return viewOf(tx, row);
      });
      published.invalidate(listingId);
      return view;
    },

    /**
     * Goes back to an earlier version by saving a copy of it as the next version (so history only
     * grows and the rollback itself is on record); a published rule publishes the copy at once,
     * since a rollback is how a bad publish is undone.
     */
    async rollback(listingId: string, id: string, rawInput: { version: number }, actor: Actor = {}): Promise<RuleView> {
      const { version: target } = rollbackRuleBody.parse(rawInput);
      const view = await db.transaction(async (tx) => {
        const current = await findRule(tx, listingId, id, { forUpdate: true });
        if (!current) throw notFound(id);
        const definition = await findRuleVersion(tx, listingId, id, target);
        if (!definition) throw new AppError('not_found', `Rule ${id} has no version ${target}`);
        if (target === current.latest_version) {
          throw new AppError('rule_version_conflict', `Version ${target} is already the latest`, { latestVersion: current.latest_version });
        }
        const version = current.latest_version + 1;
        const publish = current.status === 'published';
        await insertRuleVersion(tx, { listingId, ruleId: id, version, definition, restoredFrom: target, actor });
        const row = await advanceRule(tx, listingId, id, version, definition, publish);
        const revision = publish ? await bumpRuleSetRevision(tx, listingId) : null;
        await event(tx, listingId, EventNames.ruleRolledBack, id, { version, restoredFrom: target, published: publish, revision }, actor);
        return toRuleView(row, definition);
      });
      published.invalidate(listingId);
      return view;
    },

    async remove(listingId: string, id: string, actor: Actor = {}): Promise<void> {
      await db.transaction(async (tx) => {
        const current = await findRule(tx, listingId, id, { forUpdate: true });
        if (!current) throw notFound(id);
        await markRuleDeleted(tx, listingId, id);
        const revision = current.status === 'published' ? await bumpRuleSetRevision(tx, listingId) : null;
        await event(tx, listingId, EventNames.ruleDeleted, id, { version: current.latest_version, publishedVersion: current.published_version, revision }, actor);
      });
      published.invalidate(listingId);
    },

    /** Which rules fire for sample messages, and why: the published set, or chosen drafts. */
    async test(listingId: string, rawInput: RuleTestInput): Promise<RuleTestView> {
      const input = ruleTestBody.parse(rawInput);
      const now = input.now ? new Date(input.now) : clock.now();
      const selected = input.ruleIds !== undefined || input.rules !== undefined;
      let rules: PublishedRules | undefined;
      let set;
      let listingName: string;
      let isOpen: (at: Date) => boolean;
      if (selected) {
        const ids = [...new Set(input.ruleIds ?? [])];
        const saved = ids.length > 0 ? await loadLatestVersions(db, listingId, ids) : [];
        const missing = ids.find((id) => !saved.some((source) => source.ruleId === id));
        if (missing) throw notFound(missing);
        const inline: RuleSource[] = (input.rules ?? []).map((definition) => ({ ruleId: null, version: null, definition }));
        set = compileRules([...saved, ...inline]);
        const listing = await getListing(db, listingId);
        if (!listing) throw new AppError('not_found', `Listing ${listingId} not found`);
        listingName = listing.name;
        isOpen = await calendarCheck(listingId, now);
      } else {
        rules = await published.getFresh(listingId);
        set = rules.set;
        listingName = rules.listingName;
        isOpen = rules.isOpen;
      }
      const conversation = createConversation(
        input.messages.map((message) => ({ role: message.role, text: message.text, channel: message.channel, tsMs: message.ts ? Date.parse(message.ts) : undefined, seq: message.seq })),
      );
      const context = {
        now,
        isOpen,
        risk: (target: string) => input.risk?.[target],
        ticketSource: input.ticket?.source,
        values: templateValues({ customerName: input.customer?.name, csrName: input.csr?.name, listingName, ticketRef: input.ticket?.ref }),
      };
      const evaluation = evaluateRules(set, conversation, context);
      const explained = evaluateRules(set, conversation, context, { explain: true });
      const explanations = (explained.explanations ?? []).filter((explanation) => selected || explanation.fired);
      return {
        tested: selected ? 'selected' : 'published',
        revision: rules?.revision ?? null,
        rules: set.rules.length,
        evaluated: evaluation.evaluated,
        fired: evaluation.fired,
        stoppedBy: evaluation.stoppedBy ? { ruleId: evaluation.stoppedBy.ruleId, name: evaluation.stoppedBy.name } : null,
        explanations,
      };
    },

    /** Runs a draft (or saved) rule over the listing's past conversations in the analytics store. */
    async replay(listingId: string, rawInput: RuleReplayInput, analytics: AnalyticsOwner | undefined): Promise<RuleReplayView> {
      const input = ruleReplayBody.parse(rawInput);
      let source: RuleSource;
      if (input.ruleId !== undefined) {
        const row = await findRule(db, listingId, input.ruleId);
        if (!row) throw notFound(input.ruleId);
        const version = input.version ?? row.latest_version;
        const definition = await findRuleVersion(db, listingId, input.ruleId, version);
        if (!definition) throw new AppError('not_found', `Rule ${input.ruleId} has no version ${version}`);
        source = { ruleId: input.ruleId, version, definition };
      } else {
        const definition = input.rule!;
        await checkCanned(listingId, definition);
        source = { ruleId: null, version: null, definition };
      }
      if (!analytics) {
        throw new AppError(
          'unavailable',
          'replay reads the analytics store, which only the process that runs jobs opens: with REDIS_URL that is the worker, not this api process. ' +
            'Send the request to an api process without REDIS_URL (embedded mode), or test the rule on sample messages with POST /v1/rules/test',
        );
      }
      const isOpen = await calendarCheck(listingId, new Date(0));
      return replayRule(analytics, listingId, source, {
        fromMs: input.from ? Date.parse(`${input.from}T00:00:00Z`) : undefined,
        toMs: input.to ? Date.parse(`${input.to}T00:00:00Z`) + 86_400_000 : undefined,
        limit: input.limit,
        sample: input.sample,
        isOpen,
      });
    },

    /**
     * The suggest API's entry point: the listing's published rules that fire for the conversation
     * (latest message last), highest priority first, with matched terms and rendered actions.
     * Compiled once per publish; no database access unless the set is not loaded yet.
     */
    async evaluate(listingId: string, conversation: LiveConversation): Promise<Evaluation & { revision: number }> {
      const rules = await published.get(listingId);
      const evaluation = evaluateRules(rules.set, createConversation(conversation.messages, words), {
        now: conversation.now ?? clock.now(),
        isOpen: rules.isOpen,
        risk: conversation.risk,
        ticketSource: conversation.ticketSource,
        values: templateValues({ customerName: conversation.customerName, csrName: conversation.csrName, listingName: rules.listingName, ticketRef: conversation.ticketRef }),
      });
      return { ...evaluation, revision: rules.revision };
    },

    /** The compiled published set (for callers that evaluate many conversations themselves). */
    published: (listingId: string): Promise<PublishedRules> => published.get(listingId),
  };
}

export type RulesService = ReturnType<typeof createRulesService>;
