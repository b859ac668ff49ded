import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../../lib/errors/switchboard.error.js';
import { assertRoomName } from '../../../lib/rooms/room-name.js';
import { thrownBy } from '../fakes.js';

describe('assertRoomName', () => {
  it.each(['a', 'lobby', ' ', 'room:with:colons', '🚀'])('accepts %j', (room) => {
    expect(() => assertRoomName(room)).not.toThrow();
  });

  it.each([[''], [undefined], [null], [42], [{}], [['a']]])('refuses %j with INVALID_ROOM', (room) => {
    const thrown = thrownBy(() => assertRoomName(room));
    expect(thrown).toBeInstanceOf(SwitchboardError);
    expect((thrown as SwitchboardError).code).toBe(ErrorCode.INVALID_ROOM);
  });
});
