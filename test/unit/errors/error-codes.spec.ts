import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { ERROR_CODES, ErrorCode } from '../../../lib/errors/error-codes.js';

describe('the error code table', () => {
  it('lists every code exactly once', () => {
    const listed = ERROR_CODES.map((entry) => entry.code);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('gives every protocol code a description', () => {
    for (const entry of ERROR_CODES) {
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });

  it('is printed in the README exactly as ERROR_CODES has it', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const entry of ERROR_CODES) {
      const row = `| \`${entry.code}\` | ${entry.kind} | ${entry.closeCode ?? ''} | ${entry.httpStatus ?? ''} | ${entry.description} |`;
      expect(readme).toContain(row);
    }
  });
});
