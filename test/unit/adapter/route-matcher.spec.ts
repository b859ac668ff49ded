import { describe, expect, it } from '@jest/globals';
import { compilePattern, isPatternPath, NO_PARAMS } from '../../../lib/adapter/route-matcher.js';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../../lib/errors/switchboard.error.js';
import { thrownBy } from '../fakes.js';

describe('isPatternPath', () => {
  it.each([
    ['/rooms/:room', true],
    ['/files/*rest', true],
    ['/a{/b}', true],
    ['/plain/path', false],
    ['/', false],
    ['/with-dash_and.dot', false],
  ])('%s: %s', (path, pattern) => {
    expect(isPatternPath(path)).toBe(pattern);
  });
});

describe('compilePattern', () => {
  it('matches params, decoded, and refuses other paths', () => {
    const match = compilePattern('/rooms/:room');
    expect(match('/rooms/lobby')).toMatchObject({ params: { room: 'lobby' } });
    expect(match('/rooms/caf%C3%A9')).toMatchObject({ params: { room: 'café' } });
    expect(match('/rooms/a/b')).toBe(false);
    expect(match('/other/lobby')).toBe(false);
  });

  it('tolerates a trailing slash in the request', () => {
    expect(compilePattern('/rooms/:room')('/rooms/lobby/')).toMatchObject({ params: { room: 'lobby' } });
  });

  it('gives wildcards as arrays of segments', () => {
    expect(compilePattern('/files/*rest')('/files/a/b%20c')).toMatchObject({ params: { rest: ['a', 'b c'] } });
  });

  it('optional groups', () => {
    const match = compilePattern('/chat{/:channel}');
    expect(match('/chat')).toMatchObject({ params: {} });
    expect(match('/chat/general')).toMatchObject({ params: { channel: 'general' } });
  });

  it('throws on a malformed percent-encoding in the request (the router answers 400)', () => {
    expect(() => compilePattern('/rooms/:room')('/rooms/%E0%A4%A')).toThrow(URIError);
  });

  it.each(['/rooms/:', '/a{/b', '/files/*'])('refuses the invalid pattern %s with INVALID_PATH', (path) => {
    const thrown = thrownBy(() => compilePattern(path));
    expect(thrown).toBeInstanceOf(SwitchboardError);
    expect((thrown as SwitchboardError).code).toBe(ErrorCode.INVALID_PATH);
    expect((thrown as SwitchboardError).message).toContain(path);
  });
});

describe('NO_PARAMS', () => {
  it('is one frozen object without a prototype', () => {
    expect(Object.isFrozen(NO_PARAMS)).toBe(true);
    expect(Object.getPrototypeOf(NO_PARAMS)).toBeNull();
    expect(Object.keys(NO_PARAMS)).toEqual([]);
  });
});
