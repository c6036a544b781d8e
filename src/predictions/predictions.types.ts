import type { FeatureMessage, FeatureValue } from '../features/index.ts';
import type { ModelVersionMetadata } from '../models/registry/index.ts';

/**
 * What live serving needs from a trained outcome model (src/models compiles one from its
 * registry artifact). Kept as an interface here so the serving side never imports the trainer.
 */
export interface PredictionDriver {
  feature: string;
  value: FeatureValue;
  /** Signed effect on the risk (log-odds or probability points, as the model states). */
  contribution: number;
  /** For a manager: "first reply came after 14 min". */
  text: string;
}

export interface OutcomePrediction {
  /** Binary targets. */
  p?: number;
  /** Multi-class targets, in `classes` order. */
  probs?: number[];
  classes?: string[];
  /** The probability of the bad outcome. */
  risk: number;
  drivers: PredictionDriver[];
}

export interface OutcomeSession {
  push(message: FeatureMessage): void;
  predict(): OutcomePrediction;
}

export interface LoadedOutcomeModel {
  startConversation(options: { sourceChannel?: string | null; timeZone?: string }): OutcomeSession;
}

/** Compiles an artifact; throws AppError('model_incompatible') when the feature set differs. */
export type OutcomeModelLoader = (bytes: Uint8Array, metadata: ModelVersionMetadata) => LoadedOutcomeModel | Promise<LoadedOutcomeModel>;
