import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

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
// The same, but with a zod-validated body (through the type provider, as the API validates):
// the baseline of bench/suggest-api.bench.ts, whose requests carry a conversation.
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
const message = z.object({ role: z.enum(['customer', 'csr', 'bot', 'system']), text: z.string().max(10_000) }).strict();
app.withTypeProvider<ZodTypeProvider>().post('/validated', { schema: { body: z.object({ context: z.array(message).min(1).max(200), top: z.number().int().min(1).max(10).default(3) }).strict() } }, async (request) => ({
  ok: true,
  messages: request.body.context.length,
}));
const address = await app.listen({ port, host: '127.0.0.1' });
process.stderr.write(`bare fastify listening on ${address}\n`);
const stop = () => void app.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
