export { openAnalyticsDb, analyticsDbPath, type AnalyticsDb, type SqlParams, type SqlTypes, type OpenOptions } from './duckdb.ts';
export { migrateAnalytics } from './migrate.ts';
export { createAnalyticsOwner, type AnalyticsOwner } from './owner.ts';
