import * as ws from 'ws';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { PreparedFrame } from '../../../lib/broadcast/prepared-frame.js';
import type { BroadcastPacket } from '../../../lib/broker/broker.interface.js';
import { CaptureSocket, CLOSING, fakeConnection, type FakeConnection } from '../fakes.js';

/** ws's Sender as these tests drive it (not in @types/ws). */
interface RealSender {
  _state: number;
  _firstFragment: boolean;
  sendFrame(list: readonly Buffer[], cb?: () => void): void;
  send(data: Buffer, options: { binary: boolean; compress: boolean; fin: boolean; mask: boolean }, cb?: () => void): void;
}
const Sender = (ws as unknown as { Sender: new (socket: CaptureSocket) => RealSender }).Sender;

function packetOf(frame: Buffer, fields: Partial<BroadcastPacket> = {}): BroadcastPacket {
  return { path: '/', frame, binary: false, compress: false, ...fields };
}

/** A socket that writes through a real ws Sender into memory: the bytes on the wire, exactly. */
function wiredSocket(fields: Partial<FakeConnection> = {}): { socket: FakeConnection; sender: RealSender; wire: CaptureSocket } {
  const wire = new CaptureSocket();
  const sender = new Sender(wire);
  const socket = fakeConnection({ _sender: sender, _extensions: {}, ...fields });
  return { socket, sender, wire };
}

/** What ws's own send writes for this payload (a server never masks). */
function wsSendBytes(payload: Buffer, binary: boolean): Buffer {
  const wire = new CaptureSocket();
  new Sender(wire).send(payload, { binary, compress: false, fin: true, mask: false });
  return wire.bytes;
}

describe('PreparedFrame: the bytes on the wire', () => {
  const header = (first: number, length: number): number[] => {
    if (length <= 125) {
      return [first, length];
    }
    if (length <= 0xffff) {
      return [first, 126, length >> 8, length & 0xff];
    }
    const bytes = [first, 127, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0, rest = length; i < 8; i++, rest = Math.floor(rest / 256)) {
      bytes[9 - i] = rest % 256;
    }
    return bytes;
  };

  it.each([
    { kind: 'text', binary: false, first: 0x81, length: 2 },
    { kind: 'text', binary: false, first: 0x81, length: 125 },
    { kind: 'text', binary: false, first: 0x81, length: 126 },
    { kind: 'text', binary: false, first: 0x81, length: 65535 },
    { kind: 'text', binary: false, first: 0x81, length: 65536 },
    { kind: 'text', binary: false, first: 0x81, length: 70000 },
    { kind: 'binary', binary: true, first: 0x82, length: 2 },
    { kind: 'binary', binary: true, first: 0x82, length: 125 },
    { kind: 'binary', binary: true, first: 0x82, length: 126 },
    { kind: 'binary', binary: true, first: 0x82, length: 65536 },
  ])('$kind frame, $length-byte payload: first byte $first (FIN + opcode), the length encoding, the payload as is', ({ binary, first, length }) => {
    const payload = Buffer.alloc(length, binary ? 0xab : 0x61);
    const { socket, wire } = wiredSocket();
    const prepared = new PreparedFrame(packetOf(payload, { binary }));
    expect(prepared.writeTo(socket as never)).toBe(true);
    expect(socket.send).not.toHaveBeenCalled(); // the pre-framed path, not ws.send
    const bytes = wire.bytes;
    const expectedHeader = header(first, length);
    expect([...bytes.subarray(0, expectedHeader.length)]).toEqual(expectedHeader);
    expect(bytes.length).toBe(expectedHeader.length + length);
    expect(bytes.subarray(expectedHeader.length).equals(payload)).toBe(true);
    // Exactly what ws.send would have written.
    expect(bytes.equals(wsSendBytes(payload, binary))).toBe(true);
  });

  it('pins the smallest frames byte for byte', () => {
    const text = wiredSocket();
    new PreparedFrame(packetOf(Buffer.from('hi'))).writeTo(text.socket as never);
    expect([...text.wire.bytes]).toEqual([0x81, 0x02, 0x68, 0x69]);
    const binary = wiredSocket();
    new PreparedFrame(packetOf(Buffer.from([1, 2, 3]), { binary: true })).writeTo(binary.socket as never);
    expect([...binary.wire.bytes]).toEqual([0x82, 0x03, 1, 2, 3]);
  });

  it.each([
    [125, [0x81, 0x7d]],
    [126, [0x81, 0x7e, 0x00, 0x7e]],
    [65535, [0x81, 0x7e, 0xff, 0xff]],
    [65536, [0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]],
    [70000, [0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]],
  ])('pins the header of a %i-byte text payload byte for byte', (length, expected) => {
    const { socket, wire } = wiredSocket();
    new PreparedFrame(packetOf(Buffer.alloc(length, 0x61))).writeTo(socket as never);
    expect([...wire.bytes.subarray(0, expected.length)]).toEqual(expected);
  });

  it('frames once: every recipient is handed the same single buffer, header and payload together', () => {
    const payload = Buffer.from('{"event":"x"}');
    const prepared = new PreparedFrame(packetOf(payload));
    const lists: Array<readonly Buffer[]> = [];
    const sendFrame = (list: readonly Buffer[]): void => {
      lists.push(list);
    };
    const first = fakeConnection({ _sender: { _state: 0, _firstFragment: true, sendFrame }, _extensions: {} });
    const second = fakeConnection({ _sender: { _state: 0, _firstFragment: true, sendFrame }, _extensions: {} });
    prepared.writeTo(first as never);
    prepared.writeTo(second as never);
    expect(lists).toHaveLength(2);
    expect(lists[0]).toBe(lists[1]);
    // One buffer per broadcast (copied once), so each recipient costs one plain write.
    expect(lists[0]).toHaveLength(1);
    expect(lists[0][0].subarray(2)).toEqual(payload);
    expect(lists[0][0][0]).toBe(0x81);
    expect(lists[0][0][1]).toBe(payload.length);
  });
});

