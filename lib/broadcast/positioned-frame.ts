import type { StreamPosition } from '../broker/stream-history.interface.js';

/** Where a room broadcast sits in its room's stream, as clients see it. */
export interface StreamMark {
  readonly room: string;
  readonly epoch: string;
  readonly offset: number;
}

/**
 * The JSON frame `{"event":..,"data":..}` with the room's stream position
 * added: `{"event":..,"data":..,"room":"lobby","epoch":"e1","offset":42}`.
 * Spliced into the encoded bytes (the frame is encoded once per broadcast,
 * before its position is known), so recipients on every node get the same
 * bytes. Only JSON frames can be positioned (recovery needs the JSON codec).
 */
export function withPosition(frame: Buffer, room: string, position: StreamPosition): Buffer {
  if (frame.length < 2 || frame[frame.length - 1] !== CLOSING_BRACE) {
    return frame; // Not a JSON object: left as is (and not recoverable).
  }
  const tail = Buffer.from(`,"room":${JSON.stringify(room)},"epoch":${JSON.stringify(position.epoch)},"offset":${position.offset}}`);
  return Buffer.concat([frame.subarray(0, frame.length - 1), tail]);
}

const CLOSING_BRACE = 0x7d;
