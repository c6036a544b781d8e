/**
 * The causes planted in the synthetic data, as numbers. The generator reads its probabilities
 * from here and the tests read their expectations from here, so what the README promises, what
 * the data contains and what the tests check cannot drift apart. Every effect is visible in
 * the record itself (timestamps, message texts, events), not only in the ground-truth labels.
 */
export const PLANTED_EFFECTS = {
  /** Long first waits raise abandonment. Wait = firstCsrReplyAt − createdAt. */
  longFirstWait: {
    thresholdSeconds: 120,
    abandonIfShort: 0.06,
    abandonIfLong: 0.4,
  },
  /**
   * A diagnostic question (DIAGNOSTIC_QUESTIONS) among the CSR's first `withinCsrMessages`
   * messages raises resolution (for conversations that were not abandoned).
   */
  earlyDiagnostic: {
    withinCsrMessages: 2,
    share: 0.5,
    resolveIfEarly: 0.82,
    resolveIfNot: 0.48,
  },
  /**
   * In sales conversations (SALES_INTENTS) the customer may hesitate (HESITATIONS). A discount
   * offer sent right after the hesitation (an `offer_sent` event on the hesitation message's seq,
   * followed by a CSR message of kind `offer`) raises conversion; a discount offered elsewhere in
   * the conversation barely does.
   */
  discountAtHesitation: {
    hesitationShare: 0.55,
    offerAtHesitationShare: 0.5,
    offerElsewhereShare: 0.2,
    convertIfOfferAtHesitation: 0.5,
    convertIfOfferElsewhere: 0.16,
    convertIfNoOffer: 0.1,
  },
  /**
   * A customer with a negative tone (customer messages contain NEGATIVE_MARKERS words) rates
   * lower. Satisfaction = round(base + shifts + noise), clamped to 1–5; only non-abandoned
   * conversations are rated.
   */
  tone: {
    negativeShare: 0.25,
    positiveShare: 0.2,
    satisfactionBaseResolved: 4.3,
    satisfactionBaseUnresolved: 2.8,
    negativeShift: -1.3,
    positiveShift: 0.4,
    longWaitShift: -0.4,
    noiseSd: 0.6,
  },
  /** IVR calls: a share convert to chat (a `channel_changed` ivr → chat event and an SMS link). */
  ivr: {
    sourceShare: 0.18,
    convertToChat: 0.7,
  },
} as const;

/** Conversations in which a purchase or retention is at stake. */
export const SALES_INTENTS = ['cancellation', 'upgrade'] as const;
