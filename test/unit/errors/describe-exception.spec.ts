import { describe, expect, it } from '@jest/globals';
import { BadRequestException, ForbiddenException, HttpException, InternalServerErrorException, NotFoundException, ValidationPipe } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { IsInt, IsString } from 'class-validator';
import { describeException } from '../../../lib/errors/describe-exception.js';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../../lib/errors/switchboard.error.js';

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
