import { z } from 'zod';

/**
 * The schemas the HTTP API names as OpenAPI components. A registry of its own, rather than zod's
 * global one, so that other modules' named schemas (the interaction-record JSON Schema, say)
 * neither leak into the API document nor collide with its names.
 */
export const apiSchemas = z.registry<{ id: string }>();
