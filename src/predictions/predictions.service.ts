import { AppError, type Database } from '../platform/index.ts';
import { atRiskQuery, type AtRiskQuery } from './predictions.schemas.ts';
import { readAtRisk, readTicketPredictions, type AtRiskRow, type StoredPrediction } from './predictions.store.ts';

/** Reading the live predictions (any api process: they are rows in the ticket database). */
export function createPredictionService({ db }: { db: Database }) {
  return {
    async forTicket(listingId: string, ticketId: string): Promise<StoredPrediction[]> {
      const ticket = await db.query('SELECT 1 FROM tickets WHERE listing_id = $1 AND id = $2', [listingId, ticketId]);
      if (ticket.rowCount === 0) throw new AppError('not_found', `Ticket ${ticketId} not found`);
      return readTicketPredictions(db, listingId, ticketId);
    },

    atRisk(listingId: string, query: Partial<AtRiskQuery> = {}): Promise<AtRiskRow[]> {
      const { target, limit, minRisk } = atRiskQuery.parse(query);
      return readAtRisk(db, listingId, target, limit, minRisk);
    },
  };
}

export type PredictionService = ReturnType<typeof createPredictionService>;
