export { buildApp, type AppDeps } from './app.ts';
export { toProblem, problemSchema, type Problem } from './problem.ts';
export type { ReadinessCheck } from './routes/system.routes.ts';
export { generateOpenApiDocument } from './openapi.ts';
