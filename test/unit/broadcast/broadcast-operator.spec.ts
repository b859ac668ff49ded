import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { BroadcastOperator, type BroadcastTarget } from '../../../lib/broadcast/broadcast-operator.js';
import { NO_CLUSTER } from '../../../lib/broadcast/no-cluster.js';
import type { BroadcastPacket, Targeting } from '../../../lib/broker/broker.interface.js';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../../lib/errors/switchboard.error.js';
import type { Codec } from '../../../lib/interfaces/codec.interface.js';
import { JsonCodec } from '../../../lib/protocol/json.codec.js';
import { thrownBy } from '../fakes.js';

interface Client {
  readonly id: string;
}

/** A target that records what it is handed: the packets and whether they were local, the targetings it was asked to select. */
class FakeTarget implements BroadcastTarget<Client> {
  readonly path = '/chat';
  readonly published: Array<{ packet: BroadcastPacket; local: boolean }> = [];
  readonly selected: Targeting[] = [];
  readonly cluster = NO_CLUSTER;
  constructor(readonly codec: Codec = new JsonCodec()) {}
  publish(packet: BroadcastPacket, local: boolean): number {
    this.published.push({ packet, local });
    return 7;
  }
  select(targeting: Targeting): Client[] {
    this.selected.push(targeting);
    return [{ id: 'one' }, { id: 'two' }];
  }
}

