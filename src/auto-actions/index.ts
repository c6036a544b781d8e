/**
 * Auto-actions: per-listing policies that propose (or, in auto mode, send) an offer of the
 * listing's catalogue when a conversation reaches a point where it may help.
 *
 * - Pure parts: `detectHesitation(text)`, `matchPolicy(conditions, facts)`, `holdoutBucket` /
 *   `inHoldout`, `capReached`, `cappedDiscount`, and the treated-vs-holdout statistics
 *   (`compareRates`: Wilson intervals and Newcombe's interval for the difference).
 * - `createAutoActionService(deps)`: catalogue and policy CRUD, `evaluate` (the API and, after
 *   every message, the prediction job), proposals for the CSR (`listForTicket`, `send`,
 *   `dismiss`), offer answers (`respondToOffer`) and the report (`analytics`).
 *
 * Injected (optional):
 * - `risk({ listingId, ticketId, target }) → number | undefined`: the latest risk (0–1) of a bad
 *   outcome for a model target (src/models / the stored ticket predictions). Only targets that
 *   some policy names are asked for.
 * - `ruleTags({ listingId, ticketId }) → string[]`: tags of the keyword rules firing on the
 *   ticket (src/suggest/rules `tag` actions); asked only when a policy has a ruleTags condition.
 * Values given in `evaluate`'s `signals` win over both.
 *
 * Loop guard: messages and events auto-actions produce carry the key id `auto-actions`
 * (`producedByAutoActions(event)`); a job that evaluates after every message may skip them, and
 * evaluating again is harmless anyway (each policy acts at most once per ticket).
 */
export {
  createAutoActionService,
  producedByAutoActions,
  AUTO_ACTIONS_KEY_ID,
  DEFAULT_AUTO_ACTION_SETTINGS,
  type AutoActionService,
  type AutoActionServiceDeps,
  type TicketQuery,
} from './auto-actions.service.ts';
export { detectHesitation, hesitationKinds, HESITATION_PHRASES, type HesitationHit, type HesitationKind } from './hesitation.ts';
export { matchPolicy, holdoutBucket, inHoldout, capReached, cappedDiscount, type PolicyFacts, type PolicyMatch, type CapCounts, type Caps } from './policy.ts';
export { compareRates, rateOf, wilson, type Comparison, type Rate } from './stats.ts';
export * from './auto-actions.schemas.ts';
