export { createChatLinkService, type ChatLinkService, type MintContext } from './chat-links.service.ts';
export {
  chatSettingsBody,
  chatSettingsView,
  createChatLinkBody,
  chatLinkView,
  linkCodeParams,
  linkChannels,
  DEFAULT_LINK_TTL_SECONDS,
  type ChatSettingsInput,
  type ChatSettingsView,
  type CreateChatLinkInput,
  type ChatLinkView,
  type LinkChannel,
} from './chat-links.schemas.ts';
export { buildChatTarget, shortLinkUrl, newLinkCode, linkCodePattern, unknownPlaceholders, chatUrlPlaceholders } from './chat-url.ts';
