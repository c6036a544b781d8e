import type { MessageService, MessageView } from '../messages/index.ts';
import { AppError, type Logger } from '../platform/index.ts';
import type { TicketService } from '../tickets/index.ts';
import { draftBody, type DraftInput, type DraftView, type Grounding } from './drafts.schemas.ts';
import { createOpenAiChatModel, type ChatModel } from './llm-client.ts';
import { buildPrompt, type ConversationLine, type PromptMessage } from './prompt.ts';

export interface RetrieveContext {
  listingId: string;
  /** The conversation, oldest first (at most the last 50 messages). */
  messages: readonly ConversationLine[];
  k: number;
}

/** Replies that worked in similar conversations (src/suggest/replies), best first. */
export type Retrieve = (context: RetrieveContext) => Promise<ReadonlyArray<{ text: string; score: number }>>;

export interface LlmSettings {
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  model: string;
  timeoutMs: number;
}

export interface DraftServiceDeps {
  llm: LlmSettings;
  tickets: Pick<TicketService, 'get'>;
  messages: Pick<MessageService, 'list'>;
  retrieve?: Retrieve;
  /** Another chat model than the OpenAI-compatible endpoint of `llm` (a different provider). */
  model?: ChatModel;
  logger?: Pick<Logger, 'warn'>;
}

export type DraftEvent = { type: 'token'; text: string } | ({ type: 'done' } & DraftView);

/** Messages of a ticket the prompt and the retrieval see. */
const CONTEXT_MESSAGES = 50;

function lineOf(message: MessageView): ConversationLine | undefined {
  const offer = (message.content as { offer?: { title?: unknown } }).offer;
  const text =
    message.text ??
    (message.kind === 'offer' && typeof offer?.title === 'string'
      ? `[offer: ${offer.title}]`
      : message.kind === 'voice' && typeof message.content.transcript === 'string'
        ? message.content.transcript
        : `[${message.kind}]`);
  return text.trim() ? { role: message.senderRole, text } : undefined;
}

/**
 * Optional generated drafts: an LLM writes the CSR's next reply from the conversation and the
 * replies retrieval found for it. Never on the suggestion path — a separate call (or stream) with
 * its own timeout, which aborts the upstream request.
 */
export function createDraftService({ llm, tickets, messages, retrieve, model: givenModel, logger }: DraftServiceDeps) {
  const model: ChatModel | undefined =
    givenModel ??
    (llm.baseUrl
      ? createOpenAiChatModel({ baseUrl: llm.baseUrl, apiKey: llm.apiKey, model: llm.model, timeoutMs: llm.timeoutMs + 1_000 })
      : undefined);

  async function conversationOf(listingId: string, input: ReturnType<typeof draftBody.parse>): Promise<ConversationLine[]> {
    if (input.messages) return input.messages.slice(-CONTEXT_MESSAGES);
    const ticket = await tickets.get(listingId, input.ticketId!);
    const page = await messages.list(listingId, ticket.id, { afterSeq: Math.max(0, ticket.messageCount - CONTEXT_MESSAGES), limit: CONTEXT_MESSAGES });
    return page.map(lineOf).filter((line): line is ConversationLine => line !== undefined);
  }

  async function groundingOf(listingId: string, input: ReturnType<typeof draftBody.parse>, conversation: ConversationLine[]): Promise<Grounding[]> {
    if (input.grounding) return input.grounding.map((text) => ({ text, score: null }));
    if (!retrieve || conversation.length === 0) return [];
    try {
      const found = await retrieve({ listingId, messages: conversation, k: input.k });
      return found.slice(0, input.k).map((reply) => ({ text: reply.text, score: reply.score }));
    } catch (error) {
      // A draft without examples is still a draft; the log says why it had none.
      logger?.warn({ err: error }, 'drafts: retrieval failed');
      return [];
    }
  }

  async function prepare(listingId: string, rawInput: DraftInput): Promise<{ model: ChatModel; prompt: PromptMessage[]; groundedOn: Grounding[] }> {
    if (!model) throw new AppError('unavailable', 'No LLM endpoint is configured (LLM_BASE_URL)');
    const input = draftBody.parse(rawInput);
    const conversation = await conversationOf(listingId, input);
    if (conversation.length === 0) throw new AppError('unprocessable', 'The ticket has no messages to reply to');
    const groundedOn = await groundingOf(listingId, input, conversation);
    return { model, prompt: buildPrompt(conversation, groundedOn.map((reply) => reply.text)), groundedOn };
  }

  /** Aborts the upstream call after the timeout, or when the caller goes away. */
  function deadline(outer: AbortSignal | undefined) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('draft timeout'));
    }, llm.timeoutMs);
    const onOuter = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    return {
      signal: controller.signal,
      timedOut: () => timedOut,
      /** Also aborts: a stream its reader abandoned must not keep the upstream request open. */
      done() {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuter);
        controller.abort();
      },
    };
  }

  function upstreamError(error: unknown, timedOut: boolean): AppError {
    if (error instanceof AppError) return error;
    const name = (error as { name?: unknown })?.name;
    if (timedOut || (typeof name === 'string' && name.includes('Timeout'))) {
      return new AppError('upstream_timeout', `The LLM endpoint did not answer within ${llm.timeoutMs} ms`);
    }
    logger?.warn({ err: error }, 'drafts: LLM request failed');
    const status = (error as { status?: unknown })?.status;
    return new AppError('upstream_failed', typeof status === 'number' ? `The LLM endpoint answered ${status}` : 'The LLM endpoint could not be reached');
  }

  return {
    configured: model !== undefined,
    modelName: model?.name ?? null,

    async draft(listingId: string, input: DraftInput, options: { signal?: AbortSignal } = {}): Promise<DraftView> {
      const prepared = await prepare(listingId, input);
      const started = performance.now();
      await prepared.model.ready?.();
      const limit = deadline(options.signal);
      try {
        const result = await prepared.model.complete(prepared.prompt, { signal: limit.signal });
        return { draft: result.text, model: result.model, groundedOn: prepared.groundedOn, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        throw upstreamError(error, limit.timedOut());
      } finally {
        limit.done();
      }
    },

    /**
     * Tokens as they come, then the whole draft. Everything that can fail before the model
     * answers (configuration, input, the ticket) fails on the first `next()`, so a caller can
     * still answer with a problem before it starts streaming.
     */
    async *stream(listingId: string, input: DraftInput, options: { signal?: AbortSignal } = {}): AsyncGenerator<DraftEvent> {
      const prepared = await prepare(listingId, input);
      const started = performance.now();
      await prepared.model.ready?.();
      const limit = deadline(options.signal);
      let text = '';
      try {
        for await (const token of prepared.model.stream(prepared.prompt, { signal: limit.signal })) {
          text += token;
          yield { type: 'token', text: token };
        }
      } catch (error) {
        throw upstreamError(error, limit.timedOut());
      } finally {
        limit.done();
      }
      yield { type: 'done', draft: text.trim(), model: prepared.model.name, groundedOn: prepared.groundedOn, latencyMs: Math.round(performance.now() - started) };
    },
  };
}

export type DraftService = ReturnType<typeof createDraftService>;
