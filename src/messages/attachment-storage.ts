import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** Where attachment bytes live; a local directory by default, object storage behind the same shape. */
export interface AttachmentStorage {
  put(key: string, body: Buffer): Promise<void>;
  open(key: string): Readable;
  remove(key: string): Promise<void>;
}

export function createLocalAttachmentStorage(root: string): AttachmentStorage {
  const resolve = (key: string) => {
    const full = path.resolve(root, key);
    if (!full.startsWith(path.resolve(root) + path.sep)) throw new Error('attachment key escapes the storage root');
    return full;
  };
  return {
    async put(key, body) {
      const target = resolve(key);
      await mkdir(path.dirname(target), { recursive: true });
      // Write then rename, so a crash never leaves a half-written file under the final name.
      const temporary = `${target}.${process.pid}.partial`;
      await writeFile(temporary, body);
      await rename(temporary, target);
    },
    open: (key) => createReadStream(resolve(key)),
    async remove(key) {
      await rm(resolve(key), { force: true });
    },
  };
}
