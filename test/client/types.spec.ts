import { describe, expect, it } from '@jest/globals';
import { SwitchboardClient, type ConnectionState } from '../../lib/client/index.js';
import type { MessageAck, MessageData, PushData, ServerRequestAck, ToServerEvent } from '../../lib/index.js';
import type { TestEvents } from './fixtures/client.gateways.js';

/**
 * Typed end to end: one event map (TestEvents, an interface shared with the
 * gateway in fixtures/client.gateways.ts) types the client's request, emit,
 * on and onRequest. `npm run typecheck` (tsc) checks this file: every
 * `@ts-expect-error` line must be an error, every other line must not.
 * Nothing here runs against a server (requests.e2e-spec.ts does that).
 */
function typedClient(sb: SwitchboardClient<TestEvents>): void {
  // request: the event names, the data and the ack's data come from the map.
  const sum: Promise<number> = sb.request('add', { a: 1, b: 2 });
  void sum;
  void sb.request('slow', 10, { timeout: 100, signal: AbortSignal.timeout(50) });
  void sb.request('room-full'); // data: undefined, so it may be left out
  // @ts-expect-error an event the map does not have
  void sb.request('nope', 1);
  // @ts-expect-error data of the wrong shape
  void sb.request('add', { a: 1 });
  // @ts-expect-error data required
  void sb.request('add');
  // @ts-expect-error the ack is a number, not a string
  const wrong: Promise<string> = sb.request('add', { a: 1, b: 2 });
  void wrong;
  // @ts-expect-error an unknown option
  void sb.request('slow', 1, { retries: 3 });

  // emit: the same events and data, no ack.
  const queued: boolean = sb.emit('record', 'anything');
  void queued;
  // @ts-expect-error data required
  sb.emit('add');
  // @ts-expect-error no options on emit
  sb.emit('add', { a: 1, b: 2 }, { timeout: 1 });

  // on: the server's pushes, and the client's own $ events.
  sb.on('pushed', (data, frame) => {
    const text: string = data.text;
    const offset: number | undefined = frame.offset;
    void text;
    void offset;
  });
  // @ts-expect-error a push the map does not have
  sb.on('unknown', () => undefined);
  // @ts-expect-error the wrong data type for the push
  sb.on('pushed', (data: { nope: number }) => data);
  sb.on('$state', (state) => {
    const known: ConnectionState = state;
    // @ts-expect-error not a state
    const bogus: 'bogus' = state;
    void known;
    void bogus;
  });
  sb.on('$recovery', (result) => result.rooms.lobby?.recovered);
  sb.on('$retry', ({ attempt, delay }) => attempt + delay);

  // onRequest: the server's requests; the handler returns (or resolves with) the answer.
  sb.onRequest('confirm', (question) => question.length > 0);
  sb.onRequest('sum', async (numbers) => numbers.reduce((total, n) => total + n, 0));
  // @ts-expect-error the answer to confirm is a boolean
  sb.onRequest('confirm', () => 'yes');
  // @ts-expect-error a server request the map does not have
  sb.onRequest('nope', () => true);
}

function untypedClient(sb: SwitchboardClient): void {
  // Without a map, any event and any data.
  void sb.request('whatever', { any: 'thing' });
  sb.emit('anything');
  sb.on('any', (data) => data);
  sb.onRequest('any', () => 1);
}

/** The gateway's side of the same map (as fixtures/client.gateways.ts uses it). */
function gatewaySide(): void {
  const body: MessageData<TestEvents, 'add'> = { a: 1, b: 2 };
  const result: MessageAck<TestEvents, 'add'> = body.a + body.b;
  const push: PushData<TestEvents, 'pushed'> = { text: 'hi' };
  const answer: ServerRequestAck<TestEvents, 'confirm'> = true;
  const event: ToServerEvent<TestEvents> = 'join';
  // @ts-expect-error not an event of the map
  const other: ToServerEvent<TestEvents> = 'nope';
  // @ts-expect-error the body of add has numbers
  const badBody: MessageData<TestEvents, 'add'> = { a: '1', b: 2 };
  void [result, push, answer, event, other, badBody];
}

describe('the event map types', () => {
  it('type-check (tsc checks this file; see the @ts-expect-error lines)', () => {
    expect([typedClient, untypedClient, gatewaySide].every((check) => typeof check === 'function')).toBe(true);
  });
});
