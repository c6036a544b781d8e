import { mkdir, writeFile } from 'node:fs/promises';
import { renderFeatureCatalogue } from '../src/features/index.ts';

// `npm run features:catalogue`: docs/features.md from the feature registry;
// test/unit/features-catalogue.test.ts fails when the committed file is stale.
await mkdir(new URL('../docs/', import.meta.url), { recursive: true });
await writeFile(new URL('../docs/features.md', import.meta.url), renderFeatureCatalogue());
process.stdout.write('wrote docs/features.md\n');
