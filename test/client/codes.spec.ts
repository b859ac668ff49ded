import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ClientErrorCode } from '../../lib/client/index.js';
import { ERROR_CODES } from '../../lib/errors/error-codes.js';

/**
 * The client does not import the server's table of error codes (it would
 * bring server code into the browser bundle); this keeps the two in step:
 * every code the client gives, and every code its source names, is in the table.
 */
describe("the client's error codes", () => {
  const table = new Set(ERROR_CODES.map((info) => info.code as string));

  it('are all in ERROR_CODES, including the six the protocol spec lists for the client', () => {
    const codes = Object.values(ClientErrorCode);
    expect(codes.filter((code) => !table.has(code))).toEqual([]);
    expect(codes).toEqual(expect.arrayContaining(['REQUEST_TIMEOUT', 'DISCONNECTED', 'QUEUE_FULL', 'ABORTED', 'CLIENT_CLOSED', 'UNAUTHORIZED']));
    for (const [key, value] of Object.entries(ClientErrorCode)) {
      expect(key).toBe(value);
    }
  });

  it('are the only codes the client source names (Code.X), and no code is spelled out as a string elsewhere', () => {
    const folder = new URL('../../lib/client/', import.meta.url);
    const named = new Set<string>();
    const spelled: string[] = [];
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, folder), 'utf8');
      for (const match of source.matchAll(/\bCode\.([A-Z_]+)/g)) {
        named.add(match[1]);
      }
      if (file !== 'client-error.ts') {
        spelled.push(...[...source.matchAll(/'([A-Z][A-Z_]{3,})'/g)].map((match) => `${file}: ${match[1]}`));
      }
    }
    expect(spelled).toEqual([]);
    expect([...named].filter((code) => !(code in ClientErrorCode))).toEqual([]);
    expect([...named].filter((code) => !table.has(code))).toEqual([]);
  });
});
