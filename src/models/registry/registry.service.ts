import { appendEvent, EventNames, type Actor } from '../../events/index.ts';
import { AppError, type Database, type Queryable } from '../../platform/index.ts';
import { findVersion, insertPromotion, insertVersion, listVersions, lockPromotions, promotionHistory, readArtifact } from './registry.store.ts';
import type { ModelArtifact, ModelVersion, ModelVersionMetadata } from './registry.types.ts';

/** Target names: lower-case words (`satisfaction`, `reply`, a custom label like `refund_requested`). */
const TARGET_NAME = /^[a-z][a-z0-9_.:-]{0,63}$/;

export interface SaveOptions {
  /** Promote the new version in the same transaction. */
  promote?: boolean;
  actor?: Actor;
}

/** A promotion row and its event; serving processes reload on the event. */
async function recordPromotion(
  tx: Queryable,
  listingId: string,
  target: string,
  version: number,
  reason: 'promote' | 'rollback',
  actor: Actor,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await insertPromotion(tx, listingId, target, version, reason, actor);
  await appendEvent(tx, { listingId, name: EventNames.modelPromoted, aggregateType: 'model', aggregateId: target, payload: { target, version, reason, ...extra }, actor });
}

export type ModelRegistry = ReturnType<typeof createModelRegistry>;

/**
 * Versions, promotion and rollback of model artifacts (registry.types.ts). Every change writes an
 * outbox event, which is also how serving processes learn that a promoted version changed.
 */
export function createModelRegistry({ db }: { db: Database }) {
  const checkTarget = (target: string) => {
    if (!TARGET_NAME.test(target)) throw new AppError('validation_failed', `"${target}" is not a target name (lower-case letters, digits, _ . : -)`);
  };
  const requireVersion = async (listingId: string, target: string, version: number) => {
    const found = await findVersion(db, listingId, target, version);
    if (!found) throw new AppError('not_found', `Model ${target} version ${version} not found`);
    return found;
  };

  return {
    async save(listingId: string, target: string, metadata: ModelVersionMetadata, bytes: Uint8Array, options: SaveOptions = {}): Promise<ModelVersion> {
      checkTarget(target);
      return db.transaction(async (tx) => {
        const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
        if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
        const saved = await insertVersion(tx, listingId, target, metadata, bytes);
        await appendEvent(tx, {
          listingId,
          name: EventNames.modelVersionSaved,
          aggregateType: 'model',
          aggregateId: target,
          payload: { target, version: saved.version, kind: saved.kind, featureSet: saved.featureSet, sizeBytes: saved.sizeBytes },
          actor: options.actor ?? {},
        });
        if (!options.promote) return saved;
        await lockPromotions(tx, listingId, target);
        await recordPromotion(tx, listingId, target, saved.version, 'promote', options.actor ?? {});
        return { ...saved, promoted: true };
      });
    },

    /** Versions newest first, per target. */
    list(listingId: string, target?: string): Promise<ModelVersion[]> {
      if (target !== undefined) checkTarget(target);
      return listVersions(db, listingId, target);
    },

    async get(listingId: string, target: string, version: number): Promise<ModelArtifact> {
      checkTarget(target);
      const found = await requireVersion(listingId, target, version);
      return { version: found, bytes: await readArtifact(db, found) };
    },

    /** The promoted version's number, or undefined: a cheap check for a server holding a loaded model. */
    async promotedVersion(listingId: string, target: string): Promise<number | undefined> {
      const [latest] = await promotionHistory(db, listingId, target, 1);
      return latest;
    },

    /** The promoted artifact, or undefined when nothing is promoted for the target. */
    async promoted(listingId: string, target: string): Promise<ModelArtifact | undefined> {
      const [latest] = await promotionHistory(db, listingId, target, 1);
      if (latest === undefined) return undefined;
      const found = await findVersion(db, listingId, target, latest);
      return found && { version: found, bytes: await readArtifact(db, found) };
    },

    async promote(listingId: string, target: string, version: number, actor: Actor = {}): Promise<ModelVersion> {
      checkTarget(target);
      return db.transaction(async (tx) => {
        await lockPromotions(tx, listingId, target);
        const found = await findVersion(tx, listingId, target, version);
        if (!found) throw new AppError('not_found', `Model ${target} version ${version} not found`);
        if (found.promoted) return found;
        await recordPromotion(tx, listingId, target, version, 'promote', actor);
        return { ...found, promoted: true };
      });
    },

    /**
     * Promotes again the version that was promoted before the current one. The rollback is itself
     * a promotion in the history, so a second rollback returns to where the first started.
     */
    async rollback(listingId: string, target: string, actor: Actor = {}): Promise<ModelVersion> {
      checkTarget(target);
      return db.transaction(async (tx) => {
        await lockPromotions(tx, listingId, target);
        const [current, previous] = await promotionHistory(tx, listingId, target, 2);
        if (current === undefined) throw new AppError('no_promoted_model', `No version of ${target} is promoted`);
        if (previous === undefined) throw new AppError('conflict', `Version ${current} of ${target} is the only one ever promoted; there is nothing to roll back to`);
        const found = await findVersion(tx, listingId, target, previous);
        if (!found) throw new AppError('not_found', `Model ${target} version ${previous} not found`);
        await recordPromotion(tx, listingId, target, previous, 'rollback', actor, { from: current });
        return { ...found, promoted: true };
      });
    },
  };
}
