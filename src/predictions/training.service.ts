import type { AnalyticsDb, AnalyticsOwner } from '../analytics-store/index.ts';
import { type Actor } from '../events/index.ts';
import type { JobProducer } from '../jobs/index.ts';
import type { ModelRegistry, ModelVersionMetadata } from '../models/registry/index.ts';
import { AppError, newId, type Database, type Logger } from '../platform/index.ts';
import { trainModelBody, type TrainingRunView, type TrainModelInput, type TrainModelOptions } from './predictions.schemas.ts';

/** The trainer (src/models), injected so this context never imports tfjs. */
export type OutcomeTrainer = (
  analytics: AnalyticsDb,
  request: { listingId: string; target: string; options: Omit<TrainModelOptions, 'promote'>; onProgress: (progress: Record<string, unknown>) => void },
) => Promise<{ artifact: Uint8Array; metadata: ModelVersionMetadata; evaluation?: Record<string, unknown> }>;

interface RunRow {
  id: string;
  listing_id: string;
  target: string;
  options: Record<string, unknown>;
  status: TrainingRunView['status'];
  progress: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toView = (row: RunRow): TrainingRunView => ({
  id: row.id,
  listingId: row.listing_id,
  target: row.target,
  options: row.options,
  status: row.status,
  progress: row.progress,
  result: row.result,
  error: row.error,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

export interface TrainingServiceDeps {
  db: Database;
  registry: ModelRegistry;
  jobs: Pick<JobProducer, 'enqueue'>;
  /** Only in the process that owns the analytics store (where the job runs). */
  analytics?: AnalyticsOwner;
  train?: OutcomeTrainer;
  logger?: Logger;
  /** Minimum time between two progress writes. */
  progressEveryMs?: number;
}

/**
 * Training as a job: the API records a run and queues it; the process that owns the analytics
 * store trains, writing progress and the result to the run, and saves the model as a new
 * registry version (promoted when asked). Any api process can answer how a run is doing.
 */
export function createTrainingService({ db, registry, jobs, analytics, train, logger, progressEveryMs = 500 }: TrainingServiceDeps) {
  const find = async (listingId: string, id: string): Promise<RunRow> => {
    const { rows } = await db.query<RunRow>('SELECT * FROM model_training_runs WHERE listing_id = $1 AND id = $2', [listingId, id]);
    if (!rows[0]) throw new AppError('not_found', `Training run ${id} not found`);
    return rows[0];
  };

  return {
    async request(listingId: string, target: string, input: TrainModelInput, actor: Actor = {}): Promise<TrainingRunView> {
      const options = trainModelBody.parse(input);
      const id = newId();
      const { rows } = await db.query<RunRow>(
        `INSERT INTO model_training_runs (id, listing_id, target, options, status, actor) VALUES ($1, $2, $3, $4::jsonb, 'queued', $5::jsonb) RETURNING *`,
        [id, listingId, target, JSON.stringify(options), JSON.stringify(actor)],
      );
      await jobs.enqueue('models.train', { listingId, runId: id }, { jobId: `train-${id}` });
      return toView(rows[0]!);
    },

    get: async (listingId: string, id: string): Promise<TrainingRunView> => toView(await find(listingId, id)),

    async list(listingId: string, limit = 50): Promise<TrainingRunView[]> {
      const { rows } = await db.query<RunRow>('SELECT * FROM model_training_runs WHERE listing_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [listingId, limit]);
      return rows.map(toView);
    },

    /** The job: trains, saves the version, records the outcome. A finished run is not redone. */
    async run(listingId: string, runId: string): Promise<TrainingRunView> {
      const row = await find(listingId, runId);
      if (row.status === 'succeeded' || row.status === 'failed') return toView(row);
      if (!analytics || !train) throw new AppError('unavailable', 'this process does not own the analytics store; training runs where jobs run');
      await db.query(`UPDATE model_training_runs SET status = 'running', started_at = now(), progress = '{"phase":"starting"}' WHERE id = $1`, [runId]);
      let lastWrite = 0;
      let pendingWrite: Promise<unknown> = Promise.resolve();
      const onProgress = (progress: Record<string, unknown>) => {
        const now = Date.now();
        if (now - lastWrite < progressEveryMs) return;
        lastWrite = now;
        pendingWrite = pendingWrite
          .then(() => db.query(`UPDATE model_training_runs SET progress = $2::jsonb WHERE id = $1 AND status = 'running'`, [runId, JSON.stringify(progress)]))
          .catch((error: unknown) => logger?.warn({ err: error, runId }, 'training progress not recorded'));
      };
      const { promote, ...options } = trainModelBody.parse(row.options);
      try {
        const trained = await analytics.use((store) => train(store, { listingId, target: row.target, options, onProgress }));
        await pendingWrite;
        const version = await registry.save(listingId, row.target, trained.metadata, trained.artifact, { promote, actor: { role: 'training', keyId: runId } });
        const result = { version: version.version, promoted: version.promoted, kind: version.kind, featureSet: version.featureSet, evaluation: trained.evaluation ?? trained.metadata.metrics ?? null };
        const { rows } = await db.query<RunRow>(
          `UPDATE model_training_runs SET status = 'succeeded', finished_at = now(), result = $2::jsonb, progress = '{"phase":"done"}' WHERE id = $1 RETURNING *`,
          [runId, JSON.stringify(result)],
        );
        return toView(rows[0]!);
      } catch (error) {
        await pendingWrite;
        const message = error instanceof Error ? error.message : String(error);
        // Failed for good: a refusal (no labels, too few examples) would fail again, and a crash
        // is better answered by a new run than by a retry the requester does not see.
        if (!(error instanceof AppError && error.status < 500)) logger?.error({ err: error, runId, listingId }, 'training failed');
        const { rows } = await db.query<RunRow>(
          `UPDATE model_training_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1 RETURNING *`,
          [runId, message],
        );
        return toView(rows[0]!);
      }
    },
  };
}

export type TrainingService = ReturnType<typeof createTrainingService>;
