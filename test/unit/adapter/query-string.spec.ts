import { describe, expect, it } from '@jest/globals';
import { parseQueryString } from '../../../lib/adapter/query-string.js';

describe('parseQueryString', () => {
  it('parses repeated keys into arrays and has no prototype', () => {
    const query = parseQueryString('a=1&b=2&a=3&a=4&__proto__=p');
    expect(Object.getPrototypeOf(query)).toBeNull();
    expect({ ...query }).toEqual(JSON.parse('{"a": ["1", "3", "4"], "b": "2", "__proto__": "p"}'));
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it('decodes percent-encoding and plus signs, and keeps empty values', () => {
    expect({ ...parseQueryString('name=caf%C3%A9&q=a+b&empty=&flag') }).toEqual({ name: 'café', q: 'a b', empty: '', flag: '' });
  });

  it('shares one frozen empty object for an empty query', () => {
    expect(parseQueryString('')).toBe(parseQueryString(''));
    expect(Object.isFrozen(parseQueryString(''))).toBe(true);
  });
});
