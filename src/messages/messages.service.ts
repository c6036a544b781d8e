import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Principal } from '../auth/index.ts';
import { appendEvent, EventNames } from '../events/index.ts';
import { AppError, isUniqueViolation, newId, type Database } from '../platform/index.ts';
import { findTicket } from '../tickets/index.ts';
import type { AttachmentStorage } from './attachment-storage.ts';
import { maskCardNumbers } from './card-numbers.ts';
import type { AttachmentView, MessageKind, MessageView, PostMessageInput, SenderRole } from './messages.schemas.ts';
import { createMessageWriter, insertMessage, type MessageRow, type MessageWriterOptions, type NewMessage } from './messages.store.ts';

const toMessageView = (row: MessageRow): MessageView => ({
  id: row.id,
  ticketId: row.ticket_id,
  seq: row.seq,
  senderRole: row.sender_role,
  csrId: row.csr_id,
  kind: row.kind,
  channel: row.channel,
  text: row.text,
  content: row.content,
  attachmentId: row.attachment_id,
  clientMessageId: row.client_message_id,
  createdAt: row.created_at,
});

interface AttachmentRow {
  id: string;
  ticket_id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  storage_key: string;
  created_at: Date;
}

const toAttachmentView = (row: AttachmentRow): AttachmentView => ({
  id: row.id,
  ticketId: row.ticket_id,
  filename: row.filename,
  contentType: row.content_type,
  sizeBytes: row.size_bytes,
  sha256: row.sha256,
  createdAt: row.created_at,
});

/** Which content types each attachment-bearing kind accepts. */
const kindFamilies: Partial<Record<MessageKind, (contentType: string) => boolean>> = {
  voice: (type) => type.startsWith('audio/'),
  image: (type) => type.startsWith('image/'),
  video: (type) => type.startsWith('video/'),
  file: () => true,
};

const toMinorUnits = (amount: string): number => {
  const [whole, fraction = ''] = amount.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
};

export interface MessageServiceDeps {
  db: Database;
  storage: AttachmentStorage;
  limits: { maxBytes: number; allowedTypes: readonly string[] };
  /** Group commit of concurrent posts (see createMessageWriter). */
  writer?: MessageWriterOptions;
}

function senderFor(principal: Principal, requested: SenderRole | undefined): { role: SenderRole; csrId: string | null } {
  switch (principal.role) {
    case 'csr':
      if (requested && requested !== 'csr') throw new AppError('forbidden', 'CSR keys send as csr');
      if (!principal.csrId) throw new AppError('forbidden', 'This CSR key is not bound to a CSR');
      return { role: 'csr', csrId: principal.csrId };
    case 'bot':
      if (requested === 'csr') throw new AppError('forbidden', 'Bot keys send as customer, bot or system');
      return { role: requested ?? 'bot', csrId: null };
    case 'manager':
    case 'admin':
      return { role: requested ?? 'system', csrId: null };
    default:
      throw new AppError('forbidden', `A ${principal.role} key may not post messages`);
  }
}

