/**
 * The in-memory stream history (one per InMemoryBus, shared by its brokers)
 * against the stream history conformance suite, plus the positioned wire
 * format both histories publish, and the in-memory bounds.
 */
import { InMemoryBroker, InMemoryBus } from '../../lib/index.js';
import { InMemoryStreamHistory } from '../../lib/broker/in-memory-stream-history.js';
import { decodePositioned, encodePositioned } from '../../lib/broker/wire-format.js';
import { streamHistoryConformance } from './stream-history.suite.js';

streamHistoryConformance('InMemoryStreamHistory, brokers on one InMemoryBus', (n) => {
  const bus = new InMemoryBus();
  return { brokers: Array.from({ length: n }, () => new InMemoryBroker(bus)) };
});

describe('positioned payloads (wire-format.ts)', () => {
  it('are [0x03][epoch length][epoch][offset in decimal][0x00][payload], and decode back to a view of the payload', () => {
    const payload = Buffer.from([0x00, 0x01, 0xff, 0x00]);
    const encoded = encodePositioned({ epoch: 'Ab-_9xYz', offset: 1234 }, payload);
    expect(encoded).toEqual(Buffer.concat([Buffer.from([0x03, 8]), Buffer.from('Ab-_9xYz1234', 'latin1'), Buffer.from([0]), payload]));
    const decoded = decodePositioned(encoded);
    expect(decoded?.position).toEqual({ epoch: 'Ab-_9xYz', offset: 1234 });
    expect(decoded?.payload.equals(payload)).toBe(true);
    expect(decoded?.payload.buffer).toBe(encoded.buffer);
    expect(decodePositioned(encodePositioned({ epoch: '', offset: 0 }, Buffer.alloc(0)))).toEqual({ position: { epoch: '', offset: 0 }, payload: Buffer.alloc(0) });
    expect(decodePositioned(encodePositioned({ epoch: 'e', offset: Number.MAX_SAFE_INTEGER }, payload))?.position.offset).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('decodes nothing malformed', () => {
    const bad = [
      Buffer.alloc(0),
      Buffer.from([0x03]),
      Buffer.from([0x01, 0, 0x31, 0]),
      Buffer.from([0x03, 5, 0x61]), // epoch longer than the payload
      Buffer.from([0x03, 1, 0x61, 0x31]), // no NUL after the offset
      Buffer.from([0x03, 1, 0x61, 0]), // no offset digit
      Buffer.from([0x03, 1, 0x61, 0x31, 0x2d, 0]), // not a digit
      Buffer.concat([Buffer.from([0x03, 1, 0x61]), Buffer.from('99999999999999999'), Buffer.from([0])]), // not a safe integer
    ];
    for (const buffer of bad) {
      expect(decodePositioned(buffer)).toBeUndefined();
    }
    expect(() => encodePositioned({ epoch: 'x'.repeat(256), offset: 1 }, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => encodePositioned({ epoch: 'x', offset: 1.5 }, Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe('InMemoryStreamHistory bounds', () => {
  it('keeps at most size entries per room, each an exact copy of its payload', async () => {
    const bus = new InMemoryBus();
    const broker = new InMemoryBroker(bus);
    await broker.attach(() => undefined);
    const source = Buffer.from('0123456789');
    const view = source.subarray(2, 5);
    const { epoch } = await broker.history.append('r', view, { size: 3, ttl: 60_000 });
    source.fill(0x78);
    const viewKept = await broker.history.readSince('r', { epoch, offset: 0 }, { size: 3, ttl: 60_000 });
    expect(viewKept.recovered && viewKept.entries[0].payload.toString()).toBe('234');
    for (let i = 0; i < 10; i++) {
      await broker.history.append('r', Buffer.from(`m${i}`), { size: 3, ttl: 60_000 });
    }
    const read = await broker.history.readSince('r', { epoch, offset: 8 }, { size: 3, ttl: 60_000 });
    expect(read.recovered && read.entries.map((entry) => entry.payload.toString())).toEqual(['m7', 'm8', 'm9']);
    // A smaller size later keeps the newest that fit; a larger one keeps what is there and grows.
    await broker.history.append('r', Buffer.from('m10'), { size: 2, ttl: 60_000 });
    // Offsets: the view is 1, m0..m9 are 2..11, m10 is 12: kept 11 and 12.
    expect((await broker.history.readSince('r', { epoch, offset: 10 }, { size: 2, ttl: 60_000 })).recovered).toBe(true);
    expect((await broker.history.readSince('r', { epoch, offset: 9 }, { size: 2, ttl: 60_000 })).recovered).toBe(false);
    await broker.history.append('r', Buffer.from('m11'), { size: 4, ttl: 60_000 });
    const grown = await broker.history.readSince('r', { epoch, offset: 10 }, { size: 4, ttl: 60_000 });
    expect(grown.recovered && grown.entries.map((entry) => [entry.offset, entry.payload.toString()])).toEqual([
      [11, 'm9'],
      [12, 'm10'],
      [13, 'm11'],
    ]);

    const first = new InMemoryBroker(new InMemoryBus());
    await first.attach(() => undefined);
    const copy = Buffer.from('abc');
    const position = await first.history.append('c', copy, { size: 5, ttl: 60_000 });
    copy.fill(0);
    const kept = await first.history.readSince('c', { ...position, offset: 0 }, { size: 5, ttl: 60_000 });
    expect(kept.recovered && kept.entries[0].payload.toString()).toBe('abc');
    await broker.detach();
    await first.detach();
  });

  it('forgets idle streams and expired sessions as operations go on (a round-robin sweep), not only when they are asked for', async () => {
    let now = 0;
    const history = new InMemoryStreamHistory(() => now);
    const view = history.forNode({ attached: () => true, publish: () => undefined, dropped: () => undefined });
    for (let i = 0; i < 1000; i++) {
      await view.append(`idle-${i}`, Buffer.from('x'), { size: 10, ttl: 1000 });
      await view.saveSession(`s-${i}`, { rooms: [], socketIds: [] }, 1000);
    }
    expect(history.streamCount).toBe(1000);
    expect(history.sessionCount).toBe(1000);
    now = 5000;
    for (let i = 0; i < 200; i++) {
      await view.position('busy');
    }
    expect(history.streamCount).toBe(0);
    expect(history.sessionCount).toBe(0);
  });
});
