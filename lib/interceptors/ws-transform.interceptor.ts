import { Inject, Injectable, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { mergeMap, type Observable } from 'rxjs';
import { findPendingReply } from '../ack/pending-reply.js';
import type { MessageId } from '../interfaces/envelope.interface.js';
import { loadOptionalPackage } from '../internals/optional-package.js';
import { brandClass } from '../utils/brand.js';
import { REPLY_EVENT_METADATA } from './reply-event.decorator.js';

export interface WsTransformInterceptorOptions {
  /**
   * The event of a wrapped reply: `'same'` as the message's event, a
   * `{ suffix }` added to it (`'join'` → `'join:reply'`), or a function.
   * `@ReplyEvent('name')` on a handler or gateway wins.
   * @default 'same'
   */
  replyEvent?: 'same' | { suffix: string } | ((event: string) => string);
  /**
   * Adds `meta` to wrapped replies: `timestamp` (ms since epoch) and
   * `requestId` (the message's id, when it had one).
   */
  meta?: { timestamp?: boolean; requestId?: boolean };
  /**
   * Messages with an `id` are answered by an ack that already correlates
   * them; their value is serialised but not wrapped, unless this is true.
   * @default false
   */
  wrapAcks?: boolean;
}

export const WS_TRANSFORM_OPTIONS = Symbol('WS_TRANSFORM_OPTIONS');

/** `@SerializeOptions()` metadata key (Nest's `CLASS_SERIALIZER_OPTIONS`). */
const CLASS_SERIALIZER_OPTIONS = 'class_serializer:options';

interface SerializeOptions {
  type?: new (...args: never[]) => unknown;
  [option: string]: unknown;
}

interface ClassTransformer {
  instanceToPlain(value: unknown, options?: object): unknown;
  plainToInstance(type: new (...args: never[]) => unknown, value: unknown, options?: object): unknown;
}

let classTransformer: Promise<ClassTransformer> | undefined;

/**
 * Gives gateway replies one shape: plain return values become
 * `{ event, data }` (`WsResponse`s are left as they are), Observables value
 * by value; `class-transformer` rules (`@Exclude`, `@Expose`, groups from
 * `@SerializeOptions`) apply to class instances and, with
 * `@SerializeOptions({ type })`, to plain objects too, which Nest's
 * `ClassSerializerInterceptor` leaves untouched.
 *
 * ```ts
 * app.useGlobalInterceptors(new WsTransformInterceptor({ replyEvent: { suffix: ':reply' }, meta: { timestamp: true } }));
 * ```
 */
@Injectable()
export class WsTransformInterceptor implements NestInterceptor {
  private readonly options: WsTransformInterceptorOptions;
  private readonly reflector: Reflector;

  constructor(@Optional() @Inject(WS_TRANSFORM_OPTIONS) options: WsTransformInterceptorOptions = {}, @Optional() reflector?: Reflector) {
    this.options = options ?? {};
    this.reflector = reflector ?? new Reflector();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'ws') {
      return next.handle();
    }
    const targets = [context.getHandler(), context.getClass()];
    const event = String(context.switchToWs().getPattern());
    const replyEvent = this.reflector.getAllAndOverride<string | undefined>(REPLY_EVENT_METADATA, targets) ?? this.replyEventFor(event);
    const serializeOptions = this.reflector.getAllAndOverride<SerializeOptions | undefined>(CLASS_SERIALIZER_OPTIONS, targets);
    const id = findPendingReply(context.getArgs())?.id;
    const wrap = id === undefined || this.options.wrapAcks === true;
    return next.handle().pipe(
      mergeMap(async (value: unknown) => {
        if (isWsResponse(value)) {
          return { event: value.event, data: await serialize(value.data, serializeOptions), ...this.meta(id) };
        }
        const data = await serialize(value, serializeOptions);
        return wrap ? { event: replyEvent, data, ...this.meta(id) } : data;
      }),
    );
  }

  private replyEventFor(event: string): string {
    const { replyEvent = 'same' } = this.options;
    if (replyEvent === 'same') {
      return event;
    }
    return typeof replyEvent === 'function' ? replyEvent(event) : `${event}${replyEvent.suffix}`;
  }

  private meta(id: MessageId | undefined): { meta?: { timestamp?: number; requestId?: MessageId } } {
    const { meta } = this.options;
    if (meta === undefined) {
      return {};
    }
    const result: { timestamp?: number; requestId?: MessageId } = {};
    if (meta.timestamp === true) {
      result.timestamp = Date.now();
    }
    if (meta.requestId === true && id !== undefined) {
      result.requestId = id;
    }
    return { meta: result };
  }
}

function isWsResponse(value: unknown): value is { event: string; data: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string' && 'data' in value;
}

/**
 * Applies class-transformer to class instances (and, given a `type`, to
 * plain objects); everything else passes through without loading it.
 */
async function serialize(value: unknown, options: SerializeOptions | undefined): Promise<unknown> {
  if (Array.isArray(value)) {
    return Promise.all(value.map((item) => serialize(item, options)));
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const isPlain = isPlainObject(value);
  if (isPlain && options?.type === undefined && !hasClassInstance(value, 3)) {
    return value;
  }
  const transformer = await (classTransformer ??= loadOptionalPackage<ClassTransformer>('class-transformer', 'WsTransformInterceptor serialisation', () => import('class-transformer')));
  const { type, ...transformOptions } = options ?? {};
  const instance = isPlain && type !== undefined ? transformer.plainToInstance(type, value, transformOptions) : value;
  return transformer.instanceToPlain(instance, transformOptions);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Whether a plain structure holds class instances (entities with `@Exclude` rules) a few levels down. */
function hasClassInstance(value: object, depth: number): boolean {
  if (depth === 0) {
    return false;
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    if (typeof item === 'object' && item !== null && (Array.isArray(item) ? hasClassInstance(item, depth - 1) : !isPlainObject(item) || hasClassInstance(item, depth - 1))) {
      return true;
    }
  }
  return false;
}

// One identity for the ESM and CJS copies of this class (see utils/brand): the Nest 11 bridge finds either.
brandClass(WsTransformInterceptor, 'WsTransformInterceptor');
