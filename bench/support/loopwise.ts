/**
 * Seeding and request shapes for benchmarking the Loopwise API. Seeding goes through the HTTP
 * API with the admin key, as an operator and a chat widget would.
 */
import type { RawRequest, RequestSpec } from 'autocannon';
import { seededRandom } from '../../src/platform/index.ts';
import type { PerClientRequests } from './harness.ts';

export async function api<T>(baseUrl: string, key: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(baseUrl + url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export async function inParallel<T>(count: number, concurrency: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await work(index);
      }
    }),
  );
  return results;
}

export const CUSTOMER_TEXTS = [
  'Hi, my order #48213 has not arrived yet and the tracking page has not changed since Monday. Can you check?',
  'I was charged twice for the same subscription this month, could you refund one of the payments please?',
  'How do I change the delivery address on an order I placed an hour ago?',
  'The app keeps logging me out every few minutes on Android 14. I already reinstalled it.',
];
export const CSR_TEXTS = [
  'Thanks for reaching out! I can see the parcel is at the local depot; it should be delivered tomorrow before noon.',
  'I have refunded the duplicate charge; it will show on your statement within 3 to 5 business days.',
  'Done — the address is updated. You will get a new confirmation e-mail in a few minutes.',
  'Sorry about that. Could you tell me which app version you are on (Settings → About)?',
];

export interface SeedOptions {
  listingId: string;
  tickets: number;
  csrs: number;
  heldPerCsr: number;
}

export interface Seeded {
  listingId: string;
  botKey: string;
  csrKeys: string[];
  ticketIds: string[];
  held: Array<{ ticketId: string; csrKey: string }>;
}

/** A listing with a bot key, online CSRs with keys, open tickets, and some of them pulled by the CSRs. */
export async function seed(baseUrl: string, adminKey: string, options: SeedOptions): Promise<Seeded> {
  const { listingId } = options;
  await api(baseUrl, adminKey, 'POST', '/v1/admin/listings', { id: listingId, name: 'Benchmark listing' });
  const { token: botKey } = await api<{ token: string }>(baseUrl, adminKey, 'POST', '/v1/keys', { listingId, role: 'bot', name: 'bench bot' });
  const csrKeys = await inParallel(options.csrs, 4, async (index) => {
    const csr = await api<{ id: string }>(
      baseUrl,
      adminKey,
      'POST',
      '/v1/csrs',
      { name: `Bench CSR ${index}`, presence: 'online', capacity: Math.max(5, options.heldPerCsr) },
      { 'x-listing-id': listingId },
    );
    const { token } = await api<{ token: string }>(baseUrl, adminKey, 'POST', '/v1/keys', { listingId, role: 'csr', csrId: csr.id });
    return token;
  });
  const ticketIds = await inParallel(options.tickets, 16, async (index) => {
    const ticket = await api<{ id: string }>(baseUrl, botKey, 'POST', '/v1/tickets', {
      customer: { identities: [{ kind: 'phone', value: `+1444${String(index).padStart(7, '0')}` }] },
      source: { app: 'web-widget', channel: 'website' },
      subject: 'Seeded for the message benchmark',
    });
    return ticket.id;
  });
  const held = (
    await Promise.all(
      csrKeys.map(async (csrKey) => {
        const mine: Array<{ ticketId: string; csrKey: string }> = [];
        for (let i = 0; i < options.heldPerCsr; i++) {
          const ticket = await api<{ id: string }>(baseUrl, csrKey, 'POST', '/v1/tickets/pull');
          mine.push({ ticketId: ticket.id, csrKey });
        }
        return mine;
      }),
    )
  ).flat();
  return { listingId, botKey, csrKeys, ticketIds, held };
}

/** POST /v1/tickets, each request from a customer never seen before (a new phone number). */
export function createTicketRequest(botKey: string, phonePrefix = '+1555'): RequestSpec {
  let phone = 0;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${botKey}` };
  return {
    method: 'POST',
    path: '/v1/tickets',
    setupRequest: (request) => ({
      ...request,
      headers,
      body: JSON.stringify({
        customer: { identities: [{ kind: 'phone', value: `${phonePrefix}${String(phone++).padStart(7, '0')}` }] },
        source: { app: 'web-widget', channel: 'website' },
        subject: 'Where is my order?',
      }),
    }),
  };
}

/**
 * POST /v1/tickets/{id}/messages, one request per (ticket, speaker): customers write on every open
 * ticket (through the bot key, as a chat widget would), CSRs answer on the tickets they hold.
 * Shuffled, then dealt round-robin to the connections: each connection cycles through its own
 * share, so the requests in flight at once hit different ticket rows, every pair is posted to
 * at the same rate, and autocannon serialises each request once.
 */
export function postMessageRequest(seeded: Seeded): { spec: PerClientRequests; distinct: number } {
  // Seeded: every run posts the same mix in the same order.
  const random = seededRandom(42);
  const requests: RawRequest[] = [
    ...seeded.ticketIds.map((ticketId, index) => ({
      method: 'POST',
      path: `/v1/tickets/${ticketId}/messages`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.botKey}` },
      body: JSON.stringify({ kind: 'text', senderRole: 'customer', text: CUSTOMER_TEXTS[index % CUSTOMER_TEXTS.length] }),
    })),
    ...seeded.held.map(({ ticketId, csrKey }, index) => ({
      method: 'POST',
      path: `/v1/tickets/${ticketId}/messages`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${csrKey}` },
      body: JSON.stringify({ kind: 'text', text: CSR_TEXTS[index % CSR_TEXTS.length] }),
    })),
  ];
  for (let i = requests.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [requests[i], requests[j]] = [requests[j]!, requests[i]!];
  }
  return {
    distinct: requests.length,
    spec: {
      forClient: (client, connections) => {
        const share = requests.filter((_, index) => index % connections === client % connections);
        // More connections than pairs: the extra ones repeat a pair.
        return share.length > 0 ? share : [requests[client % requests.length]!];
      },
    },
  };
}
