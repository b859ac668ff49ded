/**
 * Handshake guards and authenticators of a gateway in a feature module are
 * built by that module's injector (issue 9 §7), in a production app and
 * under the harness; and a guard that crashes shows its cause in the
 * harness's default log, while client mistakes stay out of it.
 */
import { jest } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import { createGatewayHarness, UpgradeRefusedError, type GatewayHarness } from '../../lib/testing/index.js';
import { AppModule, BuggyModule, TOKENS, TokenGuard, UsersService } from '../fixtures/auth-modules.js';
import { refusalOf } from '../helpers/harness-client.js';
import { RecordingLogger } from '../helpers/nest-app.js';

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/**
 * A production application (`NestFactory.create`, not `Test.createTestingModule`),
 * handed to the harness uninitialised: the harness installs the adapter and
 * starts it, and its clients reach it in memory.
 */
describe('handshake guards and authenticators of a feature-module gateway, in production', () => {
  let harness: GatewayHarness;
  const logger = new RecordingLogger();

  beforeAll(async () => {
    harness = await createGatewayHarness(await NestFactory.create(AppModule, { logger }));
  });

  afterAll(() => harness?.close());

  it('builds the guard with the module-private service it injects, once, and runs it', async () => {
    const instancesBefore = TokenGuard.instances;
    const ada = await harness.connect('/chat', { headers: bearer(TOKENS.ada) });
    const bob = await harness.connect('/chat', { headers: bearer(TOKENS.bob) });
    await expect(ada.request('whoami', null)).resolves.toMatchObject({ user: 'ada' });
    await expect(bob.request('whoami', null)).resolves.toMatchObject({ user: 'bob' });
    // Resolved at the first handshake and reused: not one guard per connection.
    expect(TokenGuard.instances - instancesBefore).toBe(1);
    await Promise.all([ada.close(), bob.close()]);
  });

  it("refuses with the guard's own 401, not a 500", async () => {
    const refused = await refusalOf(harness.connect('/chat', { headers: bearer('stolen') }));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('builds a class authenticator in the same module, sharing its singleton service', async () => {
    const client = await harness.connect('/session', { headers: bearer(TOKENS.bob) });
    await expect(client.request('whoami', null)).resolves.toMatchObject({ user: 'bob', via: 'session' });
    await client.close();
    expect(UsersService.instances).toBe(1);
  });

  it("gives each gateway a guard from its own module's injector (one class, two modules, two values)", async () => {
    const north = await harness.connect('/north');
    const south = await harness.connect('/south');
    await expect(north.request('whoami', null)).resolves.toMatchObject({ realm: 'north' });
    await expect(south.request('whoami', null)).resolves.toMatchObject({ realm: 'south' });
    await Promise.all([north.close(), south.close()]);
  });

  it('logged no error while doing so', () => {
    expect(logger.errors()).toEqual([]);
  });
});

describe('handshake guards and authenticators of a feature-module gateway, under the harness', () => {
  let harness: GatewayHarness;

  beforeAll(async () => {
    harness = await createGatewayHarness(AppModule);
  });

  afterAll(() => harness?.close());

  it('runs the guard and the class authenticator with their module-private service', async () => {
    const ada = await harness.connect('/chat', { headers: bearer(TOKENS.ada) });
    await expect(ada.request('whoami')).resolves.toEqual({ user: 'ada' });
    const bob = await harness.connect('/session', { headers: bearer(TOKENS.bob) });
    await expect(bob.request('whoami')).resolves.toEqual({ user: 'bob', via: 'session' });
    const refused = await harness.connect('/chat', { headers: bearer('stolen') }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UpgradeRefusedError);
    expect(refused).toMatchObject({ status: 401 });
  });

  it("uses each gateway's own module", async () => {
    const north = await harness.connect('/north');
    const south = await harness.connect('/south');
    await expect(north.request('whoami')).resolves.toEqual({ realm: 'north' });
    await expect(south.request('whoami')).resolves.toEqual({ realm: 'south' });
  });
});

describe("the harness's default logging", () => {
  /**
   * What Nest's console logger printed while `run` ran: it writes errors to
   * stderr and every other level to stdout, so both are captured.
   */
  async function outputDuring(run: () => Promise<void>): Promise<string> {
    let written = '';
    const capture = (chunk: string | Uint8Array): boolean => {
      written += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    };
    const spies = [jest.spyOn(process.stderr, 'write').mockImplementation(capture), jest.spyOn(process.stdout, 'write').mockImplementation(capture)];
    try {
      await run();
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
    return written;
  }

  it('shows the cause of a server bug (a crashing handshake guard), with no logger option', async () => {
    let harness: GatewayHarness | undefined;
    const output = await outputDuring(async () => {
      harness = await createGatewayHarness(BuggyModule);
      const refused = await harness.connect('/buggy').catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 500 });
      await harness.close();
    }).finally(() => harness?.close());
    expect(output).toContain('Handshake authentication failed');
    expect(output).toContain('BuggyGuard: cannot read properties of undefined');
  });

  it('keeps client mistakes out of it (a refused token, an unparsable frame, an unknown event)', async () => {
    let harness: GatewayHarness | undefined;
    const output = await outputDuring(async () => {
      harness = await createGatewayHarness(AppModule);
      await harness.connect('/chat', { headers: bearer('stolen') }).catch(() => undefined);
      const ada = await harness.connect('/chat', { headers: bearer(TOKENS.ada) });
      ada.socket.send('{ not json');
      ada.socket.send(JSON.stringify({ event: 'no-such-event', data: null, id: 1 }));
      await expect(ada.request('whoami')).resolves.toEqual({ user: 'ada' });
      await harness.close();
    }).finally(() => harness?.close());
    expect(output).toBe('');
  });

  it('stays silent when asked to (`logger: false`)', async () => {
    const output = await outputDuring(async () => {
      const harness = await createGatewayHarness(BuggyModule, { logger: false });
      await harness.connect('/buggy').catch(() => undefined);
      await harness.close();
    });
    expect(output).toBe('');
  });
});
