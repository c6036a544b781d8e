import type { ChatOpenAI } from '@langchain/openai';
import type { PromptMessage } from './prompt.ts';

/**
 * The narrow interface drafts need from a chat model; `createOpenAiChatModel` implements it with
 * langchain over any OpenAI-compatible chat-completions endpoint (OpenAI, llama.cpp, vLLM,
 * Ollama). Both calls must honour `signal`: it is how the draft timeout aborts the upstream
 * request.
 */
export interface ChatModel {
  readonly name: string;
  /** Loads the client library (once); the draft deadline starts after it, so a cold start is not a timeout. */
  ready?(): Promise<void>;
  complete(messages: readonly PromptMessage[], options: { signal: AbortSignal }): Promise<{ text: string; model: string }>;
  stream(messages: readonly PromptMessage[], options: { signal: AbortSignal }): AsyncIterable<string>;
}

export interface OpenAiChatModelOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  timeoutMs: number;
  maxTokens?: number;
  temperature?: number;
}

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'string' ? part : typeof part?.text === 'string' ? part.text : '')).join('');
  return '';
};

export function createOpenAiChatModel(options: OpenAiChatModelOptions): ChatModel {
  // Loaded on first use: langchain is large, and a process without an LLM never needs it.
  let loading: Promise<ChatOpenAI> | undefined;
  const client = () =>
    (loading ??= import('@langchain/openai').then(
      ({ ChatOpenAI }) =>
        new ChatOpenAI({
          model: options.model,
          // Local servers take any key; the OpenAI client refuses to start without one.
          apiKey: options.apiKey ?? 'not-needed',
          configuration: { baseURL: options.baseUrl },
          timeout: options.timeoutMs,
          // A CSR is waiting: one attempt, and the caller's timeout decides.
          maxRetries: 0,
          maxTokens: options.maxTokens ?? 300,
          temperature: options.temperature ?? 0.3,
          // Plain chat completions (not the Responses API), without stream_options, which some
          // local servers reject.
          useResponsesApi: false,
          streamUsage: false,
        }),
    ));
  const toLangchain = (messages: readonly PromptMessage[]) => messages.map((message) => ({ role: message.role, content: message.content }));

  return {
    name: options.model,
    async ready() {
      await client();
    },
    async complete(messages, { signal }) {
      const result = await (await client()).invoke(toLangchain(messages), { signal });
      const reported = (result.response_metadata as { model_name?: unknown } | undefined)?.model_name;
      return { text: textOf(result.content).trim(), model: typeof reported === 'string' && reported ? reported : options.model };
    },
    async *stream(messages, { signal }) {
      const chunks = await (await client()).stream(toLangchain(messages), { signal });
      for await (const chunk of chunks) {
        const text = textOf(chunk.content);
        if (text) yield text;
      }
    },
  };
}
