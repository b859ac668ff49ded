import { ClientErrorCode as Code, clientError } from './client-error.js';

type Handler = (data: unknown) => unknown;

/**
 * The client's side of the server's `client.request(event, data)`: one
 * handler per event (`onRequest`), and exactly one ack per request whatever
 * the handler does. It returns a value or a promise (the ok ack's `data`),
 * throws or rejects (an error ack with the thrown string `code`, else
 * `INTERNAL`), or is missing (`UNKNOWN_EVENT`); an answer that cannot be
 * encoded is still answered, with `INTERNAL`, so the server's request never
 * waits out its timeout for a client bug.
 */
export class ServerRequests {
  private readonly _handlers = new Map<string, Handler>();

  /** Sets the event's handler (replacing one); gives the function that removes it, unless replaced since. */
  _handle(event: string, handler: Handler): () => void {
    this._handlers.set(event, handler);
    return () => {
      if (this._handlers.get(event) === handler) {
        this._handlers.delete(event);
      }
    };
  }

  /** Runs the handler of request `id` and gives its ack frame to `reply`, once, asynchronously. */
  _answer(event: string, data: unknown, id: unknown, reply: (ack: string) => void): void {
    const handler = this._handlers.get(event);
    new Promise((resolve) => resolve(handler === undefined ? Promise.reject(clientError(Code.UNKNOWN_EVENT, 'No handler for this event.')) : handler(data)))
      .then(
        (result) => ({ id, status: 'ok', data: result ?? null }),
        (failure: { code?: unknown; message?: unknown; details?: unknown } | undefined) => ({
          id,
          status: 'error',
          error: {
            code: typeof failure?.code === 'string' ? failure.code : Code.INTERNAL,
            message: typeof failure?.message === 'string' ? failure.message : 'The request failed.',
            details: failure?.details,
          },
        }),
      )
      .then((ack) => {
        let text: string;
        try {
          text = JSON.stringify(ack);
        } catch {
          text = JSON.stringify({ id, status: 'error', error: { code: Code.INTERNAL, message: 'The answer could not be encoded.' } });
        }
        reply(text);
      });
  }
}
