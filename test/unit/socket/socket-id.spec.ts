import { describe, expect, it } from '@jest/globals';
import { createSocketId } from '../../../lib/socket/socket-id.js';

describe('createSocketId', () => {
  it('is 22 characters of base64url (128 bits)', () => {
    for (let i = 0; i < 300; i++) {
      const id = createSocketId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });

  it('does not repeat, across several refills of its random pool (256 ids each)', () => {
    const ids = new Set<string>();
    const count = 256 * 4 + 17;
    for (let i = 0; i < count; i++) {
      ids.add(createSocketId());
    }
    expect(ids.size).toBe(count);
  });
});

describe('createNodeSocketId', () => {
  it("starts with the node's tag, is 24 flat base64url characters, and does not repeat", async () => {
    const { createNodeSocketId } = await import('../../../lib/socket/socket-id.js');
    const tag = Buffer.from([1, 2, 3, 4, 5, 6]);
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = createNodeSocketId(tag);
      expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(id.slice(0, 8)).toBe(tag.toString('base64url'));
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
  });
});
