/** Time as a dependency, so services can be tested at a chosen instant. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
