import { createHash } from 'node:crypto';
import { appendEvent, EventNames } from '../events/index.ts';
import { AppError, isUniqueViolation, type Database, type Queryable } from '../platform/index.ts';
import type { CreateListingInput, ListingView, UpdateListingInput } from './listings.schemas.ts';

interface Row {
  id: string;
  name: string;
  ref_prefix: string;
  timezone: string;
  created_at: Date;
  updated_at: Date;
}

const toView = (row: Row): ListingView => ({
  id: row.id,
  name: row.name,
  refPrefix: row.ref_prefix,
  timezone: row.timezone,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** "acme-retail" → "ACMERE": a readable default for ticket references. */
export const defaultRefPrefix = (id: string): string => id.replace(/[^a-z0-9]/g, '').toUpperCase().slice(0, 6) || 'T';

export async function getListing(db: Queryable, id: string): Promise<ListingView | undefined> {
  const { rows } = await db.query<Row>('SELECT * FROM listings WHERE id = $1', [id]);
  return rows[0] && toView(rows[0]);
}

export function createListingService({ db }: { db: Database }) {
  return {
    async create(input: CreateListingInput): Promise<ListingView> {
      try {
        return await db.transaction(async (tx) => {
          // Identifiers are capped at 63 bytes and listing ids may be that long: name the sequence by hash.
          const sequence = `ticket_ref_${createHash('md5').update(input.id).digest('hex').slice(0, 16)}`;
          const existing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [input.id]);
          if (existing.rowCount > 0) throw new AppError('listing_exists', `Listing ${input.id} already exists`);
          await tx.query(`CREATE SEQUENCE "${sequence}"`);
          const { rows } = await tx.query<Row>(
            `INSERT INTO listings (id, name, ref_prefix, timezone, ref_sequence) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
            [input.id, input.name, input.refPrefix ?? defaultRefPrefix(input.id), input.timezone ?? 'UTC', sequence],
          );
          const listing = toView(rows[0]!);
          await appendEvent(tx, {
            listingId: listing.id,
            name: EventNames.listingCreated,
            aggregateType: 'listing',
            aggregateId: listing.id,
            payload: { name: listing.name, refPrefix: listing.refPrefix, timezone: listing.timezone },
          });
          return listing;
        });
      } catch (error) {
        // A concurrent create of the same id fails on the listing key or on its sequence (42P07).
        if (isUniqueViolation(error) || (error as { code?: string }).code === '42P07') {
          throw new AppError('listing_exists', `Listing ${input.id} already exists`);
        }
        throw error;
      }
    },

    async update(id: string, input: UpdateListingInput): Promise<ListingView> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<Row>(
          `UPDATE listings SET name = COALESCE($2, name), ref_prefix = COALESCE($3, ref_prefix),
                  timezone = COALESCE($4, timezone), updated_at = now()
            WHERE id = $1 RETURNING *`,
          [id, input.name ?? null, input.refPrefix ?? null, input.timezone ?? null],
        );
        if (!rows[0]) throw new AppError('not_found', `Listing ${id} not found`);
        await appendEvent(tx, {
          listingId: id,
          name: EventNames.listingUpdated,
          aggregateType: 'listing',
          aggregateId: id,
          payload: { ...input },
        });
        return toView(rows[0]);
      });
    },

    find: (id: string): Promise<ListingView | undefined> => getListing(db, id),

    async get(id: string): Promise<ListingView> {
      const listing = await getListing(db, id);
      if (!listing) throw new AppError('not_found', `Listing ${id} not found`);
      return listing;
    },

    async list(): Promise<ListingView[]> {
      const { rows } = await db.query<Row>('SELECT * FROM listings ORDER BY id');
      return rows.map(toView);
    },
  };
}

export type ListingService = ReturnType<typeof createListingService>;
