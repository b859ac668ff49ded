import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';

/** The one check of a room name: a non-empty string (joins, leaves, broadcasts, the mock socket). */
export function assertRoomName(room: unknown): asserts room is string {
  if (typeof room !== 'string' || room.length === 0) {
    throw new SwitchboardError(ErrorCode.INVALID_ROOM, 'A room name must be a non-empty string.');
  }
}