describe('BroadcastOperator', () => {
  let target: FakeTarget;
  let root: BroadcastOperator<Client>;

  /** The one packet the last emit handed to the target. */
  const emitted = (operator: BroadcastOperator<Client>, event = 'tick', data: unknown = 1): BroadcastPacket => {
    const before = target.published.length;
    operator.emit(event, data);
    expect(target.published).toHaveLength(before + 1);
    return target.published[before].packet;
  };

  beforeEach(() => {
    target = new FakeTarget();
    root = new BroadcastOperator(target);
  });

  describe('immutability', () => {
    it.each([
      ['to', (op: BroadcastOperator<Client>) => op.to('a')],
      ['in', (op: BroadcastOperator<Client>) => op.in('a')],
      ['toClient', (op: BroadcastOperator<Client>) => op.toClient('id')],
      ['except', (op: BroadcastOperator<Client>) => op.except('a')],
      ['exceptClient', (op: BroadcastOperator<Client>) => op.exceptClient('id')],
      ['compress', (op: BroadcastOperator<Client>) => op.compress()],
      ['local', (op: BroadcastOperator<Client>) => op.local],
    ])('%s returns a new operator and leaves the original as it was', (_name, change) => {
      const base = root.to('base');
      const changed = change(base);
      expect(changed).toBeInstanceOf(BroadcastOperator);
      expect(changed).not.toBe(base);
      const after = emitted(changed);
      const afterLocal = target.published.at(-1)!.local;
      // The change shows on the new operator...
      expect({ ...after, frame: undefined, local: afterLocal }).not.toEqual({ path: '/chat', rooms: ['base'], binary: false, compress: false, local: false });
      // ...and not on the one it came from.
      const original = emitted(base);
      expect(original).toMatchObject({ rooms: ['base'], compress: false });
      expect(original.clientIds).toBeUndefined();
      expect(original.exceptRooms).toBeUndefined();
      expect(original.exceptClientIds).toBeUndefined();
      expect(target.published.at(-1)!.local).toBe(false);
    });

    it('a shared root stays untargeted whatever is chained from it', () => {
      root.to('a').except('b').toClient('c').compress().local.emit('x');
      const packet = emitted(root);
      expect(packet).toEqual({ path: '/chat', frame: expect.any(Buffer), binary: false, compress: false });
      expect(target.published.at(-1)!.local).toBe(false);
    });

    it('copies the arrays it is given: changing them afterwards changes nothing', () => {
      const rooms = ['a', 'b'];
      const ids = ['x'];
      const operator = root.to(rooms).toClient(ids).except(rooms);
      rooms.push('c');
      ids.push('y');
      const packet = emitted(operator);
      expect(packet.rooms).toEqual(['a', 'b']);
      expect(packet.clientIds).toEqual(['x']);
      expect(packet.exceptRooms).toEqual(['a', 'b']);
    });
  });

  describe('targeting', () => {
    it('with nothing chained, targets every client (no rooms, no ids)', () => {
      const packet = emitted(root);
      expect(packet.rooms).toBeUndefined();
      expect(packet.clientIds).toBeUndefined();
    });

    it('unions rooms over calls and drops duplicates, in first-seen order', () => {
      const packet = emitted(root.to('a').to(['b', 'a']).in(['c', 'b', 'c']));
      expect(packet.rooms).toEqual(['a', 'b', 'c']);
    });

    it('unions client ids given as ids or sockets, once each', () => {
      const packet = emitted(root.toClient('x').toClient([{ id: 'y' }, 'x']).toClient({ id: 'y' }));
      expect(packet.clientIds).toEqual(['x', 'y']);
      expect(packet.rooms).toBeUndefined(); // ids alone do not add rooms
    });

    it('except with strings skips rooms; with sockets, clients', () => {
      const packet = emitted(root.except('r1').except(['r2', 'r1']).except({ id: 's1' }).except([{ id: 's2' }, { id: 's1' }]));
      expect(packet.exceptRooms).toEqual(['r1', 'r2']);
      expect(packet.exceptClientIds).toEqual(['s1', 's2']);
    });

    it('except takes a string as a room name, never as a client id (exceptClient is for ids)', () => {
      const asRoom = emitted(root.except('abc'));
      expect(asRoom.exceptRooms).toEqual(['abc']);
      expect(asRoom.exceptClientIds).toBeUndefined();
      const asId = emitted(root.exceptClient(['abc', { id: 'def' }]));
      expect(asId.exceptClientIds).toEqual(['abc', 'def']);
      expect(asId.exceptRooms).toBeUndefined();
    });

    it('to([]) and toClient([]) target nobody, unlike no targeting at all (everyone)', () => {
      expect(emitted(root.to([])).rooms).toEqual([]);
      expect(emitted(root.toClient([])).clientIds).toEqual([]);
    });

    it('compress() asks for compression, compress(false) takes it back', () => {
      expect(emitted(root.compress()).compress).toBe(true);
      expect(emitted(root.compress().compress(false)).compress).toBe(false);
    });

    it('local hands the packet to the target as local; the packet itself does not say so', () => {
      const packet = emitted(root.to('a').local);
      expect(target.published.at(-1)!.local).toBe(true);
      expect(Object.keys(packet)).not.toContain('local');
    });
  });

  describe('emit', () => {
    it('encodes { event, data } once and hands one packet with the exact targeting to the target', () => {
      const codec = new JsonCodec();
      const encode = jest.spyOn(codec, 'encode');
      target = new FakeTarget(codec);
      const operator = new BroadcastOperator(target).to(['a', 'b']).toClient('id1').except('c').exceptClient({ id: 'id2' }).compress();
      const delivered = operator.emit('message', { text: 'hi' });
      expect(delivered).toBe(7); // what the target reports
      expect(encode).toHaveBeenCalledTimes(1);
      expect(encode).toHaveBeenCalledWith({ event: 'message', data: { text: 'hi' } });
      expect(target.published).toHaveLength(1);
      const { packet, local } = target.published[0];
      expect(local).toBe(false);
      expect(packet).toEqual({
        path: '/chat',
        rooms: ['a', 'b'],
        clientIds: ['id1'],
        exceptRooms: ['c'],
        exceptClientIds: ['id2'],
        frame: Buffer.from('{"event":"message","data":{"text":"hi"}}'),
        binary: false,
        compress: true,
      });
      expect(Buffer.isBuffer(packet.frame)).toBe(true);
    });

    it('each emit of one operator encodes and publishes again (nothing is cached between emits)', () => {
      const operator = root.to('a');
      operator.emit('e', 1);
      operator.emit('e', 2);
      expect(target.published.map(({ packet }) => packet.frame.toString())).toEqual(['{"event":"e","data":1}', '{"event":"e","data":2}']);
    });

    it('a binary codec: its Buffer is the frame as is, flagged binary', () => {
      const bytes = Buffer.from([1, 2, 3]);
      const binary: Codec = { name: 'bin', binary: true, decode: () => null, encode: () => bytes };
      target = new FakeTarget(binary);
      const packet = emitted(new BroadcastOperator(target));
      expect(packet.frame).toBe(bytes);
      expect(packet.binary).toBe(true);
    });

    it('sockets() and count() ask the target to select with the operator targeting, and send nothing', () => {
      const operator = root.to('a').exceptClient('b');
      expect(operator.sockets()).toEqual([{ id: 'one' }, { id: 'two' }]);
      expect(operator.count()).toBe(2);
      expect(target.selected).toHaveLength(2);
      expect(target.selected[0]).toMatchObject({ rooms: ['a'], exceptClientIds: ['b'] });
      expect(target.published).toHaveLength(0);
    });
  });

  describe('validation', () => {
    const expectCode = (call: () => unknown, code: string): void => {
      const thrown = thrownBy(call);
      expect(thrown).toBeInstanceOf(SwitchboardError);
      expect((thrown as SwitchboardError).code).toBe(code);
    };

    it.each([
      ['to("")', () => root.to('')],
      ['to(["a", ""])', () => root.to(['a', ''])],
      ['in("")', () => root.in('')],
      ['except("")', () => root.except('')],
      ['except(["a", ""])', () => root.except(['a', ''])],
    ])('%s throws INVALID_ROOM', (_name, call) => {
      expectCode(call, ErrorCode.INVALID_ROOM);
    });

    it.each([
      ['toClient("")', () => root.toClient('')],
      ['toClient({ id: "" })', () => root.toClient({ id: '' })],
      ['toClient([undefined])', () => root.toClient([undefined as unknown as string])],
      ['exceptClient(42)', () => root.exceptClient(42 as unknown as string)],
      ['except({})', () => root.except({} as { id: string })],
      ['except(undefined)', () => root.except(undefined as unknown as string)],
      ['emit("")', () => root.emit('')],
      ['emit(42)', () => root.emit(42 as unknown as string)],
    ])('%s throws INVALID_OPTION', (_name, call) => {
      expectCode(call, ErrorCode.INVALID_OPTION);
    });

    it('a refused emit publishes nothing', () => {
      thrownBy(() => root.emit(''));
      expect(target.published).toHaveLength(0);
    });

    // A room name that came from a client message (`server.to(body.room)`) is not always a string.
    it.each([
      ['to(42)', () => root.to(42 as unknown as string)],
      ['to(undefined)', () => root.to(undefined as unknown as string)],
      ['to(null)', () => root.to(null as unknown as string)],
      ['in({})', () => root.in({} as unknown as string)],
    ])('%s throws INVALID_ROOM, not a TypeError', (_name, call) => {
      expectCode(call, ErrorCode.INVALID_ROOM);
    });
  });
});
