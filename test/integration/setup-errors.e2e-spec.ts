import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { ErrorCode, SwitchboardAdapter, SwitchboardError } from '../../lib/index.js';
import { createGatewayHarness } from '../../lib/testing/index.js';

/**
 * Starts the gateways under the harness (no port) and returns the error the
 * start failed with, or undefined. The app is made here so that it can be
 * closed whatever happens.
 */
async function initWith(gateways: Array<new () => object>): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({ providers: gateways }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    const harness = await createGatewayHarness(app);
    await harness.close();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await app.close().catch(() => undefined);
  }
}

describe('setup mistakes fail at bootstrap with a coded error', () => {
  it.each([
    [{ invalidMessage: 'explode' }, 'invalidMessage'],
    [{ unknownEvent: 'close' }, 'unknownEvent'],
    [{ maxPayload: -1 }, 'maxPayload'],
    [{ maxPayload: 1.5 }, 'maxPayload'],
    [{ closeTimeout: Number.NaN }, 'closeTimeout'],
    [{ codec: { decode: 'nope' } }, 'codec'],
    [{ messageParser: 'nope' }, 'messageParser'],
  ])('rejects adapter option %j', (options, key) => {
    let caught: unknown;
    try {
      new SwitchboardAdapter(undefined, options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SwitchboardError);
    expect((caught as SwitchboardError).code).toBe(ErrorCode.INVALID_OPTION);
    expect((caught as SwitchboardError).message).toContain(key);
  });

  it('rejects a bad gateway option when the gateway is created', async () => {
    @WebSocketGateway({ path: '/bad', maxPayload: 0 })
    class BadGateway {}
    const error = await initWith([BadGateway]);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_OPTION });
  });

  it('rejects two gateways claiming the same path on one port', async () => {
    @WebSocketGateway({ path: '/same' })
    class First {
      @SubscribeMessage('a')
      a(): void {}
    }
    @WebSocketGateway({ path: '/same/' })
    class Second {
      @SubscribeMessage('b')
      b(): void {}
    }
    const error = await initWith([First, Second]);
    expect(error).toMatchObject({ code: ErrorCode.DUPLICATE_PATH });
  });

  it('rejects socket.io namespaces with a hint', async () => {
    @WebSocketGateway({ namespace: '/chat' })
    class NamespacedGateway {}
    const error = await initWith([NamespacedGateway]);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_OPTION });
    expect((error as Error).message).toContain('path');
  });

  it('rejects a path that is not a valid pattern', async () => {
    @WebSocketGateway({ path: '/rooms/:' })
    class BadPatternGateway {}
    const error = await initWith([BadPatternGateway]);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_PATH });
  });
});
