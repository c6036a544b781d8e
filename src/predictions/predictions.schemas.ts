import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

export const targetName = z
  .string()
  .regex(/^[a-z][a-z0-9_.:-]{0,63}$/, 'a target name: satisfaction, resolved, converted or a custom label')
  .describe('What the model predicts');

export const trainModelBody = z
  .object({
    at: z.enum(['before-turn', 'after-turn']).optional().describe('Per-turn labels: train on the state before or after the labelled customer turn'),
    model: z.enum(['logistic', 'mlp']).default('logistic'),
    split: z.enum(['time', 'kfold']).optional().describe('Evaluation split: a later time period when timestamps exist, else k-fold by conversation'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    promote: z.boolean().default(false).describe('Promote the new version when training succeeds'),
  })
  .strict();

export const trainingRunStatuses = ['queued', 'running', 'succeeded', 'failed'] as const;

export const trainingRunView = z
  .object({
    id: z.string(),
    listingId: z.string(),
    target: z.string(),
    options: z.record(z.string(), z.unknown()),
    status: z.enum(trainingRunStatuses),
    progress: z.record(z.string(), z.unknown()).describe('Phase and counts, updated while the run works'),
    result: z.record(z.string(), z.unknown()).nullable().describe('The saved version and its evaluation, once succeeded'),
    error: z.string().nullable(),
    createdAt: z.date(),
    startedAt: z.date().nullable(),
    finishedAt: z.date().nullable(),
  })
  .register(apiSchemas, { id: 'TrainingRun' });

export const modelVersionView = z
  .object({
    target: z.string(),
    version: z.number(),
    kind: z.string(),
    featureSet: z.string(),
    promoted: z.boolean(),
    sizeBytes: z.number(),
    createdAt: z.date(),
    metadata: z.record(z.string(), z.unknown()).describe('Label set, training data hash, metrics, global drivers, configuration'),
  })
  .register(apiSchemas, { id: 'ModelVersion' });

export const predictionDriverView = z
  .object({
    feature: z.string(),
    value: z.union([z.number(), z.string(), z.boolean(), z.null()]),
    contribution: z.number().describe('Signed effect on the risk'),
    text: z.string().describe('The driver in words, e.g. "first reply came after 14 min"'),
  })
  .register(apiSchemas, { id: 'PredictionDriver' });

export const ticketPredictionView = z
  .object({
    target: z.string(),
    modelVersion: z.number(),
    atSeq: z.number().describe('The last message of the ticket the prediction has seen'),
    p: z.number().nullable().describe('Binary targets: the probability of the positive label'),
    probs: z.array(z.number()).nullable().describe('Multi-class targets: one probability per class'),
    classes: z.array(z.string()).nullable(),
    risk: z.number().describe('The probability of the bad outcome'),
    drivers: z.array(predictionDriverView),
    updatedAt: z.date(),
  })
  .register(apiSchemas, { id: 'TicketPrediction' });

export const atRiskQuery = z
  .object({
    target: targetName.default('satisfaction'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    minRisk: z.coerce.number().min(0).max(1).default(0),
  })
  .strict();

export const atRiskItemView = ticketPredictionView
  .extend({ ticketId: z.string(), ref: z.string(), status: z.string(), csrId: z.string().nullable(), createdAt: z.date() })
  .register(apiSchemas, { id: 'AtRiskTicket' });

export type TrainModelInput = z.input<typeof trainModelBody>;
export type TrainModelOptions = z.output<typeof trainModelBody>;
export type TrainingRunView = z.output<typeof trainingRunView>;
export type AtRiskQuery = z.output<typeof atRiskQuery>;
