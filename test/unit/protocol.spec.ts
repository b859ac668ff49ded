import { HttpException, BadRequestException, ForbiddenException, NotFoundException, InternalServerErrorException, ValidationPipe } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { IsInt, IsString } from 'class-validator';
import { ERROR_CODES, ErrorCode, JsonCodec, SwitchboardError, describeException } from '../../lib/index.js';
import { ProtocolViolation, readInboundMessage } from '../../lib/protocol/inbound-message.js';
import { isPatternPath } from '../../lib/adapter/route-matcher.js';
import { normalizePath } from '../../lib/utils/path.js';
import { parseQueryString } from '../../lib/adapter/query-string.js';

describe('readInboundMessage', () => {
  it('returns the decoded object itself when it is a protocol v1 message', () => {
    const value = { event: 'x', data: 1, id: 'a' };
    expect(readInboundMessage(value)).toBe(value);
  });

  it.each([
    [null, undefined],
    [[], undefined],
    ['str', undefined],
    [{ event: 1 }, undefined],
    [{ event: '' }, undefined],
    [{ event: 'x', id: {} }, undefined],
    [{ event: 'x', id: Number.POSITIVE_INFINITY }, undefined],
    [{ id: 5 }, 5],
    [{ id: 'keep', event: null }, 'keep'],
  ])('refuses %j, keeping the id %j when it is readable', (value, id) => {
    const result = readInboundMessage(value);
    expect(result).toBeInstanceOf(ProtocolViolation);
    expect((result as ProtocolViolation).code).toBe(ErrorCode.INVALID_MESSAGE);
    expect((result as ProtocolViolation).id).toBe(id);
  });
});

describe('paths and query strings', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['chat', '/chat'],
    ['/chat/', '/chat'],
    ['//a///b//', '/a/b'],
    ['/', '/'],
  ])('normalizes %j to %j', (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });

  it('tells pattern paths from static ones', () => {
    expect(isPatternPath('/rooms/:room')).toBe(true);
    expect(isPatternPath('/files/*rest')).toBe(true);
    expect(isPatternPath('/a{/b}')).toBe(true);
    expect(isPatternPath('/plain/path')).toBe(false);
  });

  it('parses repeated keys into arrays and has no prototype', () => {
    const query = parseQueryString('a=1&b=2&a=3&a=4&__proto__=p');
    expect(Object.getPrototypeOf(query)).toBeNull();
    expect({ ...query }).toEqual(JSON.parse('{"a": ["1", "3", "4"], "b": "2", "__proto__": "p"}'));
  });

  it('shares one frozen empty object for an empty query', () => {
    expect(parseQueryString('')).toBe(parseQueryString(''));
    expect(Object.isFrozen(parseQueryString(''))).toBe(true);
  });
});

describe('describeException', () => {
  class Body {
    @IsString() name!: string;
    @IsInt() age!: number;
  }

  it.each([
    [new WsException('Forbidden resource'), { code: 'FORBIDDEN', message: 'Forbidden resource' }, false],
    [new WsException('no'), { code: 'BAD_REQUEST', message: 'no' }, false],
    [new WsException({ code: 'X', message: 'm', details: [1] }), { code: 'X', message: 'm', details: [1] }, false],
    [new WsException({ message: 'only message' }), { code: 'BAD_REQUEST', message: 'only message' }, false],
    [new WsException(42 as unknown as string), { code: 'BAD_REQUEST', message: 'Bad request' }, false],
    [new ForbiddenException(), { code: 'FORBIDDEN', message: 'Forbidden' }, false],
    [new NotFoundException('gone'), { code: 'NOT_FOUND', message: 'gone' }, false],
    [new HttpException('slow down', 429), { code: 'RATE_LIMITED', message: 'slow down' }, false],
    [new HttpException('teapot', 418), { code: 'BAD_REQUEST', message: 'teapot' }, false],
    [new InternalServerErrorException('db down at 10.0.0.1'), { code: 'INTERNAL', message: 'Internal server error' }, true],
    [new Error('secret'), { code: 'INTERNAL', message: 'Internal server error' }, true],
    ['a thrown string', { code: 'INTERNAL', message: 'Internal server error' }, true],
    [new SwitchboardError(ErrorCode.RATE_LIMITED, 'too fast', { retryInMs: 10 }), { code: 'RATE_LIMITED', message: 'too fast', details: { retryInMs: 10 } }, false],
  ])('maps %p', (exception, body, unexpected) => {
    expect(describeException(exception)).toEqual({ body, unexpected });
  });

  it('maps a ValidationPipe failure to VALIDATION_FAILED with the messages as details', async () => {
    const pipe = new ValidationPipe();
    const error = await pipe.transform({ name: 1, age: 'x' }, { type: 'body', metatype: Body }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestException);
    const { body } = describeException(error);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.details).toEqual(
      expect.arrayContaining([
        { field: 'name', messages: ['name must be a string'] },
        { field: 'age', messages: ['age must be an integer number'] },
      ]),
    );
  });
});

describe('error code table', () => {
  it('lists every code exactly once', () => {
    const listed = ERROR_CODES.map((entry) => entry.code);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('gives every protocol code a description', () => {
    for (const entry of ERROR_CODES) {
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });
});

describe('JsonCodec', () => {
  it('round-trips values and creates __proto__ as an own key', () => {
    const codec = new JsonCodec();
    const decoded = codec.decode(Buffer.from('{"__proto__": {"x": 1}, "a": [1]}')) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(codec.encode({ a: 1 })).toBe('{"a":1}');
    expect(codec.binary).toBe(false);
    expect(new JsonCodec({ acceptBinary: true }).acceptsBothKinds).toBe(true);
  });
});

describe('README', () => {
  it('prints the error code table exactly as ERROR_CODES has it', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const entry of ERROR_CODES) {
      const row = `| \`${entry.code}\` | ${entry.kind} | ${entry.closeCode ?? ''} | ${entry.httpStatus ?? ''} | ${entry.description} |`;
      expect(readme).toContain(row);
    }
  });
});

describe('validation issues', () => {
  it('groups flat pipe messages by field (class-validator and Standard Schema styles)', async () => {
    const { issuesFromMessages } = await import('../../lib/errors/validation-issue.js');
    expect(issuesFromMessages(['name must be a string', 'name should not be empty', 'address.city: Required', 'Expected object'])).toEqual([
      { field: 'name', messages: ['name must be a string', 'name should not be empty'] },
      { field: 'address.city', messages: ['Required'] },
      { field: '', messages: ['Expected object'] },
    ]);
  });
});
