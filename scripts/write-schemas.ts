import { mkdir, writeFile } from 'node:fs/promises';
import { interactionJsonSchema } from '../src/ingest/index.ts';

// `npm run schemas`: publishes the canonical interaction record as JSON Schema for people who
// export into it; test/unit/ingest-schema.test.ts fails when the committed file and the zod
// schema disagree.
await mkdir(new URL('../schemas/', import.meta.url), { recursive: true });
await writeFile(new URL('../schemas/interaction.schema.json', import.meta.url), `${JSON.stringify(interactionJsonSchema(), null, 2)}\n`);
process.stdout.write('wrote schemas/interaction.schema.json\n');
