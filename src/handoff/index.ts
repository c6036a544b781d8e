/**
 * Bot → live CSR hand-off.
 *
 * - `assessHandoff(messages, settings, extras)` — pure; the signals, their weights and the
 *   confidence formula are documented in assessment.ts.
 * - `createHandoffService(deps)` — `assess` (POST /v1/handoff/assess), `create` (POST
 *   /v1/handoff), per-listing settings (GET/PUT /v1/handoff/settings).
 *
 * Injected by the composition root (optional; without them those signals never fire):
 * - `ruleHits({ listingId, messages }) → RuleHit[]`: the keyword rules that fire on the bot's
 *   conversation — `evaluate(...).fired` of src/suggest/rules fits `RuleHit` as it is. A rule with
 *   a `handoff` action (or the tag `handoff`) raises the confidence and sets skills/priority.
 * - `risk({ listingId, messages }) → number | undefined`: an outcome model's risk (0–1) of a bad
 *   outcome for this conversation (src/models scoring session `predict()`), ≥ 0.5 raises it.
 * A failing injected function is logged and left out; the bot still gets an answer.
 */
export {
  assessHandoff,
  collectSignals,
  countTurns,
  findHumanRequest,
  defaultHandoffSettings,
  signalNames,
  priorityLevels,
  BIAS,
  DEFAULT_THRESHOLD,
  DEFAULT_WEIGHTS,
  type Assessment,
  type AssessmentExtras,
  type HandoffSettings,
  type PriorityLabel,
  type RuleHit,
  type Signal,
  type SignalName,
  type TranscriptMessage,
  type TranscriptRole,
} from './assessment.ts';
export { summarize, handoffNote } from './summary.ts';
export { createHandoffService, toAssessmentView, type ConversationQuery, type HandoffService, type HandoffServiceDeps } from './handoff.service.ts';
export * from './handoff.schemas.ts';
