import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.ts';
import { createCoreServices } from '../../src/core.ts';
import { createProviderSmsSender, type SmsProvider } from '../../src/sms/index.ts';
import { createTestContext, type TestContext } from '../support/context.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const randomCid = () => `+1415${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;

/** A listing with chat configured and one IVR system; returns what the IVR would be given. */
async function seedIvrListing(options: { chat?: boolean; landlinePatterns?: string[]; smsTemplate?: string } = {}) {
  const listing = await ctx.seedListing();
  if (options.chat !== false) {
    const settings = await ctx.request(listing.managerKey, 'PUT', '/v1/listing/chat-settings', {
      chatUrlBase: 'https://chat.example.com/s/{ticketId}',
      shortUrlBase: 'https://go.example.com',
    });
    expect(settings.status).toBe(200);
  }
  const created = await ctx.request(listing.managerKey, 'POST', '/v1/ivr-systems', {
    name: 'Main IVR',
    landlinePatterns: options.landlinePatterns ?? [],
    ...(options.smsTemplate ? { smsTemplate: options.smsTemplate } : {}),
  });
  expect(created.status).toBe(201);
  const { username, password, system } = created.body as { username: string; password: string; system: { id: string } };
  return { ...listing, systemId: system.id, username, password, auth: basic(username, password) };
}

const chatRequest = (auth: string | undefined, payload: unknown) =>
  ctx.app.inject({ method: 'POST', url: '/v1/ivr/chat-requests', headers: auth ? { authorization: auth } : {}, payload: payload as object });

const json = (response: { body: string }) => JSON.parse(response.body);

const outboxOf = async (listingId: string) =>
  (
    await ctx.db.query<{ to_number: string; body: string; status: string; ticket_id: string | null; listing_id: string; created_at: Date }>(
      'SELECT * FROM sms_outbox WHERE listing_id = $1 ORDER BY created_at, id',
      [listingId],
    )
  ).rows;

