import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { fanOut, forEachRecipient, type Recipients } from '../../../lib/broadcast/fan-out.js';
import type { PreparedFrame } from '../../../lib/broadcast/prepared-frame.js';
import type { BroadcastPacket, Targeting } from '../../../lib/broker/broker.interface.js';
import type { Connection } from '../../../lib/connection/connection.interface.js';
import type { SwitchboardAdapterOptions } from '../../../lib/interfaces/adapter-options.interface.js';
import { RoomRegistry } from '../../../lib/rooms/room-registry.js';
import { fakeContext, type FakeContext } from '../fake-context.js';
import { CLOSED, fakeConnection, type FakeConnection } from '../fakes.js';

type Fake = FakeConnection & Connection;

/** One gateway's local connections: a client set, a room registry and the by-id index, over a fake context. */
function recipientsOf(connections: Fake[], options: SwitchboardAdapterOptions = {}): Recipients<Fake> & FakeContext {
  const context = fakeContext(options);
  for (const connection of connections) {
    connection._server = context;
  }
  const byId = new Map(connections.map((connection) => [connection.id, connection]));
  return Object.assign(context, {
    clients: new Set(connections),
    rooms: new RoomRegistry<Fake>({ roomCreated: () => Promise.resolve(), roomDeleted: () => undefined, whenSubscribed: () => Promise.resolve() }),
    connectionById: (id: string) => byId.get(id),
  });
}

describe('forEachRecipient', () => {
  let a: Fake, b: Fake, c: Fake, d: Fake;
  let recipients: Recipients<Fake>;

  const visited = (targeting: Targeting): string[] => {
    const ids: string[] = [];
    forEachRecipient(recipients, targeting, (connection) => ids.push(connection.id));
    return ids;
  };
  const names = (...connections: Fake[]): string[] => connections.map((connection) => connection.id);

  beforeEach(() => {
    [a, b, c, d] = [fakeConnection(), fakeConnection(), fakeConnection(), fakeConnection()];
    recipients = recipientsOf([a, b, c, d]);
    // x: a b c; y: b c d; z: d
    for (const [connection, rooms] of [
      [a, ['x']],
      [b, ['x', 'y']],
      [c, ['x', 'y']],
      [d, ['y', 'z']],
    ] as const) {
      for (const room of rooms) {
        recipients.rooms.join(connection, room);
      }
    }
  });

  it('one room without exclusions: every member once, in join order', () => {
    expect(visited({ rooms: ['x'] })).toEqual(names(a, b, c));
  });

  it('one room that does not exist here: nobody', () => {
    expect(visited({ rooms: ['nowhere'] })).toEqual([]);
  });

  it('several rooms: a member of both is visited once', () => {
    expect(visited({ rooms: ['x', 'y'] })).toEqual(names(a, b, c, d));
    expect(visited({ rooms: ['y', 'x', 'y'] })).toEqual(names(b, c, d, a));
  });

  it('client ids: each once, unknown ids skipped, and deduped against the rooms', () => {
    expect(visited({ clientIds: [c.id, 'gone', a.id, c.id] })).toEqual(names(c, a));
    expect(visited({ rooms: ['z'], clientIds: [d.id, a.id] })).toEqual(names(d, a));
  });

  it('except rooms: members of the excluded rooms are skipped, in the one-room path and the general one', () => {
    expect(visited({ rooms: ['x'], exceptRooms: ['y'] })).toEqual(names(a));
    expect(visited({ rooms: ['x', 'z'], exceptRooms: ['y'] })).toEqual(names(a));
    expect(visited({ rooms: ['x'], exceptRooms: ['nowhere'] })).toEqual(names(a, b, c));
  });

  it('except client ids: skipped everywhere, including when also named in clientIds', () => {
    expect(visited({ rooms: ['x'], exceptClientIds: [b.id] })).toEqual(names(a, c));
    expect(visited({ clientIds: [a.id, b.id], exceptClientIds: [a.id] })).toEqual(names(b));
    expect(visited({ exceptClientIds: [a.id, 'gone'] })).toEqual(names(b, c, d));
  });

  it('everyone: no rooms and no ids visits every client, with or without exclusions', () => {
    const loner = fakeConnection();
    (recipients.clients as Set<Fake>).add(loner); // in no room at all
    expect(visited({})).toEqual([...names(a, b, c, d), loner.id]);
    expect(visited({ exceptRooms: ['y'] })).toEqual(names(a, loner));
  });

  it('empty lists target nobody (not everyone)', () => {
    expect(visited({ rooms: [] })).toEqual([]);
    expect(visited({ clientIds: [] })).toEqual([]);
  });

  it('does not change the room registry or the exclusion inputs', () => {
    const targeting = { rooms: ['x', 'y'], exceptRooms: ['z'], exceptClientIds: [a.id] };
    visited(targeting);
    expect(targeting).toEqual({ rooms: ['x', 'y'], exceptRooms: ['z'], exceptClientIds: [a.id] });
    expect([...recipients.rooms.membersOf('x')!]).toEqual([a, b, c]);
  });
});

