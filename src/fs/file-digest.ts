import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The file's sha256 (hex), streamed: backups hold files of any size. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
