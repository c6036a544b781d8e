import { z } from 'zod';
import type { InteractionInput } from '../interaction.schemas.ts';
import { describeIssues, type Adapter } from './adapter.ts';
import { jsonArrayAdapter } from './jsonl.adapter.ts';

/**
 * ASAPP's Action-Based Conversations Dataset (ABCD; ../shared/data/abcd-sample): a JSON array of
 * `{convo_id, scenario, original: [[speaker, text]…], delexed: [{speaker, text, targets}…]}`.
 *
 * agent → csr, customer → customer. An `action` turn is what the agent did in its tools ("Account
 * has been pulled up for …"): it stays in the transcript as a system message, and becomes an
 * `action_taken` event named by the button (`pull-up-account`, `notify-team`, taken from the
 * aligned delexed turn's targets) pointing at that message. The scenario's flow and subflow
 * (the customer intent) are outcome labels `flow`, `intent`; the member level is `member_level`.
 * The scenario's personal details (name, e-mail, phone, address) are not copied.
 */

const abcdConversation = z.object({
  convo_id: z.union([z.number().int(), z.string().min(1)]),
  scenario: z
    .object({
      personal: z.object({ username: z.string().optional(), member_level: z.string().optional() }).loose().optional(),
      flow: z.string().optional(),
      subflow: z.string().optional(),
    })
    .loose()
    .optional(),
  original: z.array(z.tuple([z.string(), z.string()])),
  delexed: z
    .array(z.object({ speaker: z.string(), targets: z.array(z.unknown()).optional() }).loose())
    .optional(),
});

const roles: Record<string, 'csr' | 'customer' | 'system'> = { agent: 'csr', customer: 'customer', action: 'system' };

export function abcdToInteraction(value: unknown): { ok: true; record: InteractionInput } | { ok: false; detail: string } {
  const parsed = abcdConversation.safeParse(value);
  if (!parsed.success) return { ok: false, detail: describeIssues(parsed.error.issues) };
  const conversation = parsed.data;
  const messages: InteractionInput['messages'] = [];
  const events: NonNullable<InteractionInput['events']> = [];
  for (const [position, [speaker, text]] of conversation.original.entries()) {
    const role = roles[speaker];
    if (!role) return { ok: false, detail: `original.${position}: unknown speaker "${speaker.slice(0, 40)}"` };
    if (role === 'system') {
      const targets = conversation.delexed?.[position]?.targets;
      const action = typeof targets?.[2] === 'string' ? targets[2] : undefined;
      messages.push({ role, text, channel: 'chat', ...(action ? { meta: { action } } : {}) });
      events.push({ type: 'action_taken', seq: messages.length, ...(action ? { name: action } : {}) });
      continue;
    }
    messages.push({ role, text, channel: 'chat' });
  }
  const scenario = conversation.scenario;
  const labels: Record<string, string> = {};
  if (scenario?.flow) labels.flow = scenario.flow;
  if (scenario?.subflow) labels.intent = scenario.subflow;
  if (scenario?.personal?.member_level) labels.member_level = scenario.personal.member_level;
  const record: InteractionInput = {
    id: `abcd-${conversation.convo_id}`,
    ...(scenario?.personal?.username ? { customerId: `abcd:${scenario.personal.username}` } : {}),
    externalIds: { convoId: String(conversation.convo_id) },
    source: { channel: 'livechat' },
    messages,
    ...(events.length > 0 ? { events } : {}),
    ...(Object.keys(labels).length > 0 ? { outcome: { labels } } : {}),
  };
  return { ok: true, record };
}

export const abcdAdapter: Adapter = jsonArrayAdapter(abcdToInteraction);
