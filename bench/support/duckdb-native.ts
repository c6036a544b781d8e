/**
 * DuckDB's own readers loading a generated file into a fresh database file: the baseline of
 * `bench/ingest.bench.ts`. Run as a child process (so its peak RSS is measured like the CLI's):
 *
 *   node --import tsx bench/support/duckdb-native.ts <db file> jsonl <file.jsonl>
 *   node --import tsx bench/support/duckdb-native.ts <db file> csv <messages.csv> <interactions.csv>
 *
 * jsonl: one statement parses every line (interactions with their nested messages) and writes one
 *        row per message: CREATE TABLE messages AS SELECT id, unnest(messages, recursive := true)
 *        FROM read_json(…).
 * csv:   read_csv of the messages table into `messages` and of the interactions table into
 *        `interactions` (both files, as `loopwise ingest` reads both).
 * Prints {"messages": n, "seconds": s} on stdout; s is the SQL time, without process start.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const [dbFile, mode, file, companion] = process.argv.slice(2);
if (!dbFile || (mode !== 'jsonl' && mode !== 'csv') || !file || (mode === 'csv' && !companion)) {
  process.stderr.write('usage: duckdb-native.ts <db> jsonl <file.jsonl> | <db> csv <messages.csv> <interactions.csv>\n');
  process.exit(2);
}
const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

const instance = await DuckDBInstance.create(dbFile);
const connection = await instance.connect();
const started = performance.now();
if (mode === 'jsonl') {
  await connection.run(
    `CREATE TABLE messages AS SELECT id AS interaction_id, unnest(messages, recursive := true) FROM read_json(${quote(file)}, format = 'newline_delimited')`,
  );
} else {
  await connection.run(`CREATE TABLE messages AS SELECT * FROM read_csv(${quote(file)}, header = true)`);
  await connection.run(`CREATE TABLE interactions AS SELECT * FROM read_csv(${quote(companion!)}, header = true)`);
}
await connection.run('CHECKPOINT');
const seconds = (performance.now() - started) / 1000;
const reader = await connection.runAndReadAll('SELECT count(*)::DOUBLE AS n FROM messages');
const messages = Number(reader.getRowObjectsJS()[0]!.n);
connection.closeSync();
instance.closeSync();
process.stdout.write(`${JSON.stringify({ messages, seconds })}\n`);
