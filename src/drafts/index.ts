/**
 * Optional generated drafts of the CSR's next reply, grounded in the replies that worked in
 * similar conversations. Configured by LLM_BASE_URL / LLM_API_KEY / LLM_MODEL / LLM_TIMEOUT_MS
 * (any OpenAI-compatible chat-completions endpoint); unconfigured, `draft` answers 503.
 *
 * Injected (optional): `retrieve({ listingId, messages, k }) → [{ text, score }]`, the reply
 * index of src/suggest/replies; without it a draft is grounded only on replies the caller passes
 * (`grounding`, e.g. the texts POST /v1/suggest returned), or on nothing.
 */
export { createDraftService, type DraftService, type DraftServiceDeps, type DraftEvent, type LlmSettings, type Retrieve, type RetrieveContext } from './drafts.service.ts';
export { createOpenAiChatModel, type ChatModel, type OpenAiChatModelOptions } from './llm-client.ts';
export { buildPrompt, SYSTEM_PROMPT, type ConversationLine, type PromptMessage, type PromptOptions } from './prompt.ts';
export * from './drafts.schemas.ts';
