import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, isUniqueViolation, newId, type Database } from '../platform/index.ts';
import {
  cannedResponseBody,
  listCannedQuery,
  updateCannedResponseBody,
  type CannedResponseInput,
  type CannedResponseView,
  type CannedVersionView,
  type ListCannedInput,
  type UpdateCannedResponseInput,
} from './canned.schemas.ts';
import {
  findCanned,
  insertCanned,
  insertCannedVersion,
  listCanned,
  listCannedVersions,
  markCannedDeleted,
  replaceCanned,
  toCannedView,
  type CannedSnapshot,
} from './canned.store.ts';

const snapshotOf = (input: { title: string; text: string; shortcut?: string | undefined; tags: string[] }): CannedSnapshot => ({
  title: input.title,
  text: input.text,
  shortcut: input.shortcut ?? null,
  tags: [...new Set(input.tags)],
});

const shortcutTaken = (error: unknown, shortcut: string | null) =>
  isUniqueViolation(error) && shortcut !== null ? new AppError('canned_shortcut_taken', `Another canned response uses the shortcut "${shortcut}"`) : error;

/**
 * Canned content a listing's CSRs insert into conversations. Every save is a whole snapshot,
 * kept in the versions table, so any earlier wording can be seen and restored.
 */
export function createCannedService({ db }: { db: Database }) {
  return {
    async create(listingId: string, rawInput: CannedResponseInput, actor: Actor = {}): Promise<CannedResponseView> {
      const snapshot = snapshotOf(cannedResponseBody.parse(rawInput));
      try {
        return await db.transaction(async (tx) => {
          const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
          if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
          const row = await insertCanned(tx, listingId, newId(), snapshot);
          await insertCannedVersion(tx, row, actor);
          await appendEvent(tx, {
            listingId,
            name: EventNames.cannedResponseCreated,
            aggregateType: 'canned_response',
            aggregateId: row.id,
            payload: { version: row.version, title: row.title, shortcut: row.shortcut, tags: row.tags },
            actor,
          });
          return toCannedView(row);
        });
      } catch (error) {
        throw shortcutTaken(error, snapshot.shortcut);
      }
    },

    async get(listingId: string, id: string): Promise<CannedResponseView> {
      const row = await findCanned(db, listingId, id);
      if (!row) throw new AppError('not_found', `Canned response ${id} not found`);
      return toCannedView(row);
    },

    list: (listingId: string, query: ListCannedInput = {}): Promise<CannedResponseView[]> =>
      listCanned(db, listingId, listCannedQuery.parse(query)),

    /** Saves a new snapshot as the next version; an unchanged snapshot saves nothing. */
    async update(listingId: string, id: string, rawInput: UpdateCannedResponseInput, actor: Actor = {}): Promise<CannedResponseView> {
      const { baseVersion, ...content } = updateCannedResponseBody.parse(rawInput);
      const snapshot = snapshotOf(content);
      try {
        return await db.transaction(async (tx) => {
          const current = await findCanned(tx, listingId, id, { forUpdate: true });
          if (!current) throw new AppError('not_found', `Canned response ${id} not found`);
          if (baseVersion !== undefined && baseVersion !== current.version) {
            throw new AppError('canned_version_conflict', `Version ${baseVersion} is not current (it is ${current.version})`, { currentVersion: current.version });
          }
          const unchanged =
            current.title === snapshot.title &&
            current.text === snapshot.text &&
            current.shortcut === snapshot.shortcut &&
            current.tags.length === snapshot.tags.length &&
            current.tags.every((tag, index) => tag === snapshot.tags[index]);
          if (unchanged) return toCannedView(current);
          const row = await replaceCanned(tx, listingId, id, current.version + 1, snapshot);
          await insertCannedVersion(tx, row, actor);
          await appendEvent(tx, {
            listingId,
            name: EventNames.cannedResponseUpdated,
            aggregateType: 'canned_response',
            aggregateId: id,
            payload: { version: row.version, title: row.title, shortcut: row.shortcut, tags: row.tags },
            actor,
          });
          return toCannedView(row);
        });
      } catch (error) {
        throw shortcutTaken(error, snapshot.shortcut);
      }
    },

    async remove(listingId: string, id: string, actor: Actor = {}): Promise<void> {
      await db.transaction(async (tx) => {
        const current = await findCanned(tx, listingId, id, { forUpdate: true });
        if (!current) throw new AppError('not_found', `Canned response ${id} not found`);
        await markCannedDeleted(tx, listingId, id);
        await appendEvent(tx, {
          listingId,
          name: EventNames.cannedResponseDeleted,
          aggregateType: 'canned_response',
          aggregateId: id,
          payload: { version: current.version },
          actor,
        });
      });
    },

    async versions(listingId: string, id: string): Promise<CannedVersionView[]> {
      if (!(await findCanned(db, listingId, id))) throw new AppError('not_found', `Canned response ${id} not found`);
      return listCannedVersions(db, listingId, id);
    },
  };
}

export type CannedService = ReturnType<typeof createCannedService>;
