export { createModelRegistry, type ModelRegistry, type SaveOptions } from './registry.service.ts';
export type { ModelArtifact, ModelVersion, ModelVersionMetadata } from './registry.types.ts';
