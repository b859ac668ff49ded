import { describe, expect, it } from '@jest/globals';
import { normalizePath } from '../../../lib/utils/path.js';

describe('normalizePath', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['chat', '/chat'],
    ['/chat/', '/chat'],
    ['//a///b//', '/a/b'],
    ['/', '/'],
    ['///', '/'],
    ['/a/b', '/a/b'],
    ['/rooms/:room', '/rooms/:room'],
  ])('normalizes %j to %j', (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });

  it('returns an already normal path as the same string (the upgrade fast path)', () => {
    const path = '/already/normal';
    expect(normalizePath(path)).toBe(path);
  });

  it('is idempotent', () => {
    for (const path of ['x//y/', '/a/', '', '//']) {
      expect(normalizePath(normalizePath(path))).toBe(normalizePath(path));
    }
  });
});
