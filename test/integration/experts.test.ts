import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, newTicketBody, type TestContext } from '../support/context.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

/** A listing where `asker` holds a ticket and `alice` and `bob` are the billing experts. */
async function seedExperts() {
  const listing = await ctx.seedListing();
  const asker = await ctx.seedCsr(listing.listingId, { name: 'Asker' });
  const alice = await ctx.seedCsr(listing.listingId, { name: 'Alice' });
  const bob = await ctx.seedCsr(listing.listingId, { name: 'Bob' });
  const outsider = await ctx.seedCsr(listing.listingId, { name: 'Outsider' });
  const group = await ctx.request(listing.managerKey, 'POST', '/v1/expert-groups', {
    name: `Billing ${listing.listingId}`,
    description: 'Refunds, invoices',
    memberIds: [alice.csrId, bob.csrId],
  });
  expect(group.status).toBe(201);
  const ticket = (await ctx.request(listing.botKey, 'POST', '/v1/tickets', newTicketBody())).body;
  const pulled = await ctx.request(asker.key, 'POST', '/v1/tickets/pull');
  expect(pulled.body.id).toBe(ticket.id);
  return { ...listing, asker, alice, bob, outsider, groupId: group.body.id as string, ticket };
}

const eventsOf = async (aggregateId: string) =>
  (await ctx.db.query<{ name: string; payload: Record<string, unknown> }>('SELECT name, payload FROM events WHERE aggregate_id = $1 ORDER BY id', [aggregateId])).rows;

