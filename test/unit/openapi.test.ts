import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../../src/api/index.ts';
// The server process loads the ingest module too, whose named zod schemas (the interaction record)
// must not leak into, or collide with, the API document's components.
import '../../src/ingest/index.ts';

describe('openapi.json', () => {
  it('matches the routes (run `npm run openapi` after changing an API)', async () => {
    const committed = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8'));
    const generated = JSON.parse(JSON.stringify(await generateOpenApiDocument()));
    expect(generated).toEqual(committed);
  });
});