describe('IVR systems', () => {
  it('issues Basic credentials once, stores only a hash, lists and revokes', async () => {
    const ivr = await seedIvrListing();
    expect(ivr.username).toMatch(/^ivr_[0-9a-f]{16}$/);
    expect(ivr.password.length).toBeGreaterThanOrEqual(43);

    const listed = await ctx.request(ivr.managerKey, 'GET', '/v1/ivr-systems');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ id: ivr.systemId, username: ivr.username, name: 'Main IVR', revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(ivr.password);
    const { rows } = await ctx.db.query<{ secret_hash: string }>('SELECT secret_hash FROM ivr_systems WHERE id = $1', [ivr.systemId]);
    expect(rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.secret_hash).not.toContain(ivr.password);

    const patched = await ctx.request(ivr.managerKey, 'PATCH', `/v1/ivr-systems/${ivr.systemId}`, { landlinePatterns: ['+1800'] });
    expect(patched.status).toBe(200);
    expect(patched.body.landlinePatterns).toEqual(['+1800']);
    expect((await ctx.request(ivr.managerKey, 'PATCH', `/v1/ivr-systems/${ivr.systemId}`, { landlinePatterns: ['1800'] })).status).toBe(400);

    const revoked = await ctx.request(ivr.managerKey, 'POST', `/v1/ivr-systems/${ivr.systemId}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const again = await ctx.request(ivr.managerKey, 'POST', `/v1/ivr-systems/${ivr.systemId}/revoke`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ivr_system_revoked');
    expect((await chatRequest(ivr.auth, { cid: randomCid() })).statusCode).toBe(401);

    const names = (await ctx.db.query<{ name: string }>('SELECT name FROM events WHERE aggregate_id = $1 ORDER BY id', [ivr.systemId])).rows;
    expect(names.map((event) => event.name)).toEqual(['ivr_system.created', 'ivr_system.updated', 'ivr_system.revoked']);
  });

  it('is managed by managers only', async () => {
    const { listingId, botKey } = await ctx.seedListing();
    const csr = await ctx.seedCsr(listingId);
    expect((await ctx.request(csr.key, 'POST', '/v1/ivr-systems', { name: 'x' })).status).toBe(403);
    expect((await ctx.request(botKey, 'GET', '/v1/ivr-systems')).status).toBe(403);
    // An admin key acts on the listing it names.
    const byAdmin = await ctx.request(ctx.adminKey, 'POST', '/v1/ivr-systems', { name: 'Admin-made' }, { 'x-listing-id': listingId });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.system.listingId).toBe(listingId);
  });

  it("never shows a listing another listing's IVR systems", async () => {
    const a = await seedIvrListing();
    const b = await ctx.seedListing();
    expect((await ctx.request(b.managerKey, 'GET', '/v1/ivr-systems')).body.items).toEqual([]);
    expect((await ctx.request(b.managerKey, 'GET', `/v1/ivr-systems/${a.systemId}`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'PATCH', `/v1/ivr-systems/${a.systemId}`, { name: 'stolen' })).status).toBe(404);
    const revoke = await ctx.request(b.managerKey, 'POST', `/v1/ivr-systems/${a.systemId}/revoke`);
    expect(revoke.status).toBe(404);
    expect((await ctx.request(a.managerKey, 'GET', `/v1/ivr-systems/${a.systemId}`)).body.revokedAt).toBeNull();
  });
});

describe('IVR → chat', () => {
  let ivr: Awaited<ReturnType<typeof seedIvrListing>>;
  beforeAll(async () => {
    ivr = await seedIvrListing();
  });

  it('answers 401 problem+json with a Basic challenge for missing or bad credentials, before looking at the body', async () => {
    const cases = [
      undefined,
      basic(ivr.username, 'wrong-password'),
      basic('ivr_0000000000000000', ivr.password),
      basic(ivr.username, ''),
      'Basic not-base64!',
      `Bearer ${ivr.managerKey}`,
    ];
    for (const auth of cases) {
      const response = await chatRequest(auth, { cid: 'not a number' });
      expect(response.statusCode, String(auth)).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm=/);
      expect(json(response).code).toBe('unauthorized');
    }
  });

  it('answers 400 for missing or bad input, and changes nothing', async () => {
    const before = (await outboxOf(ivr.listingId)).length;
    const bad = [
      {},
      { cid: '' },
      { cid: '12345' },
      { cid: 'anonymous' },
      { cid: '+0123456789' },
      { cid: randomCid(), email: 'not-an-email' },
      { cid: randomCid(), dob: '1990-02-30' },
      { cid: randomCid(), dob: '2999-01-01' },
      { cid: randomCid(), caller: 'unknown field' },
      { cid: randomCid(), first_name: 'x'.repeat(101) },
    ];
    for (const payload of bad) {
      const response = await chatRequest(ivr.auth, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(json(response).code).toBe('validation_failed');
    }
    expect(await outboxOf(ivr.listingId)).toHaveLength(before);
  });

  it('creates an ivr ticket for the caller, a short link and an SMS in the outbox; a second call reuses the ticket', async () => {
    const cid = '+1 (415) 555-0142';
    const first = await chatRequest(ivr.auth, {
      cid,
      dnis: '18005550199',
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: 'Ada@Example.com',
      dob: '1985-12-10',
      external_id: 'crm-42',
    });
    expect(first.statusCode).toBe(201);
    const result = json(first);
    expect(result).toMatchObject({ outcome: 'sms', ticketCreated: true, sms: { status: 'queued' } });
    expect(result.link.url).toMatch(/^https:\/\/go\.example\.com\/c\/[A-Za-z0-9_-]{16}$/);

    const ticket = await ctx.request(ivr.managerKey, 'GET', `/v1/tickets/${result.ticketId}`);
    expect(ticket.body).toMatchObject({ ref: result.ticketRef, status: 'waiting', source: { app: 'ivr', channel: 'ivr' } });
    expect(ticket.body.metadata.ivr).toEqual({ systemId: ivr.systemId, dnis: '18005550199', firstName: 'Ada', lastName: 'Lovelace', dob: '1985-12-10' });

    const customer = await ctx.request(ivr.managerKey, 'GET', `/v1/customers/${ticket.body.customerId}`);
    expect(customer.body.displayName).toBe('Ada Lovelace');
    expect(customer.body.identities).toEqual([
      { kind: 'email', value: 'ada@example.com' },
      { kind: 'external', value: 'crm-42' },
      { kind: 'phone', value: '+14155550142' },
    ]);

    const outbox = await outboxOf(ivr.listingId);
    const sms = outbox.at(-1)!;
    expect(sms).toMatchObject({ to_number: '+14155550142', status: 'queued', listing_id: ivr.listingId, ticket_id: result.ticketId });
    expect(sms.body).toContain(result.link.url);
    expect(sms.created_at).toBeInstanceOf(Date);

    const redirect = await ctx.app.inject({ method: 'GET', url: new URL(result.link.url).pathname });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe(`https://chat.example.com/s/${result.ticketId}`);

    // The caller presses 1 again: same ticket, a fresh link and SMS.
    const second = await chatRequest(ivr.auth, { cid: '+14155550142' });
    expect(second.statusCode).toBe(200);
    const again = json(second);
    expect(again).toMatchObject({ outcome: 'sms', ticketId: result.ticketId, ticketCreated: false });
    expect(again.link.url).not.toBe(result.link.url);
    expect(await outboxOf(ivr.listingId)).toHaveLength(outbox.length + 1);

    const listed = await ctx.request(ivr.managerKey, 'GET', `/v1/sms-messages?ticketId=${result.ticketId}`);
    expect(listed.body.items).toHaveLength(2);
    expect(listed.body.items[0]).toMatchObject({ to: '+14155550142', status: 'queued', ticketId: result.ticketId });

    const events = (
      await ctx.db.query<{ name: string; payload: Record<string, unknown> }>(
        `SELECT name, payload FROM events WHERE listing_id = $1 AND name = 'ivr.chat_requested' ORDER BY id`,
        [ivr.listingId],
      )
    ).rows;
    expect(events.map((event) => event.payload)).toEqual([
      expect.objectContaining({ outcome: 'sms', ticketId: result.ticketId, ticketCreated: true, dnis: '18005550199' }),
      expect.objectContaining({ outcome: 'sms', ticketId: result.ticketId, ticketCreated: false }),
    ]);
    const used = await ctx.request(ivr.managerKey, 'GET', `/v1/ivr-systems/${ivr.systemId}`);
    expect(used.body.lastUsedAt).not.toBeNull();
  });

  it('treats empty optional fields as absent and fills the SMS template', async () => {
    const custom = await seedIvrListing({ smsTemplate: 'Hi {first_name}, chat with {listing} about {ref}: {url}' });
    const named = json(await chatRequest(custom.auth, { cid: randomCid(), first_name: 'Grace', email: '', dob: '', external_id: '' }));
    expect(named.outcome).toBe('sms');
    const anonymous = json(await chatRequest(custom.auth, { cid: randomCid() }));
    const [first, second] = await outboxOf(custom.listingId);
    expect(first!.body).toBe(`Hi Grace, chat with Listing ${custom.listingId} about ${named.ticketRef}: ${named.link.url}`);
    expect(second!.body).toBe(`Hi, chat with Listing ${custom.listingId} about ${anonymous.ticketRef}: ${anonymous.link.url}`);
  });

  it('answers landline callers with a live-call fallback: no ticket, no SMS', async () => {
    const withLandlines = await seedIvrListing({ landlinePatterns: ['+1800', '+4930XXX'] });
    for (const cid of ['+18005550100', '+493012345678']) {
      const response = await chatRequest(withLandlines.auth, { cid });
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({ outcome: 'live_call', reason: 'landline' });
    }
    expect((await ctx.request(withLandlines.managerKey, 'GET', '/v1/tickets/count')).body.count).toBe(0);
    expect(await outboxOf(withLandlines.listingId)).toHaveLength(0);
    // A mobile number in the same country still gets the SMS.
    expect(json(await chatRequest(withLandlines.auth, { cid: '+4915112345678' })).outcome).toBe('sms');
  });

  it('falls back to a live call while the listing has no chat settings', async () => {
    const unconfigured = await seedIvrListing({ chat: false });
    const response = await chatRequest(unconfigured.auth, { cid: randomCid() });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ outcome: 'live_call', reason: 'chat_not_configured' });
    expect((await ctx.request(unconfigured.managerKey, 'GET', '/v1/tickets/count')).body.count).toBe(0);
  });
});

