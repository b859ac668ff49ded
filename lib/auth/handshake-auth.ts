import type { IncomingMessage } from 'node:http';
import { Logger, type CanActivate, type Type } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import { describeException } from '../errors/describe-exception.js';
import { ERROR_CODES, ErrorCode } from '../errors/error-codes.js';
import type { Handshake } from '../interfaces/handshake.interface.js';
import type { HandshakeAuthenticator, HandshakeAuthOptions, HandshakeClient } from '../interfaces/handshake-auth.interface.js';
import { HandshakeExecutionContext } from './handshake-execution-context.js';
import { extractToken, parseCookies } from './token-sources.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Resolves a gateway's injectable classes (guards, authenticators) through
 * the application's DI, in the injector of the module declaring that gateway.
 */
export type ProviderResolver = <T>(type: Type<T>) => Promise<T>;

export type AuthOutcome = { accepted: true; data: object | undefined } | { accepted: false; status: number; code: string; message: string };

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Runs a gateway's handshake authentication on the upgrade request, before
 * the WebSocket exists: the origin allow-list, then the guards, then the
 * authenticator. Its answer is the principal (for `client.data`) or an HTTP
 * refusal. Injectable classes are resolved once and reused.
 */
export class HandshakeAuth {
  private guards: Promise<CanActivate[]> | undefined;
  private authenticator: Promise<HandshakeAuthenticator | undefined> | undefined;

  constructor(
    private readonly options: HandshakeAuthOptions,
    private readonly resolve: ProviderResolver | undefined,
  ) {}

  async run(request: IncomingMessage, handshake: Handshake): Promise<AuthOutcome> {
    const origin = request.headers.origin;
    if (!this.originAllowed(origin)) {
      return refusal(ErrorCode.FORBIDDEN, 'This origin is not allowed.');
    }
    if (this.options.guards === undefined && this.options.authenticate === undefined) {
      return { accepted: true, data: undefined };
    }
    const cookies = parseCookies(request.headers.cookie);
    const client: HandshakeClient = {
      handshake,
      headers: request.headers,
      cookies,
      token: extractToken(this.options.token ?? {}, request.headers, cookies, handshake.query),
      data: {},
    };
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.options.timeout ?? DEFAULT_TIMEOUT_MS;
    const timedOut = new Promise<AuthOutcome>((resolve) => {
      timer = setTimeout(() => resolve(refusal(ErrorCode.AUTH_TIMEOUT, 'Authentication did not finish in time.')), timeoutMs);
    });
    try {
      return await Promise.race([this.authenticate(client), timedOut]);
    } catch (error) {
      const { body, unexpected } = describeException(error);
      if (unexpected) {
        logger.error(`Handshake authentication failed: ${(error as Error)?.message ?? String(error)}`, (error as Error)?.stack);
      }
      return refusal(body.code as ErrorCode, body.message);
    } finally {
      clearTimeout(timer);
    }
  }

  private async authenticate(client: HandshakeClient): Promise<AuthOutcome> {
    const context = new HandshakeExecutionContext(client);
    for (const guard of await this.resolveGuards()) {
      const verdict = guard.canActivate(context);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
      if (!allowed) {
        return refusal(ErrorCode.FORBIDDEN, 'Forbidden resource');
      }
    }
    if (this.options.authenticate === undefined) {
      return { accepted: true, data: client.data };
    }
    const authenticator = await this.resolveAuthenticator();
    const principal = authenticator !== undefined ? await authenticator.authenticate(client) : await (this.options.authenticate as (client: HandshakeClient) => unknown)(client);
    if (principal === undefined || principal === null || principal === false) {
      return refusal(ErrorCode.UNAUTHORIZED, 'Authentication required.');
    }
    return { accepted: true, data: typeof principal === 'object' ? principal : { principal } };
  }

  private originAllowed(origin: string | undefined): boolean {
    const { origins, requireOrigin } = this.options;
    if (origin === undefined) {
      return requireOrigin !== true;
    }
    if (origins === undefined) {
      return true;
    }
    if (typeof origins === 'function') {
      return origins(origin);
    }
    return origins.some((allowed) => (typeof allowed === 'string' ? allowed === origin : allowed.test(origin)));
  }

  private resolveGuards(): Promise<CanActivate[]> {
    return (this.guards ??= Promise.all(
      (this.options.guards ?? []).map((guard) => (typeof guard === 'function' ? this.instantiate(guard as Type<CanActivate>) : Promise.resolve(guard))),
    ));
  }

  /** A class (prototype has `authenticate`) is resolved through DI; a plain function is called as is. */
  private resolveAuthenticator(): Promise<HandshakeAuthenticator | undefined> {
    const authenticate = this.options.authenticate;
    const isClass = typeof authenticate === 'function' && typeof (authenticate.prototype as Partial<HandshakeAuthenticator> | undefined)?.authenticate === 'function';
    return (this.authenticator ??= isClass ? this.instantiate(authenticate as Type<HandshakeAuthenticator>) : Promise.resolve(undefined));
  }

  private instantiate<T>(type: Type<T>): Promise<T> {
    if (this.resolve === undefined) {
      // Without the application there is no DI: a class without dependencies still works.
      return Promise.resolve(new type());
    }
    return this.resolve(type);
  }
}

function refusal(code: ErrorCode, message: string): AuthOutcome {
  const status = ERROR_CODES.find((entry) => entry.code === code)?.httpStatus ?? 400;
  return { accepted: false, status, code, message };
}
