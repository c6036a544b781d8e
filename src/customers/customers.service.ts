import { EventNames, type Actor } from '../events/index.ts';
import { AppError, newId, type Database, type Queryable } from '../platform/index.ts';
import { createCustomerBody, type CreateCustomerInput, type CustomerRef, type CustomerView, type Identity } from './customers.schemas.ts';

interface Row {
  id: string;
  listing_id: string;
  display_name: string | null;
  created_at: Date;
  identities: Array<{ kind: Identity['kind']; value: string }> | null;
}

const toView = (row: Row): CustomerView => ({
  id: row.id,
  listingId: row.listing_id,
  displayName: row.display_name,
  identities: row.identities ?? [],
  createdAt: row.created_at,
});

const SELECT = `SELECT c.*, (SELECT coalesce(json_agg(json_build_object('kind', i.kind, 'value', i.value) ORDER BY i.kind, i.value), '[]'::json)
                  FROM customer_identities i WHERE i.listing_id = c.listing_id AND i.customer_id = c.id) AS identities
                  FROM customers c`;

export async function findCustomer(db: Queryable, listingId: string, id: string): Promise<CustomerView | undefined> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE c.listing_id = $1 AND c.id = $2`, [listingId, id]);
  return rows[0] && toView(rows[0]);
}

async function customerIdsFor(tx: Queryable, listingId: string, identities: readonly Identity[]): Promise<string[]> {
  if (identities.length === 0) return [];
  const { rows } = await tx.query<{ customer_id: string }>(
    `SELECT DISTINCT customer_id FROM customer_identities
      WHERE listing_id = $1 AND (kind, value) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
    [listingId, identities.map((identity) => identity.kind), identities.map((identity) => identity.value)],
    { prepare: 'customers.ids_for_identities' },
  );
  return rows.map((row) => row.customer_id);
}

/** Links identities to a customer; those already linked to anyone are left as they are. */
async function linkIdentities(tx: Queryable, listingId: string, customerId: string, identities: readonly Identity[], actor?: Actor) {
  for (const identity of identities) {
    // The event only for an identity this statement linked (ON CONFLICT left the others alone).
    await tx.query(
      `WITH linked AS (
         INSERT INTO customer_identities (listing_id, kind, value, customer_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING
         RETURNING listing_id, kind, customer_id
       )
       INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload, actor)
       SELECT listing_id, '${EventNames.customerIdentityLinked}', 'customer', customer_id::text, jsonb_build_object('kind', kind), $5::jsonb
         FROM linked`,
      [listingId, identity.kind, identity.value, customerId, JSON.stringify(actor ?? {})],
      { prepare: 'customers.link_identity' },
    );
  }
}

/**
 * Two first contacts from the same new phone number must not create two customers: a
 * transaction-scoped advisory lock per identity serialises them (sorted, so no deadlock).
 */
async function lockIdentities(tx: Queryable, listingId: string, identities: readonly Identity[]) {
  const keys = [...new Set(identities.map((identity) => `${listingId}:${identity.kind}:${identity.value}`))].sort();
  for (const key of keys) await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key], { prepare: 'locks.advisory' });
}

async function insertCustomer(tx: Queryable, listingId: string, displayName: string | undefined, actor?: Actor) {
  const id = newId();
  // The row and its event in one round trip.
  await tx.query(
    `WITH c AS (INSERT INTO customers (id, listing_id, display_name) VALUES ($1, $2, $3) RETURNING id, listing_id)
     INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload, actor)
     SELECT listing_id, '${EventNames.customerCreated}', 'customer', id::text, '{}'::jsonb, $4::jsonb FROM c`,
    [id, listingId, displayName ?? null, JSON.stringify(actor ?? {})],
    { prepare: 'customers.insert' },
  );
  return id;
}

/**
 * Finds the customer one of these identities belongs to, or creates one; identities not yet
 * linked are linked to that customer. Runs inside the caller's transaction. `created`: the
 * customer is new in this transaction, so nothing else can refer to it yet (no tickets, and no
 * other transaction sees it before this one commits).
 */
export async function resolveCustomer(tx: Queryable, listingId: string, ref: CustomerRef, actor?: Actor): Promise<{ customerId: string; created: boolean }> {
  await lockIdentities(tx, listingId, ref.identities);
  const [existing] = await customerIdsFor(tx, listingId, ref.identities);
  const customerId = existing ?? (await insertCustomer(tx, listingId, ref.displayName, actor));
  await linkIdentities(tx, listingId, customerId, ref.identities, actor);
  return { customerId, created: existing === undefined };
}

export function createCustomerService({ db }: { db: Database }) {
  return {
    async create(listingId: string, rawInput: CreateCustomerInput, actor?: Actor): Promise<CustomerView> {
      const input = createCustomerBody.parse(rawInput);
      return db.transaction(async (tx) => {
        await lockIdentities(tx, listingId, input.identities);
        const taken = await customerIdsFor(tx, listingId, input.identities);
        if (taken.length > 0) {
          throw new AppError('identity_taken', 'One of these identities already belongs to a customer', { customerId: taken[0] });
        }
        const id = await insertCustomer(tx, listingId, input.displayName, actor);
        await linkIdentities(tx, listingId, id, input.identities, actor);
        return (await findCustomer(tx, listingId, id))!;
      });
    },

    async addIdentity(listingId: string, customerId: string, identity: Identity, actor?: Actor): Promise<CustomerView> {
      return db.transaction(async (tx) => {
        if (!(await findCustomer(tx, listingId, customerId))) throw new AppError('not_found', `Customer ${customerId} not found`);
        await lockIdentities(tx, listingId, [identity]);
        const [owner] = await customerIdsFor(tx, listingId, [identity]);
        if (owner && owner !== customerId) {
          throw new AppError('identity_taken', `This ${identity.kind} belongs to another customer`, { customerId: owner });
        }
        await linkIdentities(tx, listingId, customerId, [identity], actor);
        return (await findCustomer(tx, listingId, customerId))!;
      });
    },

    async get(listingId: string, id: string): Promise<CustomerView> {
      const customer = await findCustomer(db, listingId, id);
      if (!customer) throw new AppError('not_found', `Customer ${id} not found`);
      return customer;
    },

    async findByIdentity(listingId: string, identity: Identity): Promise<CustomerView | undefined> {
      const [id] = await customerIdsFor(db, listingId, [identity]);
      return id ? findCustomer(db, listingId, id) : undefined;
    },

    async list(listingId: string, page: { limit: number; after?: string }): Promise<CustomerView[]> {
      const { rows } = await db.query<Row>(
        `${SELECT} WHERE c.listing_id = $1 AND ($2::uuid IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3`,
        [listingId, page.after ?? null, page.limit],
      );
      return rows.map(toView);
    },
  };
}

export type CustomerService = ReturnType<typeof createCustomerService>;
