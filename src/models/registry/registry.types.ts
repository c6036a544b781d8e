/**
 * The model registry: versioned artifacts per listing and target, in the ticket database (so every
 * api, worker and CLI process sees the same versions and the same promoted one, on PostgreSQL or
 * PGlite alike). An artifact is opaque bytes to the registry; its metadata is JSON that the
 * trainer writes and the API shows.
 *
 * Targets are names: the outcome targets (`satisfaction`, `resolved`, `converted`, custom label
 * names) and the suggestion engine's (`reply`). A version number counts up per (listing, target)
 * from 1. Promotion keeps a history, so a rollback returns to the version promoted before.
 */

export interface ModelVersionMetadata {
  /** Model family, e.g. "logistic", "mlp", "reply-dual-encoder". */
  kind: string;
  /** The feature-set version the model was trained on; a mismatch refuses to load. */
  featureSet: string;
  /** Anything else the trainer records: label set, data hash, metrics, config, timings. */
  [key: string]: unknown;
}

export interface ModelVersion {
  listingId: string;
  target: string;
  version: number;
  kind: string;
  featureSet: string;
  metadata: ModelVersionMetadata;
  /** Bytes of the artifact. */
  sizeBytes: number;
  createdAt: Date;
  /** True for the version currently promoted for its (listing, target). */
  promoted: boolean;
}

export interface ModelArtifact {
  version: ModelVersion;
  bytes: Uint8Array;
}
