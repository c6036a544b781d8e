import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { featureRegistry, renderFeatureCatalogue } from '../../src/features/index.ts';

describe('docs/features.md', () => {
  it('is current (run `npm run features:catalogue` after changing a feature)', async () => {
    const committed = await readFile(new URL('../../docs/features.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderFeatureCatalogue());
  });

  it('lists every feature with a description', () => {
    const catalogue = renderFeatureCatalogue();
    for (const feature of [...featureRegistry.dense, ...featureRegistry.sparse]) {
      expect(feature.description.length).toBeGreaterThan(10);
      expect(catalogue).toContain(`| \`${feature.name}\` |`);
    }
  });
});
