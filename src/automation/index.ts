export { createAutomationEngine, producedByAutomation, AUTOMATION_ACTOR, type AutomationEngine, type AutomationEngineDeps, type CheckResult } from './automation.service.ts';
export { createAutomationJobs } from './automation.jobs.ts';
export { createAutomatedMessageService, renderWelcome, type AutomatedMessageService } from './automated-messages.service.ts';
export { decide, type Decision, type TicketFacts, type Situation } from './automation.policy.ts';
export {
  automatedMessagesBody,
  automatedMessagesView,
  welcomeQuery,
  welcomeView,
  type AutomatedMessagesInput,
  type AutomatedMessagesView,
  type TriggeredMessage,
  type TriggeredKind,
} from './automation.schemas.ts';
