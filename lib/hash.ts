import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { canonicalJson } from './canonical.ts';

/** sha256 of a string or bytes, as `sha256:<64 hex>`. */
export function sha256(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Digest of a JSON value by content (key order irrelevant): `sha256:<hex>` of its canonical JSON. */
export function digestJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Streams a file through sha256; returns `sha256:<hex>`. Throws ENOENT if the file is missing. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return 'sha256:' + h.digest('hex');
}
