import { Test } from '@nestjs/testing';
import { SwitchboardAdapter } from 'nestjs-switchboard';
import WebSocket from 'ws';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from '../src/app.module.js';

/** The sample app, end to end over a real port. */
describe('sample chat', () => {
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new SwitchboardAdapter(app));
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });

  afterAll(() => app.close());

  function open(path: string): Promise<{ socket: WebSocket; request: (event: string, data?: unknown) => Promise<any> }> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    let next = 0;
    const pending = new Map<number, (value: unknown) => void>();
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    });
    const request = (event: string, data?: unknown): Promise<any> =>
      new Promise((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        socket.send(JSON.stringify({ event, data, id }));
      });
    return new Promise((resolve) => socket.once('open', () => resolve({ socket, request })));
  }

  it('stores messages per room and reports who you are', async () => {
    const ada = await open('/chat/lobby?nick=ada');
    const said = await ada.request('say', { text: 'hello' });
    expect(said).toMatchObject({ status: 'ok', data: { nick: 'ada', text: 'hello' } });
    expect((await ada.request('whoami')).data).toMatchObject({ nick: 'ada', room: 'lobby' });
    const bob = await open('/chat/lobby?nick=bob');
    expect((await bob.request('history')).data).toEqual([expect.objectContaining({ nick: 'ada', text: 'hello' })]);
    const elsewhere = await open('/chat/other');
    expect((await elsewhere.request('history')).data).toEqual([]);
    [ada, bob, elsewhere].forEach(({ socket }) => socket.close());
  });

  it('answers an empty message with a coded error ack', async () => {
    const client = await open('/chat/lobby');
    expect(await client.request('say', { text: '   ' })).toEqual({
      id: 1,
      status: 'error',
      error: { code: 'EMPTY_MESSAGE', message: 'Say something: data.text must be a non-empty string.' },
    });
    client.socket.close();
  });
});
