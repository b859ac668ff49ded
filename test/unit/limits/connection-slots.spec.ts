import { describe, expect, it } from '@jest/globals';
import { ConnectionSlots } from '../../../lib/limits/connection-slots.js';

describe('ConnectionSlots', () => {
  it('is enabled only when a cap is set', () => {
    expect(new ConnectionSlots(0, 0).enabled).toBe(false);
    expect(new ConnectionSlots(1, 0).enabled).toBe(true);
    expect(new ConnectionSlots(0, 1).enabled).toBe(true);
  });

  it('without caps, takes every slot', () => {
    const slots = new ConnectionSlots(0, 0);
    for (let i = 0; i < 1000; i++) {
      expect(slots.take('1.2.3.4')).toBeUndefined();
    }
  });

  it('caps the total across addresses, and a release lets one more in', () => {
    const slots = new ConnectionSlots(2, 0);
    expect(slots.take('a')).toBeUndefined();
    expect(slots.take('b')).toBeUndefined();
    expect(slots.take('c')).toBe('total');
    expect(slots.take('a')).toBe('total');
    slots.release('b');
    expect(slots.take('c')).toBeUndefined();
    expect(slots.take('d')).toBe('total');
  });

  it('caps each address on its own', () => {
    const slots = new ConnectionSlots(0, 2);
    expect(slots.take('a')).toBeUndefined();
    expect(slots.take('a')).toBeUndefined();
    expect(slots.take('a')).toBe('per-ip');
    expect(slots.take('b')).toBeUndefined();
    slots.release('a');
    expect(slots.take('a')).toBeUndefined();
    expect(slots.take('a')).toBe('per-ip');
  });

  it('a refused take holds no slot (of either kind)', () => {
    const slots = new ConnectionSlots(3, 1);
    expect(slots.take('a')).toBeUndefined();
    for (let i = 0; i < 5; i++) {
      expect(slots.take('a')).toBe('per-ip');
    }
    expect(slots.take('b')).toBeUndefined();
    expect(slots.take('c')).toBeUndefined();
    expect(slots.take('d')).toBe('total');
    slots.release('c');
    expect(slots.take('d')).toBeUndefined();
  });

  it('says "total" before "per-ip" when both caps are reached', () => {
    const slots = new ConnectionSlots(1, 1);
    slots.take('a');
    expect(slots.take('a')).toBe('total');
  });

  it('forgets an address whose last connection left (no entry kept per past address)', () => {
    const slots = new ConnectionSlots(0, 1);
    slots.take('a');
    slots.release('a');
    expect((slots as unknown as { perIp: Map<string, number> }).perIp.size).toBe(0);
    expect(slots.take('a')).toBeUndefined();
  });

  it('counts an unknown address ("") as one address', () => {
    const slots = new ConnectionSlots(0, 1);
    expect(slots.take('')).toBeUndefined();
    expect(slots.take('')).toBe('per-ip');
  });
});
