import type { Targeting } from '../broker/broker.interface.js';
import { PayloadKind } from '../broker/wire-format.js';

/** The cluster-wide operations a node can be asked to run on its own sockets. */
export type ClusterOperation = 'fetch' | 'count' | 'join' | 'leave' | 'disconnect' | 'ack' | 'serverSideEmit';

/**
 * Messages between hubs besides broadcasts: liveness (hello, heartbeat,
 * bye on the cluster channel), cluster-wide requests (on the cluster
 * channel, so every live node answers, even with nothing) and their replies
 * (on the asking node's own channel).
 */
export type ControlMessage =
  | { readonly t: 'hello' | 'hb' | 'bye'; readonly o: string }
  | ClusterRequest
  | ClusterReply;

export interface ClusterRequest {
  readonly t: 'req';
  /** The asking node. */
  readonly o: string;
  /** Unique per asking node. */
  readonly id: number;
  readonly op: ClusterOperation;
  /** Gateway path (empty for serverSideEmit). */
  readonly p: string;
  readonly tg: Targeting;
  /** The operation's arguments (rooms, event and data, close code...). */
  readonly a: ClusterArguments;
  /** Milliseconds the asking node waits; a node answers before that. */
  readonly ms: number;
  /** Whether the asking node wants an answer (serverSideEmit without ack does not). */
  readonly r: boolean;
}

export interface ClusterArguments {
  readonly rooms?: readonly string[];
  readonly event?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
}

export interface ClusterReply {
  readonly t: 'res';
  readonly o: string;
  readonly id: number;
  /** The result (absent with `e`). */
  readonly v?: unknown;
  readonly e?: { readonly code: string; readonly message: string };
}

/** `[kind 2][UTF-8 JSON]`. Throws for values JSON cannot carry (the caller answers with an error instead). */
export function encodeControl(message: ControlMessage): Buffer {
  const json = JSON.stringify(message);
  const payload = Buffer.allocUnsafe(1 + Buffer.byteLength(json));
  payload[0] = PayloadKind.Control;
  payload.write(json, 1);
  return payload;
}

/** Reads a control payload; undefined for anything malformed (counted and dropped by the hub). */
export function decodeControl(payload: Buffer): ControlMessage | undefined {
  if (payload.length < 2 || payload[0] !== PayloadKind.Control) {
    return undefined;
  }
  let message: unknown;
  try {
    message = JSON.parse(payload.subarray(1).toString());
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null) {
    return undefined;
  }
  const { t, o } = message as { t?: unknown; o?: unknown };
  if (typeof o !== 'string') {
    return undefined;
  }
  switch (t) {
    case 'hello':
    case 'hb':
    case 'bye':
      return message as ControlMessage;
    case 'req': {
      const request = message as Partial<ClusterRequest>;
      const valid =
        typeof request.id === 'number' &&
        typeof request.op === 'string' &&
        typeof request.p === 'string' &&
        typeof request.ms === 'number' &&
        typeof request.tg === 'object' &&
        request.tg !== null &&
        typeof request.a === 'object' &&
        request.a !== null;
      return valid ? (message as ClusterRequest) : undefined;
    }
    case 'res':
      return typeof (message as Partial<ClusterReply>).id === 'number' ? (message as ClusterReply) : undefined;
    default:
      return undefined;
  }
}
