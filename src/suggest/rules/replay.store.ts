import type { AnalyticsDb } from '../../analytics-store/index.ts';

/** One past conversation's header: what replay reports outcomes by. */
export interface ReplayConversation {
  id: string;
  sourceChannel: string | null;
  resolved: boolean | null;
  satisfaction: number | null;
  converted: boolean | null;
}

/**
 * The listing's most recent conversations (created in [fromMs, toMs) when given), newest first,
 * at most `limit`. Conversations without a creation time come last.
 */
export async function listReplayConversations(
  db: AnalyticsDb,
  listingId: string,
  options: { fromMs?: number | undefined; toMs?: number | undefined; limit: number },
): Promise<ReplayConversation[]> {
  const filters = ['listing_id = $listing'];
  const params: Record<string, string | number> = { listing: listingId, limit: options.limit };
  if (options.fromMs !== undefined) {
    filters.push('epoch_ms(created_at) >= $fromMs');
    params.fromMs = options.fromMs;
  }
  if (options.toMs !== undefined) {
    filters.push('epoch_ms(created_at) < $toMs');
    params.toMs = options.toMs;
  }
  const rows = await db.all<{ id: string; source_channel: string | null; resolved: boolean | null; satisfaction: number | null; converted: boolean | null }>(
    `SELECT id, source_channel, resolved, satisfaction::INTEGER AS satisfaction, converted
       FROM interactions WHERE ${filters.join(' AND ')}
      ORDER BY created_at DESC NULLS LAST, id LIMIT $limit`,
    params,
  );
  return rows.map((row) => ({ id: row.id, sourceChannel: row.source_channel, resolved: row.resolved, satisfaction: row.satisfaction, converted: row.converted }));
}
