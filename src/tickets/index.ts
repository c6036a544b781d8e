export { createTicketService, type TicketService } from './tickets.service.ts';
export { findTicket, toTicketView, type TicketRow } from './tickets.store.ts';
export * from './tickets.schemas.ts';
