import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, isUniqueViolation, newId, type Database, type Queryable } from '../platform/index.ts';
import { createCsrBody, type CreateCsrInput, type CsrView, type UpdateCsrInput } from './csrs.schemas.ts';

interface Row {
  id: string;
  listing_id: string;
  name: string;
  email: string | null;
  external_id: string | null;
  presence: CsrView['presence'];
  capacity: number;
  skills: string[];
  active_tickets: number;
  created_at: Date;
  updated_at: Date;
}

const toView = (row: Row): CsrView => ({
  id: row.id,
  listingId: row.listing_id,
  name: row.name,
  email: row.email,
  externalId: row.external_id,
  presence: row.presence,
  capacity: row.capacity,
  skills: row.skills,
  activeTickets: Number(row.active_tickets ?? 0),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const SELECT = `SELECT c.*, (SELECT count(*)::int FROM tickets t
                  WHERE t.listing_id = c.listing_id AND t.csr_id = c.id AND t.status = 'assigned') AS active_tickets
                  FROM csrs c`;

export async function findCsr(db: Queryable, listingId: string, id: string): Promise<CsrView | undefined> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE c.listing_id = $1 AND c.id = $2`, [listingId, id]);
  return rows[0] && toView(rows[0]);
}

export function createCsrService({ db }: { db: Database }) {
  const uniqueConflict = (error: unknown) =>
    isUniqueViolation(error) ? new AppError('conflict', 'A CSR with this e-mail or external id exists') : error;

  return {
    async create(listingId: string, rawInput: CreateCsrInput, actor?: Actor): Promise<CsrView> {
      const input = createCsrBody.parse(rawInput);
      const id = newId();
      try {
        return await db.transaction(async (tx) => {
          const listing = await tx.query('SELECT 1 FROM listings WHERE id = $1', [listingId]);
          if (listing.rowCount === 0) throw new AppError('not_found', `Listing ${listingId} not found`);
          await tx.query(
            `INSERT INTO csrs (id, listing_id, name, email, external_id, capacity, skills, presence)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [id, listingId, input.name, input.email ?? null, input.externalId ?? null, input.capacity, input.skills, input.presence],
          );
          await appendEvent(tx, {
            listingId,
            name: EventNames.csrCreated,
            aggregateType: 'csr',
            aggregateId: id,
            payload: { name: input.name, capacity: input.capacity, skills: input.skills, presence: input.presence },
            ...(actor ? { actor } : {}),
          });
          return (await findCsr(tx, listingId, id))!;
        });
      } catch (error) {
        throw uniqueConflict(error);
      }
    },

    async update(listingId: string, id: string, input: UpdateCsrInput, actor?: Actor): Promise<CsrView> {
      return db.transaction(async (tx) => {
        const before = await findCsr(tx, listingId, id);
        if (!before) throw new AppError('not_found', `CSR ${id} not found`);
        await tx.query(
          `UPDATE csrs SET name = COALESCE($3, name), capacity = COALESCE($4, capacity),
                  skills = COALESCE($5, skills), presence = COALESCE($6, presence), updated_at = now()
            WHERE listing_id = $1 AND id = $2`,
          [listingId, id, input.name ?? null, input.capacity ?? null, input.skills ?? null, input.presence ?? null],
        );
        await appendEvent(tx, {
          listingId,
          name: EventNames.csrUpdated,
          aggregateType: 'csr',
          aggregateId: id,
          payload: { ...input },
          ...(actor ? { actor } : {}),
        });
        if (input.presence && input.presence !== before.presence) {
          await appendEvent(tx, {
            listingId,
            name: EventNames.csrPresenceChanged,
            aggregateType: 'csr',
            aggregateId: id,
            payload: { from: before.presence, to: input.presence },
            ...(actor ? { actor } : {}),
          });
        }
        return (await findCsr(tx, listingId, id))!;
      });
    },

    async get(listingId: string, id: string): Promise<CsrView> {
      const csr = await findCsr(db, listingId, id);
      if (!csr) throw new AppError('not_found', `CSR ${id} not found`);
      return csr;
    },

    async list(listingId: string, filter: { presence?: CsrView['presence'] } = {}): Promise<CsrView[]> {
      const { rows } = await db.query<Row>(
        `${SELECT} WHERE c.listing_id = $1 AND ($2::text IS NULL OR c.presence = $2) ORDER BY c.name, c.id`,
        [listingId, filter.presence ?? null],
      );
      return rows.map(toView);
    },
  };
}

export type CsrService = ReturnType<typeof createCsrService>;
