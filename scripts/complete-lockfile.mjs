// Keeps package-lock.json valid for `npm ci` when the registry this project installs from lacks
// some other-platform builds of an optional native binding (seen: @duckdb/node-bindings-darwin-*
// at the version we pin). `npm install` then silently leaves those packages out of the lockfile,
// and `npm ci` refuses the lockfile as out of sync. An entry naming only version, os and cpu is
// enough: on a machine of another platform npm skips it without fetching anything.
// Runs as the postinstall script; a no-op when nothing is missing.
import { readFileSync, writeFileSync } from 'node:fs';

const OS = new Set(['darwin', 'linux', 'win32', 'freebsd', 'android', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony']);
const CPU = { x64: 'x64', arm64: 'arm64', arm: 'arm', ia32: 'ia32', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', gnueabihf: 'arm', musleabihf: 'arm' };

const file = new URL('../package-lock.json', import.meta.url);
let lock;
try {
  lock = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  process.exit(0);
}
const packages = lock.packages ?? {};
const added = [];
for (const meta of Object.values(packages)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const parts = name.split('/').at(-1).split('-');
    const os = parts.find((part) => OS.has(part));
    const cpu = parts.map((part) => CPU[part]).find(Boolean);
    if (!os || !cpu) continue;
    const entry = { version: range.replace(/^[\^~]/, ''), optional: true, os: [os], cpu: [cpu] };
    if (parts.includes('musl') || parts.includes('musleabihf')) entry.libc = ['musl'];
    else if (os === 'linux' && (parts.includes('gnu') || parts.includes('gnueabihf'))) entry.libc = ['glibc'];
    packages[key] = entry;
    added.push(name);
  }
}
if (added.length > 0) {
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  process.stdout.write(`complete-lockfile: recorded ${added.length} other-platform optional packages\n`);
}
