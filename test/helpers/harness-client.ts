import type { ErrorBody, MessageId } from '../../lib/interfaces/envelope.interface.js';
import { AckError, GatewayTestClient, UpgradeRefusedError } from '../../lib/testing/index.js';

/**
 * Small additions to the shipped `GatewayTestClient` for the integration
 * specs that run on the harness: what they check goes beyond what a user's
 * test usually needs (the whole ack frame, the exact bytes on the wire, an
 * ack for a frame sent with `sendRaw`). Each is built on the client's public
 * surface (`request`, `nextEvent`, `expectNoEvent`, `messages`, `socket`).
 */

/** A whole ack frame, as the server sent it. */
export interface AckFrame {
  id: MessageId;
  status: 'ok' | 'error';
  data?: unknown;
  error?: ErrorBody;
  [key: string]: unknown;
}

function isAckFrame(raw: unknown): raw is AckFrame {
  return typeof raw === 'object' && raw !== null && 'status' in raw && 'id' in raw && !('event' in raw);
}

function ackIn(client: GatewayTestClient, id: MessageId): AckFrame | undefined {
  return client.messages.find((message) => message.event === undefined && isAckFrame(message.raw) && message.raw.id === id)?.raw as AckFrame | undefined;
}

let nextAckId = 0;

/**
 * Sends `{ event, data, id }` with `client.request` and resolves with the
 * whole ack frame, ok or error (`request` unwraps it to `data` or an
 * `AckError`), so a spec can compare the frame exactly.
 */
export async function ackOf(client: GatewayTestClient, event: string, data?: unknown, id: MessageId = `ack-${++nextAckId}`, timeout?: number): Promise<AckFrame> {
  try {
    await client.request(event, data, { id, timeout });
  } catch (error) {
    if (!(error instanceof AckError)) {
      throw error;
    }
  }
  const ack = ackIn(client, id);
  if (ack === undefined) {
    throw new Error(`The ack for id ${String(id)} is not in the client's messages`);
  }
  return ack;
}

/**
 * The ack for `id`, already received or to come: for frames sent with
 * `sendRaw` (an id without an event, hand-built MessagePack), which
 * `request` cannot send.
 */
export function ackFor(client: GatewayTestClient, id: MessageId, timeoutMs = 2000): Promise<AckFrame> {
  const seen = ackIn(client, id);
  if (seen !== undefined) {
    return Promise.resolve(seen);
  }
  return new Promise((resolve, reject) => {
    // The client's own listener was added first: `messages` already holds the frame when this one runs.
    const onMessage = (): void => {
      const ack = ackIn(client, id);
      if (ack !== undefined) {
        clearTimeout(timer);
        client.socket.off('message', onMessage);
        resolve(ack);
      }
    };
    const timer = setTimeout(() => {
      client.socket.off('message', onMessage);
      reject(new Error(`No ack for id ${String(id)} within ${timeoutMs} ms; received: ${JSON.stringify(client.messages.map((message) => message.raw))}`));
    }, timeoutMs);
    client.socket.on('message', onMessage);
  });
}

/** The acks received so far, in arrival order. */
export function acksOf(client: GatewayTestClient): AckFrame[] {
  return client.messages.map((message) => message.raw).filter(isAckFrame);
}

/**
 * The next event (not an ack) as its whole frame, `{ event, data, ... }`;
 * fails when the next one is another event. Stricter than `expectEvent`,
 * which gives the `data` only and skips other events.
 */
export async function nextFrame(client: GatewayTestClient, event: string, timeout?: number): Promise<any> {
  const message = await client.nextEvent({ timeout });
  if (message.event !== event) {
    throw new Error(`Expected the next event to be "${event}", received ${JSON.stringify(message.raw)}`);
  }
  return message.raw;
}

/**
 * Nothing at all arrives within `ms` (no event, no ack, no bare value), and
 * no event is left unread from before.
 */
export async function expectNothing(client: GatewayTestClient, ms: number): Promise<void> {
  const before = client.messages.length;
  await client.expectNoEvent(ms);
  const late = client.messages.slice(before);
  if (late.length > 0) {
    throw new Error(`Expected nothing within ${ms} ms, received ${JSON.stringify(late.map((message) => message.raw))}`);
  }
}

/**
 * Records the frames exactly as they came off the wire, for the checks on
 * the bytes the server wrote (`messages` holds them decoded). Attach it
 * right after `connect`, before anything arrives; reading it fails if it
 * missed a frame.
 */
export function recordWire(client: GatewayTestClient): { texts(): string[]; frames(): Array<{ data: Buffer; binary: boolean }> } {
  const frames: Array<{ data: Buffer; binary: boolean }> = [];
  client.socket.on('message', (data: Buffer, binary: boolean) => frames.push({ data, binary }));
  const check = (): Array<{ data: Buffer; binary: boolean }> => {
    if (frames.length !== client.messages.length) {
      throw new Error(`The wire recorder saw ${frames.length} frames, the client ${client.messages.length}: attach it before any frame arrives`);
    }
    return frames;
  };
  return {
    frames: check,
    texts: () => check().map((frame) => frame.data.toString()),
  };
}

/** The refusal of an upgrade: fails if the connection opened (it is closed again) or failed otherwise. */
export async function refusalOf(connecting: Promise<GatewayTestClient>): Promise<UpgradeRefusedError> {
  const outcome = await connecting.then(
    async (client) => {
      await client.close();
      return 'accepted' as const;
    },
    (error: unknown) => error,
  );
  if (!(outcome instanceof UpgradeRefusedError)) {
    throw new Error(`Expected the upgrade to be refused; ${outcome === 'accepted' ? 'it was accepted' : `it failed with ${String(outcome)}`}`);
  }
  return outcome;
}

/** The upgrade succeeds (101); the connection is closed again. */
export async function expectUpgraded(connecting: Promise<GatewayTestClient>): Promise<void> {
  const client = await connecting;
  await client.close();
}
