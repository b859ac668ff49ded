import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 16 * 256;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * A random 128-bit client id, 22 characters of base64url, unique across
 * processes. Built from a pooled random buffer (one `randomFillSync` per 256
 * ids) and decoded in one step, so the id is a flat string: `randomUUID()`
 * returns a string V8 keeps as a tree of concatenated pieces, which cost
 * about 400 bytes per idle connection.
 */
export function createSocketId(): string {
  if (offset === POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + 16);
  offset += 16;
  return id;
}

/**
 * A client id that names its node: the node's 6-byte tag, then 96 random
 * bits, 24 characters of base64url in one flat string. A broadcast to a
 * client id goes to that node only (see the hub's node channels).
 */
export function createNodeSocketId(nodeTag: Buffer): string {
  if (offset + 12 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.allocUnsafe(18);
  nodeTag.copy(bytes, 0, 0, 6);
  pool.copy(bytes, 6, offset, offset + 12);
  offset += 12;
  return bytes.toString('base64url');
}
