import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { ProtocolViolation, readInboundMessage } from '../../../lib/protocol/inbound-message.js';

describe('readInboundMessage', () => {
  it('returns the decoded object itself when it is a protocol v1 message', () => {
    const value = { event: 'x', data: 1, id: 'a' };
    expect(readInboundMessage(value)).toBe(value);
  });

  it.each([
    [null, undefined],
    [[], undefined],
    ['str', undefined],
    [{ event: 1 }, undefined],
    [{ event: '' }, undefined],
    [{ event: 'x', id: {} }, undefined],
    [{ event: 'x', id: Number.POSITIVE_INFINITY }, undefined],
    [{ id: 5 }, 5],
    [{ id: 'keep', event: null }, 'keep'],
  ])('refuses %j, keeping the id %j when it is readable', (value, id) => {
    const result = readInboundMessage(value);
    expect(result).toBeInstanceOf(ProtocolViolation);
    expect((result as ProtocolViolation).code).toBe(ErrorCode.INVALID_MESSAGE);
    expect((result as ProtocolViolation).id).toBe(id);
  });
});
