import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../../auth/index.ts';
import { attachmentView, listMessagesQuery, messageView, postMessageBody, uploadQuery, type MessageService } from '../../messages/index.ts';
import { ticketIdParams } from '../../tickets/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['messages'];

export const messageRoutes: FastifyPluginAsyncZod<{ messages: MessageService; attachmentMaxBytes: number }> = async (app, { messages, attachmentMaxBytes }) => {
  app.post('/v1/tickets/:id/messages', {
    schema: {
      operationId: 'postMessage',
      tags,
      security: bearerSecurity,
      description: 'Adds a message (201). A retry with the same clientMessageId answers the first message with 200.',
      params: ticketIdParams,
      body: postMessageBody,
      response: { 201: messageView, 200: messageView, ...problems(400, 403, 404, 409, 422) },
    },
    handler: async (request, reply) => {
      const { message, created } = await messages.post(listingOf(request), request.params.id, request.body, principalOf(request));
      return reply.status(created ? 201 : 200).send(message);
    },
  });

  app.get('/v1/tickets/:id/messages', {
    schema: {
      operationId: 'listMessages',
      tags,
      security: bearerSecurity,
      params: ticketIdParams,
      querystring: listMessagesQuery,
      response: { 200: z.object({ items: z.array(messageView) }), ...problems(400, 404) },
    },
    handler: async (request) => ({ items: await messages.list(listingOf(request), request.params.id, request.query) }),
  });

  // Raw uploads: the request body is the file, its Content-Type the file's type.
  await app.register(async (scoped) => {
    scoped.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: attachmentMaxBytes }, (_request, body, done) => done(null, body));
    scoped.withTypeProvider<ZodTypeProvider>().post('/v1/tickets/:id/attachments', {
      bodyLimit: attachmentMaxBytes,
      schema: {
        operationId: 'uploadAttachment',
        tags,
        security: bearerSecurity,
        description: 'Uploads a file as the raw request body (Content-Type = the file type); reference it from an image/video/voice/file message.',
        params: ticketIdParams,
        querystring: uploadQuery,
        response: { 201: attachmentView, ...problems(400, 403, 404, 413, 415) },
      },
      handler: async (request, reply) => {
        const principal = principalOf(request);
        requireRole(principal, ['manager', 'csr', 'bot']);
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.from(JSON.stringify(request.body ?? ''));
        const attachment = await messages.upload(
          listingOf(request),
          request.params.id,
          { filename: request.query.filename, contentType: request.headers['content-type'] ?? 'application/octet-stream', body },
          principal,
        );
        return reply.status(201).send(attachment);
      },
    });
  });

  app.get('/v1/attachments/:id', {
    schema: {
      operationId: 'downloadAttachment',
      tags,
      security: bearerSecurity,
      params: z.object({ id: z.uuid() }),
      response: { 200: z.any().describe('The file'), ...problems(400, 404) },
    },
    handler: async (request, reply) => {
      const { attachment, body } = await messages.download(listingOf(request), request.params.id);
      return reply
        .header('content-type', attachment.contentType)
        .header('content-length', attachment.sizeBytes)
        .header('content-disposition', `attachment; filename="${encodeURIComponent(attachment.filename)}"`)
        .header('x-content-type-options', 'nosniff')
        .serializer((payload: unknown) => payload as string)
        .send(body);
    },
  });
};
