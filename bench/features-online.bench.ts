import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createOnlineFeatures, type FeatureMessage } from '../src/features/index.ts';

// Online feature update per message (issue 3 target: p99 < 100 µs): every MWOZ dialogue pushed
// message by message through createOnlineFeatures, timing each push plus reading all dense values.
// `npx tsx bench/features-online.bench.ts [path/to/MWOZ.txt]`

const file = process.argv[2] ?? path.resolve(import.meta.dirname, '../../shared/data/uss/MWOZ.txt');
const dialogues = (await readFile(file, 'utf8'))
  .split(/\n\s*\n/)
  .map((block) =>
    block
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((cols) => cols[0] === 'USER' || cols[0] === 'SYSTEM')
      .map((cols, i): FeatureMessage => ({
        role: cols[0] === 'USER' ? 'customer' : 'csr',
        kind: 'text',
        channel: 'chat',
        tsMs: Date.UTC(2024, 0, 1) + i * 30_000,
        text: cols[1] ?? '',
        hasAttachment: false,
      })),
  )
  .filter((messages) => messages.length > 0);

const samples: number[] = [];
for (let round = 0; round < 3; round++) {
  for (const messages of dialogues) {
    const online = createOnlineFeatures();
    for (const message of messages) {
      const start = process.hrtime.bigint();
      online.push(message);
      online.values();
      const ns = Number(process.hrtime.bigint() - start);
      if (round > 0) samples.push(ns / 1000); // round 0 warms the JIT
    }
  }
}
samples.sort((a, b) => a - b);
const pick = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
process.stdout.write(
  `${JSON.stringify({ messages: samples.length, p50_us: +pick(0.5).toFixed(1), p90_us: +pick(0.9).toFixed(1), p99_us: +pick(0.99).toFixed(1), max_us: +pick(1).toFixed(1) })}\n`,
);
