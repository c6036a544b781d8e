import type { Queryable } from '../platform/index.ts';

/**
 * Sticky agent (seed 001): a returning customer goes back to the CSR who served them last, when
 * that CSR is online, has spare capacity and covers the ticket's required skills. Locks the CSR
 * row so two simultaneous routings cannot both take its last free slot.
 */
export async function findStickyCsr(
  tx: Queryable,
  listingId: string,
  customerId: string,
  requiredSkills: readonly string[],
): Promise<string | undefined> {
  const { rows: previous } = await tx.query<{ csr_id: string }>(
    `SELECT csr_id FROM tickets
      WHERE listing_id = $1 AND customer_id = $2 AND csr_id IS NOT NULL
      ORDER BY created_at DESC LIMIT 1`,
    [listingId, customerId],
    { prepare: 'routing.previous_csr' },
  );
  const csrId = previous[0]?.csr_id;
  if (!csrId) return undefined;
  const { rows } = await tx.query<{ id: string }>(
    `SELECT c.id FROM csrs c
      WHERE c.listing_id = $1 AND c.id = $2 AND c.presence = 'online' AND $3::text[] <@ c.skills
        AND c.capacity > (SELECT count(*) FROM tickets t
                           WHERE t.listing_id = c.listing_id AND t.csr_id = c.id AND t.status = 'assigned')
      FOR UPDATE`,
    [listingId, csrId, requiredSkills],
    { prepare: 'routing.sticky_csr' },
  );
  return rows[0]?.id;
}

/** Whether a CSR's skills cover what a ticket needs (the rule the queue applies on pull). */
export const skillsCover = (csrSkills: readonly string[], required: readonly string[]): boolean =>
  required.every((skill) => csrSkills.includes(skill));
