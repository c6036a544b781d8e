export { jobPayloads, repeatingJobs, QUEUE, type JobName, type JobPayload, type JobHandlers } from './catalog.ts';
export { createInProcessJobs, createBullProducer, createBullConsumer, type JobProducer, type JobConsumer, type EnqueueOptions } from './runner.ts';
export { createOutboxRelay, type EventPublisher } from './outbox-relay.ts';
export { createLocalEventBus, createRedisEventBus, type EventBus } from './event-bus.ts';
