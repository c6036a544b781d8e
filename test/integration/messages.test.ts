import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

let ctx: TestContext;
let listing: Awaited<ReturnType<TestContext['seedListing']>>;
let csr: { csrId: string; key: string };

beforeAll(async () => {
  ctx = await createTestContext();
  listing = await ctx.seedListing();
  csr = await ctx.seedCsr(listing.listingId, { capacity: 50 });
});
afterAll(() => ctx.close());

async function openTicket(assign = true) {
  const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body;
  if (assign) await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/assign`, { csrId: csr.csrId });
  return ticket as { id: string; ref: string };
}

const countRows = async (table: string, ticketId: string) =>
  (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ticket_id = $1`, [ticketId])).rows[0]!.n;

describe('messages', () => {
  it('keeps the thread in order, records the first CSR reply and writes message.created to the outbox', async () => {
    const ticket = await openTicket();
    const first = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'My parcel never arrived', senderRole: 'customer' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ seq: 1, senderRole: 'customer', kind: 'text', channel: 'chat' });
    const reply = await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'Sorry to hear that — let me check.' });
    expect(reply.body).toMatchObject({ seq: 2, senderRole: 'csr', csrId: csr.csrId });

    const fetched = await ctx.request(csr.key, 'GET', `/v1/tickets/${ticket.id}`);
    expect(fetched.body.messageCount).toBe(2);
    expect(fetched.body.firstCsrReplyAt).toBe(reply.body.createdAt);

    const thread = await ctx.request(csr.key, 'GET', `/v1/tickets/${ticket.id}/messages`);
    expect(thread.body.items.map((m: { text: string }) => m.text)).toEqual(['My parcel never arrived', 'Sorry to hear that — let me check.']);
    const after = await ctx.request(csr.key, 'GET', `/v1/tickets/${ticket.id}/messages?afterSeq=1`);
    expect(after.body.items).toHaveLength(1);

    const events = await ctx.db.query<{ payload: { seq: number; text: string; senderRole: string } }>(
      `SELECT payload FROM events WHERE name = 'message.created' AND aggregate_id = $1 ORDER BY id`,
      [ticket.id],
    );
    expect(events.rows.map((row) => [row.payload.seq, row.payload.senderRole])).toEqual([
      [1, 'customer'],
      [2, 'csr'],
    ]);
  });

  it('is idempotent on clientMessageId', async () => {
    const ticket = await openTicket();
    const body = { kind: 'text', text: 'hello', senderRole: 'customer', clientMessageId: 'client-42' };
    const first = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, body);
    const retry = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, body);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body.id).toBe(first.body.id);
    expect(await countRows('messages', ticket.id)).toBe(1);
  });

  it('masks payment card numbers and keeps payment requests out of the thread text', async () => {
    const ticket = await openTicket();
    const leaked = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'text',
      senderRole: 'customer',
      text: 'my card is 4111 1111 1111 1111 and order 1234567890123',
    });
    expect(leaked.body.text).toBe('my card is [card ••••1111] and order 1234567890123');
    const stored = await ctx.db.query<{ text: string }>('SELECT text FROM messages WHERE id = $1', [leaked.body.id]);
    expect(stored.rows[0]!.text).not.toContain('4111 1111');
    const outbox = await ctx.db.query<{ payload: { text: string } }>(`SELECT payload FROM events WHERE payload->>'messageId' = $1`, [leaked.body.id]);
    expect(outbox.rows[0]!.payload.text).not.toContain('4111 1111');

    const payment = await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'payment_request',
      payment: { amount: '49.90', currency: 'EUR', invoiceNumber: 'INV-7', description: 'Replacement charger' },
    });
    expect(payment.status).toBe(201);
    expect(payment.body.content).toMatchObject({ amount: '49.90', currency: 'EUR', invoiceNumber: 'INV-7' });
    const record = await ctx.db.query<{ amount_minor: number }>('SELECT amount_minor FROM payment_requests WHERE id = $1', [payment.body.content.paymentRequestId]);
    expect(record.rows[0]!.amount_minor).toBe(4990);

    const withCard = await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'payment_request',
      payment: { amount: '5', currency: 'EUR', invoiceNumber: 'INV-8', description: 'card 4111111111111111' },
    });
    expect(withCard.status).toBe(422);
    expect(await countRows('payment_requests', ticket.id)).toBe(1);
  });

  it('accepts offers, forms and voice messages with their metadata', async () => {
    const ticket = await openTicket();
    const offer = await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'offer',
      text: 'Here is 10% off for the trouble',
      offer: { title: '10% off', discountPercent: 10, code: 'SORRY10' },
    });
    expect(offer.body.content.offer).toMatchObject({ discountPercent: 10, code: 'SORRY10' });
    const form = await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'form',
      form: { title: 'Shipping address', fields: [{ name: 'street', label: 'Street', type: 'text', required: true }] },
    });
    expect(form.status).toBe(201);
    const voice = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'voice',
      senderRole: 'customer',
      audioUrl: 'https://media.example.com/v/1.ogg',
      durationSeconds: 12.5,
      transcript: 'I want to cancel my subscription',
      channel: 'voice',
    });
    expect(voice.body).toMatchObject({ channel: 'voice', content: { durationSeconds: 12.5, transcript: 'I want to cancel my subscription' } });
  });

  it('uploads attachments within type and size limits and links them to messages', async () => {
    const ticket = await openTicket();
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const upload = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/attachments?filename=photo.png`, png, { 'content-type': 'image/png' });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({ contentType: 'image/png', sizeBytes: png.length, filename: 'photo.png' });

    const image = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, {
      kind: 'image',
      senderRole: 'customer',
      attachmentId: upload.body.id,
      text: 'the box was crushed',
    });
    expect(image.status).toBe(201);
    expect(image.body.attachmentId).toBe(upload.body.id);

    const asVideo = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'video', senderRole: 'customer', attachmentId: upload.body.id });
    expect(asVideo.status).toBe(422);

    const download = await ctx.app.inject({ method: 'GET', url: `/v1/attachments/${upload.body.id}`, headers: { authorization: `Bearer ${csr.key}` } });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(download.rawPayload, png)).toBe(0);

    const exe = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/attachments?filename=x.exe`, Buffer.from('MZ'), { 'content-type': 'application/x-msdownload' });
    expect(exe.status).toBe(415);
    expect(exe.body.code).toBe('unsupported_media_type');
    expect(await countRows('attachments', ticket.id)).toBe(1);
  });

  it('refuses messages on ended tickets and from CSRs who do not hold the ticket', async () => {
    const ticket = await openTicket();
    const other = await ctx.seedCsr(listing.listingId);
    const notHeld = await ctx.request(other.key, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'hi' });
    expect(notHeld.status).toBe(409);
    expect(notHeld.body.code).toBe('ticket_not_held');
    await ctx.request(csr.key, 'POST', `/v1/tickets/${ticket.id}/end`, { outcome: 'abandoned' });
    const closed = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'text', text: 'hello?', senderRole: 'customer' });
    expect(closed.status).toBe(409);
    expect(closed.body.code).toBe('ticket_closed');
    expect(await countRows('messages', ticket.id)).toBe(0);
  });

  it('rejects bad input with problem+json and writes nothing', async () => {
    const ticket = await openTicket();
    const cases: Array<[unknown, number]> = [
      [{ kind: 'text' }, 400],
      [{ kind: 'sticker', text: 'x' }, 400],
      [{ kind: 'text', text: 'x', senderRole: 'csr' }, 403],
      [{ kind: 'text', text: 'x'.repeat(10_001), senderRole: 'customer' }, 400],
      [{ kind: 'payment_request', payment: { amount: '-1', currency: 'EUR', invoiceNumber: 'A' } }, 400],
    ];
    for (const [body, status] of cases) {
      const response = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const malformed = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, '{"kind": "text", ', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const huge = await ctx.request(listing.botKey, 'POST', `/v1/tickets/${ticket.id}/messages`, JSON.stringify({ kind: 'text', text: 'x'.repeat(2_000_000) }), { 'content-type': 'application/json' });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
    expect((await ctx.request(listing.botKey, 'POST', '/v1/tickets/not-a-uuid/messages', { kind: 'text', text: 'x' })).status).toBe(400);
    expect((await ctx.request(listing.botKey, 'POST', '/v1/tickets/00000000-0000-4000-8000-000000000000/messages', { kind: 'text', text: 'x', senderRole: 'customer' })).status).toBe(404);
    expect(await countRows('messages', ticket.id)).toBe(0);
  });
});
