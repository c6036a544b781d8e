import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toProblem } from '../../src/api/index.ts';
import { AppError } from '../../src/platform/index.ts';

describe('toProblem', () => {
  it('maps typed errors to their code and status with the request id as instance', () => {
    const { problem, internal } = toProblem(new AppError('ticket_not_held', 'Ticket ACME-000001 is held by another CSR'), 'req-1');
    expect(internal).toBe(false);
    expect(problem).toEqual({
      type: '/problems/ticket_not_held',
      title: 'The ticket is not held by this CSR',
      status: 409,
      detail: 'Ticket ACME-000001 is held by another CSR',
      instance: 'req-1',
      code: 'ticket_not_held',
    });
  });

  it('turns unknown errors into a generic 500 that does not carry their message', () => {
    const { problem, internal } = toProblem(new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2'), 'req-2');
    expect(internal).toBe(true);
    expect(problem.status).toBe(500);
    expect(problem.code).toBe('internal');
    expect(JSON.stringify(problem)).not.toMatch(/ECONNREFUSED|hunter2|5432/);
    expect(problem.detail).toContain('req-2');
  });

  it('lists every zod issue with its path', () => {
    const result = z.object({ rating: z.number().max(5) }).safeParse({ rating: 9 });
    const { problem } = toProblem(result.error, 'req-3');
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([{ path: 'rating', message: expect.stringContaining('5') }]);
  });

  it('maps fastify body errors', () => {
    expect(toProblem(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 'r').problem.code).toBe('payload_too_large');
    expect(toProblem(Object.assign(new Error('bad json'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), 'r').problem.code).toBe('malformed_json');
  });
});