describe('PreparedFrame: when it falls back to ws.send', () => {
  const payload = Buffer.from('{"event":"e","data":1}');

  it('the packet asks for compression and the socket negotiated permessage-deflate: ws.send compresses it', () => {
    const { socket, wire } = wiredSocket({ _extensions: { 'permessage-deflate': {} } });
    expect(new PreparedFrame(packetOf(payload, { compress: true })).writeTo(socket as never)).toBe(true);
    expect(socket.send).toHaveBeenCalledTimes(1);
    expect(socket.send).toHaveBeenCalledWith(payload, { binary: false, compress: true });
    expect(wire.writes).toBe(0);
  });

  it('compression asked for but not negotiated, or negotiated but not asked for: the pre-framed path', () => {
    const notNegotiated = wiredSocket();
    new PreparedFrame(packetOf(payload, { compress: true })).writeTo(notNegotiated.socket as never);
    const notAsked = wiredSocket({ _extensions: { 'permessage-deflate': {} } });
    new PreparedFrame(packetOf(payload, { compress: false })).writeTo(notAsked.socket as never);
    for (const { socket, wire } of [notNegotiated, notAsked]) {
      expect(socket.send).not.toHaveBeenCalled();
      expect(wire.bytes.equals(wsSendBytes(payload, false))).toBe(true);
    }
  });

  it.each([
    ['compressing (ws DEFLATING)', { _state: 1 }],
    ['reading a Blob (ws GET_BLOB_DATA)', { _state: 2 }],
    ['in the middle of a fragmented message', { _firstFragment: false }],
  ])('the sender is busy, %s: ws.send queues it behind the work in progress', (_why, state) => {
    const { socket, sender, wire } = wiredSocket();
    Object.assign(sender, state);
    expect(new PreparedFrame(packetOf(payload, { binary: true })).writeTo(socket as never)).toBe(true);
    expect(socket.send).toHaveBeenCalledWith(payload, { binary: true, compress: false });
    expect(wire.writes).toBe(0);
  });

  it('a socket without a ws sender (the mock socket), or a sender without sendFrame: ws.send', () => {
    const noSender = fakeConnection({ _sender: undefined });
    const noSendFrame = fakeConnection({ _sender: { _state: 0, _firstFragment: true } });
    for (const socket of [noSender, noSendFrame]) {
      expect(new PreparedFrame(packetOf(payload)).writeTo(socket as never)).toBe(true);
      expect(socket.send).toHaveBeenCalledWith(payload, { binary: false, compress: false });
    }
  });

  it('a socket that is not open: nothing is written, and it says so', () => {
    const { socket, wire } = wiredSocket({ readyState: CLOSING });
    expect(new PreparedFrame(packetOf(payload)).writeTo(socket as never)).toBe(false);
    expect(socket.send).not.toHaveBeenCalled();
    expect(wire.writes).toBe(0);
  });
});

describe('PreparedFrame: when ws no longer exposes Sender.frame', () => {
  afterEach(() => {
    jest.resetModules();
  });

  it('every write goes through ws.send, with the same bytes and options', async () => {
    const actual = await import('../../../lib/internals/ws.js');
    jest.resetModules();
    jest.unstable_mockModule('../../../lib/internals/ws.js', () => ({ ...actual, frameOf: undefined }));
    const { PreparedFrame: Unframed } = await import('../../../lib/broadcast/prepared-frame.js');
    expect(Unframed).not.toBe(PreparedFrame);
    const payload = Buffer.from('abc');
    const { socket, wire } = wiredSocket();
    expect(new Unframed(packetOf(payload, { binary: true })).writeTo(socket as never)).toBe(true);
    expect(socket.send).toHaveBeenCalledWith(payload, { binary: true, compress: false });
    expect(wire.writes).toBe(0);
  });
});
