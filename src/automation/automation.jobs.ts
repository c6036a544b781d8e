import type { JobHandlers } from '../jobs/index.ts';
import type { AutomationEngine } from './automation.service.ts';

/** Processors for the automation jobs of the catalog: parse (done by the runner), call, return. */
export function createAutomationJobs(engine: Pick<AutomationEngine, 'checkTicket' | 'sweep'>): Pick<JobHandlers, 'automated.check-ticket' | 'automated.sweep'> {
  return {
    'automated.check-ticket': ({ listingId, ticketId }) => engine.checkTicket(listingId, ticketId),
    'automated.sweep': (payload) => engine.sweep(payload),
  };
}
