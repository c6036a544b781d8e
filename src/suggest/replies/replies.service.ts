import { createHash } from 'node:crypto';
import type { AnalyticsDb } from '../../analytics-store/index.ts';
import type { ModelRegistry, ModelVersion, ModelVersionMetadata } from '../../models/index.ts';
import { AppError } from '../../platform/index.ts';
import { decodeReplyModel, encodeReplyModel, REPLY_MODEL_KIND } from './artifact.ts';
import { ENCODING_VERSION } from './encoding.ts';
import { createReplyRanker, FEATURES, type ReplyRanker } from './ranker.ts';
import { readReplyConversations, type ReplyConversation } from './replies.store.ts';
import { trainReplyModelFromConversations, type ReplyTrainOverrides, type ReplyTrainProgress, type ReplyTrainReport } from './train.ts';

/**
 * `train --target reply` and the loading side of `rank` / `suggest`: a listing's conversations
 * from the analytics store → the reply model → an artifact in the model registry under target
 * `reply`; and back from the promoted (or a given) version to a ranker.
 */

export const REPLY_TARGET = 'reply';

export interface TrainReplyModelDeps {
  analytics: AnalyticsDb;
  /** Where the artifact goes; without it the artifact is only returned. */
  registry?: Pick<ModelRegistry, 'save'>;
}

export interface TrainReplyModelOptions {
  listingId: string;
  /** Promote the new version at once (default false: `loopwise models promote` later). */
  promote?: boolean;
  config?: ReplyTrainOverrides;
  onProgress?: (progress: ReplyTrainProgress) => void;
}

export interface TrainReplyModelResult {
  metadata: ModelVersionMetadata;
  bytes: Uint8Array;
  report: ReplyTrainReport;
  version?: ModelVersion;
}

/** A fingerprint of the training data: same conversations and texts → same hash. */
export function conversationsHash(conversations: readonly ReplyConversation[]): string {
  const hash = createHash('sha256');
  for (const conversation of conversations) {
    hash.update(`${conversation.id}\u0000${conversation.brand ?? ''}\u0000`);
    for (const message of conversation.messages) hash.update(`${message.seq}\u0001${message.role}\u0001${message.text}\u0001${message.docId ?? ''}\u0002`);
  }
  return hash.digest('hex');
}

export async function trainReplyModel(deps: TrainReplyModelDeps, options: TrainReplyModelOptions): Promise<TrainReplyModelResult> {
  const conversations = await readReplyConversations(deps.analytics, options.listingId);
  const replies = conversations.reduce((sum, conversation) => sum + conversation.messages.filter((message) => message.role === 'csr').length, 0);
  if (replies < 2) {
    throw new AppError(
      'validation_failed',
      `listing ${options.listingId} has ${replies} CSR replies in the analytics store; ingest its history first (loopwise ingest … --listing ${options.listingId})`,
    );
  }
  const trained = await trainReplyModelFromConversations(conversations, options.config, options.onProgress);
  const bytes = encodeReplyModel(trained.parts);
  const { report } = trained;
  const metadata: ModelVersionMetadata = {
    kind: REPLY_MODEL_KIND,
    featureSet: ENCODING_VERSION,
    features: [...FEATURES],
    dataHash: conversationsHash(conversations),
    conversations: report.conversations,
    replies: report.replies,
    canonicalReplies: report.canonicalReplies,
    dualEncoderPairs: report.dualEncoderPairs,
    vocabulary: report.vocabulary,
    dim: trained.parts.dualEncoder.dim,
    weights: report.weights,
    seconds: report.seconds,
    backend: report.backend,
  };
  const version = deps.registry ? await deps.registry.save(options.listingId, REPLY_TARGET, metadata, bytes, { promote: options.promote ?? false }) : undefined;
  return { metadata, bytes, report, ...(version ? { version } : {}) };
}

/** The ranker of a listing's promoted reply model (or of `version`). */
export async function loadReplyRanker(
  registry: Pick<ModelRegistry, 'promoted' | 'get'>,
  listingId: string,
  version?: number,
): Promise<{ ranker: ReplyRanker; version: number }> {
  const artifact = version === undefined ? await registry.promoted(listingId, REPLY_TARGET) : await registry.get(listingId, REPLY_TARGET, version);
  if (!artifact) {
    throw new AppError('not_found', `listing ${listingId} has no promoted ${REPLY_TARGET} model (train one with loopwise train --listing ${listingId} --target reply, then promote it)`);
  }
  return { ranker: createReplyRanker(decodeReplyModel(artifact.bytes)), version: artifact.version.version };
}
