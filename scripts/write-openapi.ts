import { writeFile } from 'node:fs/promises';
import { generateOpenApiDocument } from '../src/api/index.ts';

// `npm run openapi`: writes openapi.json at the repository root; test/unit/openapi.test.ts fails
// when the committed file and the routes disagree.
const document = await generateOpenApiDocument();
await writeFile(new URL('../openapi.json', import.meta.url), `${JSON.stringify(document, null, 2)}\n`);
process.stdout.write(`wrote openapi.json (${Object.keys(document.paths as object).length} paths)\n`);
