import { getListing } from '../../listings/index.ts';
import { runSliced, type Clock, type Database } from '../../platform/index.ts';
import { isBusinessOpen, loadCalendar, type BusinessCalendar } from '../../schedule/index.ts';
import { compileRulesSteps, type CompiledRuleSet } from './compile.ts';
import { loadPublishedVersions, ruleSetRevision } from './rules.store.ts';

/** A listing's published rules, compiled, with what evaluating them needs from the listing. */
export interface PublishedRules {
  listingId: string;
  revision: number;
  set: CompiledRuleSet;
  listingName: string;
  /** Business hours as loaded (refreshed with the revision check). */
  isOpen(at: Date): boolean;
}

interface Entry {
  value: Promise<PublishedRules>;
  checkedAt: number;
  refreshing: boolean;
  /** Changed by this process since the last check: re-check at once, even if a check is running. */
  dirty: boolean;
}

export interface PublishedRulesCache {
  /** The compiled set, from the cache; a stale entry is re-checked in the background. */
  get(listingId: string): Promise<PublishedRules>;
  /** The compiled set after checking the revision now (authoring tools: never a stale answer). */
  getFresh(listingId: string): Promise<PublishedRules>;
  /** This process changed the listing's published set: recompile now, in the background. */
  invalidate(listingId: string): void;
}

const openFrom = (calendar: BusinessCalendar | undefined) =>
  calendar ? (at: Date) => isBusinessOpen(calendar.schedule, calendar.holidays, at) : () => true;

/**
 * Published rule sets compiled once per process and kept. How a change made by another process
 * (another api replica, the CLI) gets here: each entry re-reads its listing's `rule_sets.revision`
 * (one indexed single-row query) once `refreshMs` have passed, in the background, while requests
 * keep using the compiled set; a new revision recompiles. So a publish reaches every process within
 * about `refreshMs`, in every deployment mode, and nothing on the request path waits on Postgres.
 *
 * Why not the event bus: outbox events reach it only when the relay job runs (the worker, with
 * Redis), and Redis pub/sub drops messages while a subscriber reconnects, so a cache fed only by
 * events could stay stale indefinitely — it would need this check as a backstop anyway. The
 * process that makes a change starts recompiling at once (`invalidate`), and authoring tools
 * (POST /v1/rules/test) read through `getFresh`, which checks the revision first.
 *
 * The business calendar is refreshed on the same check, so schedule edits also apply within
 * `refreshMs` without a revision bump.
 */
export function createPublishedRulesCache({ db, clock, refreshMs }: { db: Database; clock: Clock; refreshMs: number }): PublishedRulesCache {
  const entries = new Map<string, Entry>();

  async function load(listingId: string, revision?: number): Promise<PublishedRules> {
    // The revision is read before the versions: a publish committing in between leaves this entry
    // with the older number, so the next check reloads rather than missing it.
    const current = revision ?? (await ruleSetRevision(db, listingId));
    const [listing, versions, calendar] = await Promise.all([
      getListing(db, listingId),
      loadPublishedVersions(db, listingId),
      loadCalendar(db, listingId, clock.now()),
    ]);
    return {
      listingId,
      revision: current,
      set: await runSliced(compileRulesSteps(versions)),
      listingName: listing?.name ?? listingId,
      isOpen: openFrom(calendar),
    };
  }

  function fresh(listingId: string, revision?: number): Entry {
    const entry: Entry = { value: load(listingId, revision), checkedAt: clock.now().getTime(), refreshing: false, dirty: false };
    entries.set(listingId, entry);
    // A failed load must not be cached: the next request tries again.
    entry.value.catch(() => {
      if (entries.get(listingId) === entry) entries.delete(listingId);
    });
    return entry;
  }

  /**
   * Re-reads the revision and recompiles when it moved; meanwhile requests keep the compiled set
   * they have (compiling thousands of rules takes a tenth of a second — no request waits for it).
   */
  async function revalidate(listingId: string, entry: Entry): Promise<void> {
    entry.refreshing = true;
    try {
      do {
        entry.dirty = false;
        const loaded = await entry.value;
        const revision = await ruleSetRevision(db, listingId);
        if (entries.get(listingId) !== entry) return;
        if (revision !== loaded.revision) {
          const next = await load(listingId, revision);
          if (entries.get(listingId) !== entry) return;
          entry.value = Promise.resolve(next);
        } else {
          loaded.isOpen = openFrom(await loadCalendar(db, listingId, clock.now()));
        }
        entry.checkedAt = clock.now().getTime();
      } while (entry.dirty);
    } catch {
      // Keep serving the compiled set; the next request past the interval tries again.
    } finally {
      entry.refreshing = false;
    }
  }

  return {
    get(listingId) {
      const entry = entries.get(listingId);
      if (!entry) return fresh(listingId).value;
      if (!entry.refreshing && clock.now().getTime() - entry.checkedAt >= refreshMs) void revalidate(listingId, entry);
      return entry.value;
    },
    async getFresh(listingId) {
      const entry = entries.get(listingId);
      if (!entry) return fresh(listingId).value;
      const loaded = await entry.value.catch(() => undefined);
      const revision = await ruleSetRevision(db, listingId);
      if (loaded && loaded.revision === revision) return loaded;
      return fresh(listingId, revision).value;
    },
    invalidate(listingId) {
      const entry = entries.get(listingId);
      if (!entry) return;
      entry.dirty = true;
      if (!entry.refreshing) void revalidate(listingId, entry);
    },
  };
}
