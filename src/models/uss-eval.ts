import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrateAnalytics, openAnalyticsDb } from '../analytics-store/index.ts';
import { createIngestService } from '../ingest/index.ts';
import { newId, systemClock } from '../platform/index.ts';
import type { ModelKind } from './model.types.ts';
import { trainOutcomeModel, type OutcomeEvaluation, type TrainProgress } from './train.service.ts';
import type { TrainingConfig } from './training/evaluate.ts';

/**
 * `loopwise eval satisfaction --format uss`: the whole path on a User Satisfaction Simulation file
 * (Sun et al., SIGIR 2021) — ingest into a scratch listing of a scratch analytics store, features,
 * k-fold by dialogue, train, predict with the compiled scorer — scored by the dataset's own
 * protocol (its baselines/train_sat.py): every USER turn and the OVERALL line are examples, the
 * label is the argmax of the annotators' rating counts (ties to the lower rating), and UAR,
 * kappa, Spearman and the F1 of the dissatisfied class (rating ≤ 2) use its formulas, averaged
 * over folds. Nothing is kept.
 */

export interface UssEvaluationOptions {
  file: string;
  folds?: number;
  at?: 'before-turn' | 'after-turn';
  model?: ModelKind;
  seed?: number;
  training?: Partial<TrainingConfig>;
  /** Where the scratch store goes (default: the OS temp dir). */
  scratchDir?: string;
  onProgress?: (progress: TrainProgress) => void;
}

/** The dataset repository's published figures (10-fold; ../shared/data/README.md). */
export const USS_PUBLISHED: Record<string, Record<string, Record<string, number>>> = {
  mwoz: { BERT: { uar: 0.256, kappa: 0.133, f1Dissatisfied: 0.224 }, HiGRU: { uar: 0.225, f1Dissatisfied: 0.238 } },
  sgd: { HiGRU: { uar: 0.293 }, BERT: { uar: 0.261 } },
};

/** The published figures for a file named after its corpus (MWOZ.txt, mwoz-150.txt, SGD.txt, …). */
function publishedFor(corpus: string): Record<string, Record<string, number>> | null {
  if (/^(mwoz|multiwoz)/i.test(corpus)) return USS_PUBLISHED.mwoz!;
  if (/^sgd/i.test(corpus)) return USS_PUBLISHED.sgd!;
  return null;
}

export interface UssEvaluation {
  corpus: string;
  file: string;
  dialogues: number;
  at: 'before-turn' | 'after-turn';
  folds: number;
  model: ModelKind;
  /** The protocol's figures (mean over folds) and the AUC of P(rating ≤ 2). */
  metrics: {
    uar: number | null;
    kappa: number | null;
    spearman: number | null;
    f1Dissatisfied: number | null;
    aucDissatisfied: number | null;
    prAucDissatisfied: number | null;
    logLoss: number | null;
    brier: number | null;
    /** The harmonic-mean F1 (the protocol's formula divides by max(P + R, 1)). */
    f1DissatisfiedHarmonic: number | null;
    /** Tie-corrected Spearman (the protocol's ranks ties low). */
    spearmanTieCorrected: number | null;
  };
  published: Record<string, Record<string, number>> | null;
  evaluation: OutcomeEvaluation;
  seconds: { ingest: number; evaluate: number; total: number };
}

export async function evaluateUssFile(options: UssEvaluationOptions): Promise<UssEvaluation> {
  const started = performance.now();
  const scratch = await mkdtemp(path.join(options.scratchDir ?? os.tmpdir(), 'loopwise-eval-'));
  const listingId = 'eval';
  const at = options.at ?? 'before-turn';
  const model = options.model ?? 'logistic';
  const folds = options.folds ?? 5;
  try {
    const db = await openAnalyticsDb(path.join(scratch, 'analytics.duckdb'));
    try {
      await migrateAnalytics(db);
      options.onProgress?.({ phase: 'read', fraction: 0, detail: `ingesting ${path.basename(options.file)}` });
      const summary = await createIngestService({ db, clock: systemClock, newId }).ingest({ listingId, paths: [path.resolve(options.file)], format: 'uss', redact: true });
      const ingestSeconds = (performance.now() - started) / 1000;
      const { evaluation } = await trainOutcomeModel(db, {
        listingId,
        target: 'satisfaction',
        at,
        model,
        split: 'kfold',
        folds,
        labelRule: 'uss-argmax',
        includeOutcome: true,
        evaluateOnly: true,
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.training ? { training: options.training } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      const m = evaluation.metrics;
      const corpus = path.basename(options.file).replace(/\.[^.]+$/, '');
      return {
        corpus,
        file: options.file,
        dialogues: summary.accepted + summary.updated + summary.unchanged,
        at,
        folds,
        model,
        metrics: {
          uar: m.uar ?? null,
          kappa: m.kappa ?? null,
          spearman: m.spearmanUss ?? null,
          f1Dissatisfied: m.f1Bad ?? null,
          aucDissatisfied: m.auc ?? null,
          prAucDissatisfied: m.prAuc ?? null,
          logLoss: m.logLoss ?? null,
          brier: m.brier ?? null,
          f1DissatisfiedHarmonic: m.f1BadHarmonic ?? null,
          spearmanTieCorrected: m.spearman ?? null,
        },
        published: publishedFor(corpus),
        evaluation,
        seconds: { ingest: ingestSeconds, evaluate: (performance.now() - started) / 1000 - ingestSeconds, total: (performance.now() - started) / 1000 },
      };
    } finally {
      db.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
