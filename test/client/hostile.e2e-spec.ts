import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SwitchboardClient } from '../../lib/client/index.js';
import { SpecServer, until } from './helpers/spec-server.js';

/**
 * What a broken or hostile server can send. Nothing it sends may throw into
 * the app, pollute prototypes, or grow the client without bound: each bad
 * frame is counted (`invalidFrames`, `strayAcks`) and the client keeps working.
 */
describe('SwitchboardClient and hostile server frames', () => {
  let server: SpecServer;
  const clients: SwitchboardClient[] = [];

  async function open(): Promise<SwitchboardClient> {
    const created = new SwitchboardClient({ url: server.url, reconnect: { delay: 20 } });
    clients.push(created);
    await until(() => created.state === 'open');
    return created;
  }

  beforeAll(async () => {
    server = await SpecServer.start();
    server.handle('echo', (data) => data);
  });

  afterAll(() => server.close());

  afterEach(() => {
    clients.splice(0).forEach((created) => created.close());
  });

  it('counts frames that are not protocol objects, and carries on', async () => {
    const sb = await open();
    const errors: unknown[] = [];
    sb.on('$error', (error) => errors.push(error));
    const bad: Array<string | Buffer> = [
      'not json',
      '',
      '{',
      Buffer.from([0, 1, 2, 3]), // binary
      'null',
      '42',
      '"text"',
      '[1,2]',
      '{}',
      '{"event":5}',
      '{"id":1,"status":"weird"}',
      '{"event":"x","id":{}}',
      '{"event":"x","id":null}',
      '{"event":"$session","data":{"sid":5}}',
      '{"event":"$joined","data":"junk"}',
      '{"event":"$joined","data":{"room":5,"epoch":"e1","offset":0}}',
      '{"event":"$joined","data":{"room":"r","epoch":"e1","offset":"0"}}',
      '{"event":"$left"}',
      '{"event":"$unheard-of"}',
      '['.repeat(200_000) + ']'.repeat(200_000), // deep nesting
    ];
    for (const frame of bad) {
      server.last.send(frame);
    }
    await expect(sb.request('echo', 'still fine')).resolves.toBe('still fine');
    expect(sb.stats.invalidFrames).toBe(bad.length);
    expect(sb.rooms.size).toBe(0);
    expect(sb.session).toBe(server.last.session!.sid);
    expect(errors).toEqual([]);
  });

  it('counts acks for no request in flight as stray, and never settles the wrong request', async () => {
    const sb = await open();
    server.handle('hold', () => new Promise(() => undefined));
    const held = sb.request('hold', 'x', { timeout: 300 }).catch((error: unknown) => error);
    await until(() => server.last.received.some((frame) => frame.event === 'hold'));
    const id = server.last.received.find((frame) => frame.event === 'hold')!.id as number;
    server.last.send({ id: id + 1000, status: 'ok', data: 'forged' });
    server.last.send({ id: String(id), status: 'ok', data: 'string id' });
    server.last.send({ id: -1, status: 'error', error: { code: 'X', message: 'x' } });
    await expect(held).resolves.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    server.last.send({ id, status: 'ok', data: 'too late' });
    await sb.request('echo', 'sync');
    expect(sb.stats.strayAcks).toBe(4);
  });

  it('turns a malformed error ack into a SwitchboardClientError coded INTERNAL', async () => {
    const sb = await open();
    server.handle('hold', () => new Promise(() => undefined));
    const answers = [{ error: 'text' }, { error: { code: { nested: 1 }, message: 7 } }, {}];
    for (const answer of answers) {
      const pending = sb.request('hold', 'x').catch((error: unknown) => error);
      await until(() => server.last.received.filter((frame) => frame.event === 'hold').length > answers.indexOf(answer));
      const id = server.last.received.filter((frame) => frame.event === 'hold').at(-1)!.id;
      server.last.send({ id, status: 'error', ...answer });
      await expect(pending).resolves.toMatchObject({ name: 'SwitchboardClientError', code: 'INTERNAL', message: 'The request failed.' });
    }
  });

  it('reads __proto__, constructor and other such keys as plain data: no prototype is touched', async () => {
    const sb = await open();
    const got: unknown[] = [];
    sb.on('chat', (data) => got.push(data));
    sb.on('__proto__', (data) => got.push(['__proto__ event', data]));
    sb.on('constructor', (data) => got.push(['constructor event', data]));
    server.last.send('{"event":"chat","data":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}');
    server.last.send('{"event":"__proto__","data":1}');
    server.last.send('{"event":"constructor","data":2}');
    server.last.send('{"event":"toString","data":3}');
    server.last.send('{"event":"$joined","data":{"room":"__proto__","epoch":"e1","offset":4}}');
    server.last.send('{"event":"chat","data":"positioned","room":"__proto__","epoch":"e1","offset":5}');
    server.last.send('{"event":"chat","data":"duplicate","room":"__proto__","epoch":"e1","offset":5}');
    await sb.request('echo', 'sync');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(got).toHaveLength(4);
    expect(Object.getPrototypeOf(got[0])).toBe(Object.prototype);
    expect(Object.hasOwn(got[0] as object, '__proto__')).toBe(true);
    expect(got.slice(1)).toEqual([['__proto__ event', 1], ['constructor event', 2], 'positioned']);
    expect(sb.rooms.get('__proto__')).toEqual({ epoch: 'e1', offset: 5 });
    expect(sb.stats.duplicates).toBe(1);

    // The room named __proto__ goes into $recover as an own key.
    const before = server.connections.length;
    server.dropAll();
    await until(() => server.connections.length > before && sb.state === 'open');
    const recover = server.last.received[0] as { data: { rooms: object } };
    expect(Object.hasOwn(recover.data.rooms, '__proto__')).toBe(true);
    expect(JSON.stringify(recover.data.rooms)).toBe('{"__proto__":{"epoch":"e1","offset":5}}');
  });

  it('answers a server request for an event it has no handler for with UNKNOWN_EVENT, on the same connection', async () => {
    const sb = await open();
    server.last.send({ event: 'mystery', data: 1, id: 77 });
    await until(() => server.last.received.some((frame) => frame.id === 77));
    expect(server.last.received.find((frame) => frame.id === 77)).toEqual({
      id: 77,
      status: 'error',
      error: { code: 'UNKNOWN_EVENT', message: 'No handler for this event.' },
    });
    expect(sb.state).toBe('open');
  });

  it('answers INTERNAL when a handler result cannot be encoded', async () => {
    const sb = await open();
    sb.onRequest('cyclic', () => {
      const value: Record<string, unknown> = {};
      value.self = value;
      return value;
    });
    server.last.send({ event: 'cyclic', id: 'c1' });
    await until(() => server.last.received.some((frame) => frame.id === 'c1'));
    expect(server.last.received.find((frame) => frame.id === 'c1')).toMatchObject({ status: 'error', error: { code: 'INTERNAL' } });
  });

  it('caps the rooms it keeps, however many $joined a server sends', async () => {
    const sb = await open();
    const frames = Array.from({ length: 10_050 }, (_, i) => JSON.stringify({ event: '$joined', data: { room: `r${i}`, epoch: 'e1', offset: 0 } }));
    for (const frame of frames) {
      server.last.send(frame);
    }
    await sb.request('echo', 'sync');
    expect(sb.rooms.size).toBe(10_000);
    expect(sb.rooms.has('r9999')).toBe(true);
    expect(sb.rooms.has('r10000')).toBe(false);
  });
});
