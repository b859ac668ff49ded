import { describe, expect, it } from '@jest/globals';
import { JsonCodec } from '../../../lib/protocol/json.codec.js';

describe('JsonCodec', () => {
  it('round-trips values and creates __proto__ as an own key', () => {
    const codec = new JsonCodec();
    const decoded = codec.decode(Buffer.from('{"__proto__": {"x": 1}, "a": [1]}')) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(codec.encode({ a: 1 })).toBe('{"a":1}');
    expect(codec.binary).toBe(false);
    expect(codec.name).toBe('json');
  });

  it('accepts JSON in binary frames by default, as platform-ws does; acceptBinary: false refuses them', () => {
    expect(new JsonCodec().acceptsBothKinds).toBe(true);
    expect(new JsonCodec({ acceptBinary: true }).acceptsBothKinds).toBe(true);
    expect(new JsonCodec({ acceptBinary: false }).acceptsBothKinds).toBe(false);
  });

  it('throws on malformed JSON (the dispatcher answers DECODE_FAILED)', () => {
    expect(() => new JsonCodec().decode(Buffer.from('{"a":'))).toThrow(SyntaxError);
  });
});
