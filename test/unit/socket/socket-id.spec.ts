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
