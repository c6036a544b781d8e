import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z, ZodError } from 'zod';
import { AppError, errorCatalog, type ErrorCode } from '../platform/index.ts';
import { apiSchemas } from '../platform/index.ts';

/** RFC 9457 problem details, as every error leaves the API. */
export const problemSchema = z
  .looseObject({
    type: z.string().describe('URI reference naming the problem type: /problems/{code}'),
    title: z.string(),
    status: z.number(),
    detail: z.string().optional(),
    instance: z.string().describe('The request id; quote it when reporting a problem'),
    code: z.string().describe('Stable machine-readable code (see GET /problems)'),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .register(apiSchemas, { id: 'Problem' });

export type Problem = z.output<typeof problemSchema>;

const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function problem(code: ErrorCode, instance: string, detail?: string, extensions: Record<string, unknown> = {}): Problem {
  const entry = errorCatalog[code];
  return {
    type: `/problems/${code}`,
    title: entry.title,
    status: entry.status,
    ...(detail ? { detail } : {}),
    instance,
    code,
    ...extensions,
  };
}

const issuesOf = (issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, prefix = '') =>
  issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)',
    message: issue.message,
  }));

/** Fastify's own client errors, by code. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
};

/** Maps anything thrown while handling a request to a problem; the one place errors become HTTP. */
export function toProblem(error: unknown, requestId: string): { problem: Problem; internal: boolean } {
  if (error instanceof AppError) {
    return { problem: problem(error.code, requestId, error.message, error.extensions), internal: false };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const fastifyError = error as FastifyError & { validationContext?: string };
    const errors = (fastifyError.validation ?? []).map((issue) => ({
      path: [fastifyError.validationContext, ...String(issue.instancePath).split('/').filter(Boolean)].filter(Boolean).join('.') || '(root)',
      message: issue.message ?? 'invalid',
    }));
    return { problem: problem('validation_failed', requestId, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors }), internal: false };
  }
  if (error instanceof ZodError) {
    const errors = issuesOf(error.issues);
    return { problem: problem('validation_failed', requestId, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors }), internal: false };
  }
  if (isResponseSerializationError(error)) {
    return { problem: problem('internal', requestId, `An unexpected error occurred (error id ${requestId})`), internal: true };
  }
  const fastifyError = error as Partial<FastifyError>;
  const mapped = fastifyError.code ? fastifyCodes[fastifyError.code] : undefined;
  if (mapped) return { problem: problem(mapped, requestId, fastifyError.message), internal: false };
  if (fastifyError.statusCode === 429) return { problem: problem('rate_limited', requestId, fastifyError.message), internal: false };
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'validation_failed';
    return { problem: problem(code, requestId, fastifyError.message), internal: false };
  }
  // Unknown errors: the client gets an error id, the message and stack go to the log only.
  return { problem: problem('internal', requestId, `An unexpected error occurred (error id ${requestId})`), internal: true };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { problem: body, internal } = toProblem(error, request.id);
  if (internal) request.log.error({ err: error, errorId: request.id }, 'unhandled error');
  else if (body.status >= 500) request.log.error({ err: error }, body.title);
  else request.log.info({ code: body.code, status: body.status }, 'request rejected');
  return sendProblem(reply, body);
}