describe('fanOut', () => {
  const HIGH = 1000;

  /** A prepared frame that writes to open connections only, and records where it wrote. */
  function preparedFor(targeting: Targeting): PreparedFrame & { written: string[] } {
    const written: string[] = [];
    const packet: BroadcastPacket = { path: '/', frame: Buffer.from('x'), binary: false, compress: false, ...targeting };
    return {
      packet,
      written,
      writeTo: jest.fn((socket: Fake) => {
        if (socket.readyState !== 1) {
          return false;
        }
        written.push(socket.id);
        return true;
      }),
    } as unknown as PreparedFrame & { written: string[] };
  }

  it('writes to each recipient once and counts the broadcast and the deliveries', () => {
    const [a, b, c] = [fakeConnection(), fakeConnection(), fakeConnection()];
    const recipients = recipientsOf([a, b, c]);
    recipients.rooms.join(a, 'r');
    recipients.rooms.join(b, 'r');
    const prepared = preparedFor({ rooms: ['r'], clientIds: [a.id, c.id] });
    expect(fanOut(recipients, prepared)).toBe(3);
    expect(prepared.written).toEqual([a.id, b.id, c.id]);
    expect(recipients.stats).toMatchObject({ broadcasts: 1, deliveries: 3, skippedDeliveries: 0, slowConsumerSkips: 0 });
    fanOut(recipients, prepared);
    expect(recipients.stats).toMatchObject({ broadcasts: 2, deliveries: 6 });
  });

  it('counts a recipient whose socket is no longer open as a skipped delivery', () => {
    const [a, b] = [fakeConnection(), fakeConnection({ readyState: CLOSED })];
    const recipients = recipientsOf([a, b]);
    expect(fanOut(recipients, preparedFor({}))).toBe(1);
    expect(recipients.stats).toMatchObject({ broadcasts: 1, deliveries: 1, skippedDeliveries: 1 });
  });

  it('a broadcast reaching nobody still counts as a broadcast', () => {
    const recipients = recipientsOf([fakeConnection()]);
    expect(fanOut(recipients, preparedFor({ rooms: ['empty'] }))).toBe(0);
    expect(recipients.stats).toMatchObject({ broadcasts: 1, deliveries: 0, skippedDeliveries: 0 });
  });

  it('skips a slow consumer (at the high-water mark) and keeps writing to the others, under "skip"', () => {
    const fast = fakeConnection({ bufferedAmount: HIGH - 1 });
    const slow = fakeConnection({ bufferedAmount: HIGH });
    const recipients = recipientsOf([fast, slow], { backpressure: { highWaterMark: HIGH, closeAt: 10 * HIGH } });
    const prepared = preparedFor({});
    expect(fanOut(recipients, prepared)).toBe(1);
    expect(prepared.written).toEqual([fast.id]);
    expect(prepared.writeTo).toHaveBeenCalledTimes(1);
    expect(slow.close).not.toHaveBeenCalled();
    expect(recipients.stats).toMatchObject({ deliveries: 1, skippedDeliveries: 0, slowConsumerSkips: 1, slowConsumerCloses: 0 });
  });

  it('closes a slow consumer with 1013 under "close", and does not write to it', () => {
    jest.useFakeTimers();
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    try {
      const slow = fakeConnection({ bufferedAmount: HIGH });
      const recipients = recipientsOf([slow], { backpressure: { highWaterMark: HIGH, policy: 'close' } });
      const prepared = preparedFor({});
      expect(fanOut(recipients, prepared)).toBe(0);
      expect(prepared.writeTo).not.toHaveBeenCalled();
      expect(slow.close).toHaveBeenCalledWith(1013, 'SLOW_CONSUMER');
      expect(recipients.stats).toMatchObject({ slowConsumerCloses: 1, slowConsumerSkips: 0 });
    } finally {
      debug.mockRestore();
      jest.useRealTimers();
    }
  });
});
