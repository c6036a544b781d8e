import type { AnalyticsDb } from '../../analytics-store/index.ts';

/**
 * What the reply index and the ranker learn from: a listing's conversations from the analytics
 * store, with the per-turn satisfaction labels and the conversation outcome. Read once per
 * training run (named queries, typed rows), never on the request path.
 */

export type ReplyRole = 'customer' | 'csr' | 'bot' | 'system';

export interface ReplyMessage {
  seq: number;
  role: ReplyRole;
  text: string;
  /** A help article the message links to (ingest keeps it in message meta, e.g. IBM Twitter's agentURL reply). */
  url?: string;
  docId?: string;
}

export interface ReplyConversation {
  id: string;
  brand: string | null;
  messages: ReplyMessage[];
  /** Majority satisfaction rating after a message, by seq (USS rates customer turns). */
  turnSatisfaction: Map<number, number>;
  outcome: { resolved: boolean | null; satisfaction: number | null; converted: boolean | null };
}

interface ConversationRow {
  id: string;
  brand: string | null;
  resolved: boolean | null;
  satisfaction: number | null;
  converted: boolean | null;
}

interface MessageRow {
  interaction_id: string;
  seq: number;
  role: ReplyRole;
  txt: string;
  url: string | null;
  doc_id: string | null;
}

/** Every conversation of a listing with its messages (ordered by id, then seq). */
export async function readReplyConversations(db: AnalyticsDb, listingId: string): Promise<ReplyConversation[]> {
  const conversations = await db.all<ConversationRow>(
    `SELECT id, brand, resolved, satisfaction::INTEGER AS satisfaction, converted
     FROM interactions WHERE listing_id = $listing ORDER BY id`,
    { listing: listingId },
  );
  const byId = new Map<string, ReplyConversation>();
  const list: ReplyConversation[] = conversations.map((row) => {
    const conversation: ReplyConversation = {
      id: row.id,
      brand: row.brand,
      messages: [],
      turnSatisfaction: new Map(),
      outcome: { resolved: row.resolved, satisfaction: row.satisfaction, converted: row.converted },
    };
    byId.set(row.id, conversation);
    return conversation;
  });
  const messages = await db.all<MessageRow>(
    `SELECT interaction_id, seq, role, coalesce(text, transcript, '') AS txt,
            json_extract_string(meta, '$.url') AS url, json_extract_string(meta, '$.docId') AS doc_id
     FROM messages WHERE listing_id = $listing ORDER BY interaction_id, seq`,
    { listing: listingId },
  );
  for (const row of messages) {
    const conversation = byId.get(row.interaction_id);
    if (!conversation) continue;
    conversation.messages.push({
      seq: row.seq,
      role: row.role,
      text: row.txt,
      ...(row.url ? { url: row.url } : {}),
      ...(row.doc_id ? { docId: row.doc_id } : {}),
    });
  }
  const labels = await db.all<{ interaction_id: string; seq: number; value: number }>(
    `SELECT interaction_id, seq, value_num AS value FROM labels
     WHERE listing_id = $listing AND kind = 'turn' AND name = 'satisfaction' AND value_num IS NOT NULL`,
    { listing: listingId },
  );
  for (const row of labels) byId.get(row.interaction_id)?.turnSatisfaction.set(row.seq, row.value);
  return list;
}