describe('expert groups', () => {
  it('are created, listed, changed and deleted by managers', async () => {
    const { listingId, managerKey, botKey } = await ctx.seedListing();
    const alice = await ctx.seedCsr(listingId);
    const bob = await ctx.seedCsr(listingId);

    expect((await ctx.request(alice.key, 'POST', '/v1/expert-groups', { name: 'Nope' })).status).toBe(403);
    const created = await ctx.request(managerKey, 'POST', '/v1/expert-groups', { name: 'Tech', memberIds: [alice.csrId] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Tech', description: null, memberIds: [alice.csrId], listingId });

    const duplicate = await ctx.request(managerKey, 'POST', '/v1/expert-groups', { name: 'tech' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('expert_group_exists');
    const unknownMember = await ctx.request(managerKey, 'POST', '/v1/expert-groups', { name: 'Other', memberIds: ['00000000-0000-4000-8000-000000000000'] });
    expect(unknownMember.status).toBe(404);
    expect((await ctx.request(managerKey, 'POST', '/v1/expert-groups', { name: 'Twice', memberIds: [bob.csrId, bob.csrId] })).status).toBe(400);

    const patched = await ctx.request(managerKey, 'PATCH', `/v1/expert-groups/${created.body.id}`, { memberIds: [bob.csrId], description: 'Devices' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ memberIds: [bob.csrId], description: 'Devices', name: 'Tech' });

    expect((await ctx.request(botKey, 'GET', '/v1/expert-groups')).body.items.map((g: { name: string }) => g.name)).toEqual(['Tech']);
    expect((await ctx.request(alice.key, 'GET', `/v1/expert-groups?memberId=${alice.csrId}`)).body.items).toEqual([]);
    expect((await ctx.request(bob.key, 'GET', `/v1/expert-groups?memberId=${bob.csrId}`)).body.items).toHaveLength(1);

    const deleted = await ctx.request(managerKey, 'DELETE', `/v1/expert-groups/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect((await ctx.request(managerKey, 'GET', `/v1/expert-groups/${created.body.id}`)).status).toBe(404);
    // The name is free again once the group is gone.
    expect((await ctx.request(managerKey, 'POST', '/v1/expert-groups', { name: 'Tech' })).status).toBe(201);
    expect((await eventsOf(created.body.id)).map((event) => event.name)).toEqual(['expert_group.created', 'expert_group.updated', 'expert_group.deleted']);
  });
});

describe('expert requests', () => {
  it('go open → accepted → answered → closed, with an event per change and the answer kept as an internal note', async () => {
    const s = await seedExperts();
    const asked = await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { groupId: s.groupId, question: 'Can we refund twice?' });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ status: 'open', ticketId: s.ticket.id, groupId: s.groupId, requestedByCsrId: s.asker.csrId, expertCsrId: null, answer: null });
    const id = asked.body.id as string;

    const duplicate = await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { groupId: s.groupId, question: 'Again?' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('expert_request_exists');

    // Members see open requests for their groups; a CSR outside the group does not.
    const open = await ctx.request(s.alice.key, 'GET', '/v1/expert-requests?status=open');
    expect(open.body.items.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await ctx.request(s.outsider.key, 'GET', '/v1/expert-requests?status=open')).body.items).toEqual([]);
    expect((await ctx.request(s.outsider.key, 'GET', `/v1/expert-requests/${id}`)).status).toBe(403);

    const early = await ctx.request(s.alice.key, 'POST', `/v1/expert-requests/${id}/answer`, { answer: 'Too soon' });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('expert_request_not_accepted');
    expect((await ctx.request(s.outsider.key, 'POST', `/v1/expert-requests/${id}/accept`)).status).toBe(403);
    expect((await ctx.request(s.managerKey, 'POST', `/v1/expert-requests/${id}/accept`)).status).toBe(403);

    const accepted = await ctx.request(s.alice.key, 'POST', `/v1/expert-requests/${id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', expertCsrId: s.alice.csrId });
    const taken = await ctx.request(s.bob.key, 'POST', `/v1/expert-requests/${id}/accept`);
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('expert_request_taken');
    expect((await ctx.request(s.bob.key, 'POST', `/v1/expert-requests/${id}/answer`, { answer: 'Me!' })).body.code).toBe('expert_request_taken');

    const answered = await ctx.request(s.alice.key, 'POST', `/v1/expert-requests/${id}/answer`, { answer: 'Yes, with a manager code.' });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ status: 'answered', answer: 'Yes, with a manager code.' });
    expect(answered.body.answeredAt).not.toBeNull();
    const twice = await ctx.request(s.alice.key, 'POST', `/v1/expert-requests/${id}/answer`, { answer: 'More' });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('expert_request_answered');

    // The asking CSR reads the answer on the ticket; the customer's thread never gets it.
    const onTicket = await ctx.request(s.asker.key, 'GET', `/v1/tickets/${s.ticket.id}/expert-requests`);
    expect(onTicket.body.items).toEqual([expect.objectContaining({ id, answer: 'Yes, with a manager code.' })]);
    expect((await ctx.request(s.asker.key, 'GET', `/v1/tickets/${s.ticket.id}/messages`)).body.items).toEqual([]);

    expect((await ctx.request(s.outsider.key, 'POST', `/v1/expert-requests/${id}/close`)).status).toBe(403);
    const closed = await ctx.request(s.alice.key, 'POST', `/v1/expert-requests/${id}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.status).toBe('closed');
    for (const action of ['close', 'accept']) {
      const late = await ctx.request(action === 'accept' ? s.bob.key : s.asker.key, 'POST', `/v1/expert-requests/${id}/${action}`);
      expect(late.status, action).toBe(409);
      expect(late.body.code).toBe('expert_request_closed');
    }

    const events = await eventsOf(id);
    expect(events.map((event) => event.name)).toEqual(['expert.requested', 'expert.accepted', 'expert.answered', 'expert.closed']);
    expect(events[0]!.payload).toMatchObject({ ticketId: s.ticket.id, groupId: s.groupId, requestedByCsrId: s.asker.csrId });
    expect(events[3]!.payload).toMatchObject({ fromStatus: 'answered', answered: true });

    // Closed, the pair is free for a new question.
    expect((await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { groupId: s.groupId, question: 'Follow-up' })).status).toBe(201);
  });

  it('can only be asked by the CSR holding an open ticket (or a manager), of a group with members', async () => {
    const s = await seedExperts();
    const body = { groupId: s.groupId, question: 'Help?' };
    const notHeld = await ctx.request(s.alice.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, body);
    expect(notHeld.status).toBe(409);
    expect(notHeld.body.code).toBe('ticket_not_held');
    expect((await ctx.request(s.botKey, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, body)).status).toBe(403);
    expect((await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { ...body, question: '  ' })).status).toBe(400);

    const empty = await ctx.request(s.managerKey, 'POST', '/v1/expert-groups', { name: 'Nobody' });
    const noMembers = await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { groupId: empty.body.id, question: 'Anyone?' });
    expect(noMembers.status).toBe(409);
    expect(noMembers.body.code).toBe('expert_group_empty');

    const byManager = await ctx.request(s.managerKey, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, body);
    expect(byManager.status).toBe(201);
    expect(byManager.body.requestedByCsrId).toBeNull();
    const inUse = await ctx.request(s.managerKey, 'DELETE', `/v1/expert-groups/${s.groupId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.code).toBe('expert_group_in_use');
    // The requester may withdraw an open request; then the group can go.
    expect((await ctx.request(s.managerKey, 'POST', `/v1/expert-requests/${byManager.body.id}/close`)).body.status).toBe('closed');
    expect((await ctx.request(s.managerKey, 'DELETE', `/v1/expert-groups/${s.groupId}`)).status).toBe(204);
    expect((await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, body)).status).toBe(404);

    await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/end`, { outcome: 'resolved' });
    const other = await ctx.request(s.managerKey, 'POST', '/v1/expert-groups', { name: 'Second', memberIds: [s.alice.csrId] });
    const ended = await ctx.request(s.managerKey, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { groupId: other.body.id, question: 'Late' });
    expect(ended.status).toBe(409);
    expect(ended.body.code).toBe('ticket_closed');
  });

  it('lets a manager list everything and a CSR filter their groups by status', async () => {
    const s = await seedExperts();
    const asked = (await ctx.request(s.asker.key, 'POST', `/v1/tickets/${s.ticket.id}/expert-requests`, { groupId: s.groupId, question: 'Q' })).body;
    await ctx.request(s.bob.key, 'POST', `/v1/expert-requests/${asked.id}/accept`);
    expect((await ctx.request(s.alice.key, 'GET', '/v1/expert-requests?status=open')).body.items).toEqual([]);
    expect((await ctx.request(s.alice.key, 'GET', '/v1/expert-requests?status=open,accepted')).body.items).toHaveLength(1);
    expect((await ctx.request(s.managerKey, 'GET', `/v1/expert-requests?groupId=${s.groupId}`)).body.items).toHaveLength(1);
    expect((await ctx.request(s.botKey, 'GET', '/v1/expert-requests')).status).toBe(403);
    expect((await ctx.request(s.managerKey, 'GET', '/v1/expert-requests?status=pending')).status).toBe(400);
  });

  it("never shows one listing another listing's groups or requests", async () => {
    const a = await seedExperts();
    const b = await seedExperts();
    const asked = (await ctx.request(a.asker.key, 'POST', `/v1/tickets/${a.ticket.id}/expert-requests`, { groupId: a.groupId, question: 'Private' })).body;

    expect((await ctx.request(b.managerKey, 'GET', `/v1/expert-groups/${a.groupId}`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'PATCH', `/v1/expert-groups/${a.groupId}`, { name: 'Mine' })).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'DELETE', `/v1/expert-groups/${a.groupId}`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/expert-groups')).body.items.map((g: { id: string }) => g.id)).toEqual([b.groupId]);
    expect((await ctx.request(b.managerKey, 'GET', `/v1/expert-requests/${asked.id}`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'GET', '/v1/expert-requests')).body.items).toEqual([]);
    expect((await ctx.request(b.alice.key, 'POST', `/v1/expert-requests/${asked.id}/accept`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'POST', `/v1/expert-requests/${asked.id}/close`)).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'GET', `/v1/tickets/${a.ticket.id}/expert-requests`)).status).toBe(404);
    // B's CSR cannot ask A's group, nor put A's CSRs into a B group.
    expect((await ctx.request(b.asker.key, 'POST', `/v1/tickets/${b.ticket.id}/expert-requests`, { groupId: a.groupId, question: 'x' })).status).toBe(404);
    expect((await ctx.request(b.managerKey, 'POST', '/v1/expert-groups', { name: 'Poach', memberIds: [a.alice.csrId] })).status).toBe(404);
    expect((await ctx.request(a.alice.key, 'GET', `/v1/expert-requests/${asked.id}`)).body.status).toBe('open');
  });
});