export function createMessageService({ db, storage, limits, writer: writerOptions }: MessageServiceDeps) {
  const writer = createMessageWriter(db, writerOptions);

  /** Explains why the guarded update matched no ticket. */
  async function whyNotWritable(listingId: string, ticketId: string): Promise<never> {
    const ticket = await findTicket(db, listingId, ticketId);
    if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
    if (ticket.status !== 'waiting' && ticket.status !== 'assigned') {
      throw new AppError('ticket_closed', `Ticket ${ticket.ref} has ended (${ticket.status})`);
    }
    throw new AppError('ticket_not_held', `Ticket ${ticket.ref} is not held by this CSR`);
  }

  async function findByClientId(listingId: string, ticketId: string, clientMessageId: string) {
    const { rows } = await db.query<MessageRow>(
      'SELECT * FROM messages WHERE listing_id = $1 AND ticket_id = $2 AND client_message_id = $3',
      [listingId, ticketId, clientMessageId],
    );
    return rows[0];
  }

  async function checkAttachment(listingId: string, ticketId: string, kind: MessageKind, attachmentId: string) {
    const { rows } = await db.query<AttachmentRow>('SELECT * FROM attachments WHERE listing_id = $1 AND id = $2', [listingId, attachmentId]);
    const attachment = rows[0];
    if (!attachment || attachment.ticket_id !== ticketId) {
      throw new AppError('unprocessable', `Attachment ${attachmentId} was not uploaded to this ticket`);
    }
    if (!kindFamilies[kind]?.(attachment.content_type)) {
      throw new AppError('unprocessable', `A ${kind} message cannot carry a ${attachment.content_type} attachment`);
    }
    return attachment;
  }

  function contentOf(input: PostMessageInput, attachment: AttachmentRow | undefined): Record<string, unknown> {
    switch (input.kind) {
      case 'voice':
        return {
          durationSeconds: input.durationSeconds,
          ...(input.audioUrl ? { audioUrl: input.audioUrl } : {}),
          ...(input.transcript !== undefined ? { transcript: maskCardNumbers(input.transcript) } : {}),
          ...(attachment ? { contentType: attachment.content_type, filename: attachment.filename } : {}),
        };
      case 'image':
      case 'video':
      case 'file':
        return { contentType: attachment!.content_type, filename: attachment!.filename, sizeBytes: attachment!.size_bytes };
      case 'offer':
        return { offer: input.offer };
      case 'form':
        return { form: input.form };
      default:
        return {};
    }
  }

  return {
    async post(listingId: string, ticketId: string, input: PostMessageInput, principal: Principal): Promise<{ message: MessageView; created: boolean }> {
      const sender = senderFor(principal, input.senderRole);
      if (input.clientMessageId) {
        const existing = await findByClientId(listingId, ticketId, input.clientMessageId);
        if (existing) return { message: toMessageView(existing), created: false };
      }
      const attachmentId = 'attachmentId' in input ? (input.attachmentId ?? null) : null;
      const attachment = attachmentId ? await checkAttachment(listingId, ticketId, input.kind, attachmentId) : undefined;
      const text = 'text' in input && input.text !== undefined ? maskCardNumbers(input.text) : null;
      const message: NewMessage = {
        id: newId(),
        role: sender.role,
        csrId: sender.csrId,
        mustHoldAs: principal.role === 'csr' ? sender.csrId : null,
        kind: input.kind,
        channel: input.channel ?? null,
        text,
        content: contentOf(input, attachment),
        attachmentId,
        clientMessageId: input.clientMessageId ?? null,
      };
      const actor = { keyId: principal.keyId, role: principal.role, csrId: principal.csrId };

      try {
        let row: MessageRow | undefined;
        if (input.kind === 'payment_request') {
          const payment = input.payment;
          if (maskCardNumbers(payment.description) !== payment.description) {
            throw new AppError('unprocessable', 'A payment request must not contain card data');
          }
          row = await db.transaction(async (tx) => {
            const paymentId = newId();
            const ticket = await findTicket(tx, listingId, ticketId);
            if (!ticket) return undefined;
            await tx.query(
              `INSERT INTO payment_requests (id, listing_id, ticket_id, amount_minor, currency, invoice_number, description)
               VALUES ($1, $2, $3, $4, $5, $6, $7)`,
              [paymentId, listingId, ticketId, toMinorUnits(payment.amount), payment.currency, payment.invoiceNumber, payment.description],
            );
            const inserted = await insertMessage(tx, listingId, ticketId, { ...message, content: { paymentRequestId: paymentId, ...payment } }, actor);
            if (!inserted) return undefined;
            await appendEvent(tx, {
              listingId,
              name: EventNames.paymentRequested,
              aggregateType: 'ticket',
              aggregateId: ticketId,
              payload: { paymentRequestId: paymentId, amount: payment.amount, currency: payment.currency, invoiceNumber: payment.invoiceNumber },
              actor,
            });
            return inserted;
          });
        } else {
          row = await writer.write(listingId, ticketId, message, actor);
        }
        if (!row) return await whyNotWritable(listingId, ticketId);
        return { message: toMessageView(row), created: true };
      } catch (error) {
        // A concurrent retry with the same clientMessageId won the race: answer with its message.
        if (input.clientMessageId && isUniqueViolation(error)) {
          const existing = await findByClientId(listingId, ticketId, input.clientMessageId);
          if (existing) return { message: toMessageView(existing), created: false };
        }
        throw error;
      }
    },

    async list(listingId: string, ticketId: string, page: { afterSeq: number; limit: number }): Promise<MessageView[]> {
      const ticket = await findTicket(db, listingId, ticketId);
      if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
      const { rows } = await db.query<MessageRow>(
        'SELECT * FROM messages WHERE listing_id = $1 AND ticket_id = $2 AND seq > $3 ORDER BY seq LIMIT $4',
        [listingId, ticketId, page.afterSeq, page.limit],
      );
      return rows.map(toMessageView);
    },

    async upload(
      listingId: string,
      ticketId: string,
      file: { filename: string; contentType: string; body: Buffer },
      principal: Principal,
    ): Promise<AttachmentView> {
      const contentType = file.contentType.split(';')[0]!.trim().toLowerCase();
      if (!limits.allowedTypes.includes(contentType)) {
        throw new AppError('unsupported_media_type', `Attachments of type ${contentType} are not accepted`, {
          accepted: limits.allowedTypes,
        });
      }
      if (file.body.length > limits.maxBytes) {
        throw new AppError('payload_too_large', `Attachments are limited to ${limits.maxBytes} bytes`);
      }
      if (file.body.length === 0) throw new AppError('validation_failed', 'The attachment is empty');
      const ticket = await findTicket(db, listingId, ticketId);
      if (!ticket) throw new AppError('not_found', `Ticket ${ticketId} not found`);
      const id = newId();
      const storageKey = `${listingId}/${ticketId}/${id}`;
      const sha256 = createHash('sha256').update(file.body).digest('hex');
      await storage.put(storageKey, file.body);
      try {
        return await db.transaction(async (tx) => {
          const { rows } = await tx.query<AttachmentRow>(
            `INSERT INTO attachments (id, listing_id, ticket_id, filename, content_type, size_bytes, sha256, storage_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
            [id, listingId, ticketId, file.filename, contentType, file.body.length, sha256, storageKey],
          );
          await appendEvent(tx, {
            listingId,
            name: EventNames.attachmentUploaded,
            aggregateType: 'ticket',
            aggregateId: ticketId,
            payload: { attachmentId: id, contentType, sizeBytes: file.body.length },
            actor: { keyId: principal.keyId, role: principal.role, csrId: principal.csrId },
          });
          return toAttachmentView(rows[0]!);
        });
      } catch (error) {
        await storage.remove(storageKey).catch(() => undefined);
        throw error;
      }
    },

    async download(listingId: string, id: string): Promise<{ attachment: AttachmentView; body: Readable }> {
      const { rows } = await db.query<AttachmentRow>('SELECT * FROM attachments WHERE listing_id = $1 AND id = $2', [listingId, id]);
      const row = rows[0];
      if (!row) throw new AppError('not_found', `Attachment ${id} not found`);
      return { attachment: toAttachmentView(row), body: storage.open(row.storage_key) };
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
