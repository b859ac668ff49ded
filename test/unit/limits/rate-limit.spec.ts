import { describe, expect, it } from '@jest/globals';
import { RateVerdict, takeToken } from '../../../lib/limits/rate-limit.js';
import { fakeConnection } from '../fakes.js';

const Accept = RateVerdict.Accept;
const Refuse = RateVerdict.Refuse;
const Close = RateVerdict.Close;

describe('takeToken (a token bucket per connection, refilled lazily)', () => {
  const limit = { messagesPerSecond: 2, burst: 3, closeAfter: 100 };

  it('creates the bucket on the first message, full (burst), and takes one token', () => {
    const socket = fakeConnection();
    expect(socket._extras).toBeUndefined();
    expect(takeToken(socket, limit, 1000)).toBe(Accept);
    expect(socket._extras?.bucket).toEqual({ tokens: 2, time: 1000, refusedInARow: 0 });
  });

  it('accepts a burst of `burst` messages at once, then refuses', () => {
    const socket = fakeConnection();
    const verdicts = [0, 0, 0, 0, 0].map(() => takeToken(socket, limit, 0));
    expect(verdicts).toEqual([Accept, Accept, Accept, Refuse, Refuse]);
    expect(socket._extras!.bucket).toEqual({ tokens: 0, time: 0, refusedInARow: 2 });
  });

  it('refills messagesPerSecond tokens per second, fractions included', () => {
    const socket = fakeConnection();
    for (let i = 0; i < 3; i++) takeToken(socket, limit, 0);
    expect(takeToken(socket, limit, 250)).toBe(Refuse); // 0.5 token: not enough
    expect(socket._extras!.bucket!.tokens).toBeCloseTo(0.5, 10);
    expect(takeToken(socket, limit, 500)).toBe(Accept); // 0.5 + 0.5 = 1
    expect(socket._extras!.bucket!.tokens).toBeCloseTo(0, 10);
    expect(takeToken(socket, limit, 999)).toBe(Refuse); // 0.998
    expect(takeToken(socket, limit, 1000)).toBe(Accept); // 0.998 + 0.002
  });

  it('never holds more than burst tokens, however long the connection was quiet', () => {
    const socket = fakeConnection();
    takeToken(socket, limit, 0);
    const later = 3_600_000;
    expect([0, 0, 0, 0].map(() => takeToken(socket, limit, later))).toEqual([Accept, Accept, Accept, Refuse]);
  });

  it('a slow rate below one message per second', () => {
    const slow = { messagesPerSecond: 0.5, burst: 1, closeAfter: 100 };
    const socket = fakeConnection();
    expect(takeToken(socket, slow, 0)).toBe(Accept);
    expect(takeToken(socket, slow, 1999)).toBe(Refuse); // 1.999 s at 0.5/s: 0.9995 token
    expect(socket._extras!.bucket!.tokens).toBeCloseTo(0.9995, 10);
    expect(takeToken(socket, slow, 2000)).toBe(Accept); // counted from the last message: 0.9995 + 0.0005
  });

  it('closes after closeAfter refusals in a row, and an accepted message resets the count', () => {
    const strict = { messagesPerSecond: 1, burst: 1, closeAfter: 3 };
    const socket = fakeConnection();
    expect(takeToken(socket, strict, 0)).toBe(Accept);
    expect([0, 0].map(() => takeToken(socket, strict, 0))).toEqual([Refuse, Refuse]);
    expect(takeToken(socket, strict, 1000)).toBe(Accept); // a token again: the streak is over
    expect(socket._extras!.bucket!.refusedInARow).toBe(0);
    expect([0, 0, 0].map(() => takeToken(socket, strict, 1000))).toEqual([Refuse, Refuse, Close]);
    expect(takeToken(socket, strict, 1000)).toBe(Close); // still abusing
  });

  it('closeAfter 1: the first refusal closes', () => {
    const socket = fakeConnection();
    const once = { messagesPerSecond: 1, burst: 1, closeAfter: 1 };
    takeToken(socket, once, 0);
    expect(takeToken(socket, once, 0)).toBe(Close);
  });

  it('keeps one bucket per connection', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    for (let i = 0; i < 3; i++) takeToken(a, limit, 0);
    expect(takeToken(a, limit, 0)).toBe(Refuse);
    expect(takeToken(b, limit, 0)).toBe(Accept);
  });

  it('keeps the other per-connection extras it finds', () => {
    const socket = fakeConnection({ _extras: { queue: [] } });
    takeToken(socket, limit, 0);
    expect(socket._extras).toEqual({ queue: [], bucket: { tokens: 2, time: 0, refusedInARow: 0 } });
  });
});
