import { z } from 'zod';
import type { InteractionInput } from '../interaction.schemas.ts';
import { describeIssues, type Adapter } from './adapter.ts';
import { jsonArrayAdapter } from './jsonl.adapter.ts';

/**
 * IBM's Twitter customer-care threads ("twitter-customer-care-document-prediction", the
 * ../shared/data/ibm-twitter/dev.json format): a JSON array of `{dialogHeader, dialogContent,
 * agentURL}`. Every thread goes into the listing being ingested, keeping its company as `brand`
 * and `queue`, so one listing can serve several brands.
 *
 * Senders are keyed `client`, `client1` (a second customer in the thread) → customer and
 * `agent` → csr. The `agentURL` reply (the agent sending a help article) is appended as the final
 * CSR message with its URL and doc id in `meta`, and the doc id is also an outcome label
 * (`doc_id`) for document prediction. That reply has no timestamp in the data; a tweet id is a
 * Twitter snowflake whose top bits are milliseconds since 2010-11-04, which gives it exactly.
 */

const tweet = z.record(z.string(), z.string());
const thread = z.object({
  dialogHeader: z.object({
    company: z.string().min(1),
    conversationDateTime: z.string(),
    duration: z.string().optional(),
    messageCount: z.string().optional(),
    sessionID: z.string().min(1),
  }),
  dialogContent: z.array(tweet),
  agentURL: z
    .object({ doc_id: z.string(), turn: z.string().optional(), tweet_ID: z.string(), url: z.string(), url_utterance: z.string() })
    .optional(),
});

const TWITTER_EPOCH_MS = 1288834974657n;
const customerKeys = new Set(['client', 'client1']);

export function snowflakeTime(tweetId: string): string | undefined {
  if (!/^\d{15,20}$/.test(tweetId)) return undefined;
  const ms = Number((BigInt(tweetId) >> 22n) + TWITTER_EPOCH_MS);
  return new Date(ms).toISOString();
}

function parseDuration(value: string | undefined): number | undefined {
  const match = value?.match(/^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/);
  if (!match) return undefined;
  return (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000;
}

export function threadToInteraction(value: unknown): { ok: true; record: InteractionInput } | { ok: false; detail: string } {
  const parsed = thread.safeParse(value);
  if (!parsed.success) return { ok: false, detail: describeIssues(parsed.error.issues) };
  const { dialogHeader: header, dialogContent: content, agentURL: reply } = parsed.data;
  const messages: InteractionInput['messages'] = [];
  let customerId: string | undefined;
  for (const [position, item] of content.entries()) {
    const senderKey = Object.keys(item).find((key) => customerKeys.has(key) || key === 'agent');
    if (!senderKey) return { ok: false, detail: `dialogContent.${position}: no sender (expected client, client1 or agent)` };
    const role = senderKey === 'agent' ? 'csr' : 'customer';
    if (role === 'customer' && customerId === undefined) customerId = `twitter:${item[senderKey]}`;
    messages.push({
      role,
      text: item.message ?? '',
      channel: 'twitter',
      ...(item.datetime ? { ts: item.datetime } : {}),
      ...(item.tweet_ID ? { id: item.tweet_ID } : {}),
      meta: { sender: item[senderKey] ?? '', senderKey },
    });
  }
  const started = header.conversationDateTime;
  const durationMs = parseDuration(header.duration);
  let endedAt = durationMs !== undefined && !Number.isNaN(Date.parse(started)) ? new Date(Date.parse(started) + durationMs).toISOString() : undefined;
  if (reply) {
    const ts = snowflakeTime(reply.tweet_ID) ?? endedAt;
    messages.push({
      role: 'csr',
      text: reply.url_utterance,
      channel: 'twitter',
      id: reply.tweet_ID,
      ...(ts ? { ts } : {}),
      meta: { sender: header.company, senderKey: 'agentURL', url: reply.url, docId: reply.doc_id },
    });
    // The header's duration is whole seconds; the reply's snowflake time is exact.
    if (ts && (!endedAt || Date.parse(ts) > Date.parse(endedAt))) endedAt = ts;
  }
  const firstCsr = messages.find((message) => message.role === 'csr' && message.ts);
  const record: InteractionInput = {
    id: `tw-${header.sessionID}`,
    ...(customerId ? { customerId } : {}),
    externalIds: { sessionId: header.sessionID },
    brand: header.company,
    queue: header.company,
    source: { channel: 'social', app: 'twitter' },
    createdAt: started,
    ...(firstCsr?.ts ? { firstCsrReplyAt: firstCsr.ts } : {}),
    ...(endedAt ? { endedAt } : {}),
    ...(reply ? { outcome: { labels: { doc_id: reply.doc_id } } } : {}),
    messages,
  };
  return { ok: true, record };
}

export const ibmTwitterAdapter: Adapter = jsonArrayAdapter(threadToInteraction);