describe('IVR → chat through an SMS provider', () => {
  it('records the provider outcome; a refused SMS abandons the new ticket and falls back to a live call', async () => {
    const delivered: Array<{ to: string; body: string }> = [];
    let refuse = false;
    const provider: SmsProvider = {
      name: 'fake-gateway',
      async deliver(message) {
        if (refuse) throw new Error('number unreachable');
        delivered.push(message);
        return { providerMessageId: `msg-${delivered.length}` };
      },
    };
    const services = createCoreServices({ db: ctx.db, config: ctx.config, smsSender: createProviderSmsSender({ db: ctx.db, provider }) });
    const app = await buildApp({ config: ctx.config, services, db: ctx.db });
    try {
      const ivr = await seedIvrListing();
      const send = (cid: string) =>
        app.inject({ method: 'POST', url: '/v1/ivr/chat-requests', headers: { authorization: ivr.auth }, payload: { cid } });

      const ok = json(await send('+14155550177'));
      expect(ok.sms.status).toBe('sent');
      expect(delivered).toEqual([{ to: '+14155550177', body: expect.stringContaining(ok.link.url) }]);

      refuse = true;
      const failed = await send('+14155550178');
      expect(failed.statusCode).toBe(200);
      expect(json(failed)).toEqual({ outcome: 'live_call', reason: 'sms_failed' });

      const outbox = await outboxOf(ivr.listingId);
      expect(outbox.map((sms) => sms.status)).toEqual(['sent', 'failed']);
      const abandoned = await ctx.request(ivr.managerKey, 'GET', '/v1/tickets?status=abandoned');
      expect(abandoned.body.items).toHaveLength(1);
      expect(abandoned.body.items[0].id).toBe(outbox[1]!.ticket_id);
      // The caller's earlier, still open ticket is not touched when a later SMS fails.
      const reused = json(await send('+14155550177'));
      expect(reused).toEqual({ outcome: 'live_call', reason: 'sms_failed' });
      expect((await ctx.request(ivr.managerKey, 'GET', `/v1/tickets/${ok.ticketId}`)).body.status).toBe('waiting');
    } finally {
      await app.close();
    }
  });
});
