import Fastify from 'fastify';

/**
 * The baseline for bench/core-http.bench.ts: fastify with one JSON POST route and nothing else
 * (no auth, no validation, no database), in its own process like the real server. Whatever the
 * real routes lose against this is the cost of Loopwise's own work per request.
 */
const port = Number(process.env.PORT ?? 0);
const app = Fastify({ logger: false });
app.post('/echo', async (request) => {
  const body = request.body as { text?: unknown };
  return { ok: true, length: typeof body?.text === 'string' ? body.text.length : 0 };
});
const address = await app.listen({ port, host: '127.0.0.1' });
process.stderr.write(`bare fastify listening on ${address}\n`);
const stop = () => void app.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
