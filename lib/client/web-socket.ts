/**
 * The part of the WebSocket API the client uses: what browsers, Node 22's
 * global `WebSocket` and the `ws` package all have. No DOM or Node types, so
 * the client's declarations type-check in either world.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: { message?: unknown }) => void) | null;
}

/**
 * A WebSocket class: the browser's, Node's, `ws`'s, or a subclass that adds
 * options (`class extends WebSocket { constructor(u, p) { super(u, p, { headers }) } }`).
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

/** `WebSocket.OPEN`. */
export const OPEN = 1;

/**
 * Writes one frame; false when the socket threw (closing or closed). A frame
 * lost so is the same as one lost with the connection: the close that follows
 * settles or re-sends what it carried, so no caller has more to do.
 */
export function send(ws: WebSocketLike, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false;
  }
}
