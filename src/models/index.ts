export { rocAuc } from './metrics.ts';
export { createModelRegistry, type ModelArtifact, type ModelRegistry, type ModelVersion, type ModelVersionMetadata, type SaveOptions } from './registry/index.ts';
