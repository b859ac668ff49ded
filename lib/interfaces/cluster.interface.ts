import type { Handshake } from './handshake.interface.js';

/** Options of a cluster-wide operation. */
export interface ClusterCallOptions {
  /**
   * Milliseconds to wait for the other nodes. A node that has not answered
   * by then is listed in `missingNodes`; the call never rejects for it.
   * @default 5000 (the hub's `requestTimeout`)
   */
  readonly timeout?: number;
}

/** A node that answered with an error instead of a result. */
export interface NodeError {
  readonly node: string;
  readonly code: string;
  readonly message: string;
}

/**
 * What every cluster-wide answer says about who answered. The nodes asked
 * are the ones alive at the time of the call (by heartbeats; see the hub's
 * `nodeTimeout`), plus this one. Results are partial, and say so, when a node
 * did not answer in time or failed.
 */
export interface ClusterAnswer {
  /** Node tags that answered, this node first. */
  readonly nodes: readonly string[];
  /** Nodes alive when the call started that did not answer in time (or died meanwhile). */
  readonly missingNodes: readonly string[];
  /** Nodes that answered with an error. */
  readonly errors: readonly NodeError[];
  /** True when every node asked answered without error. */
  readonly complete: boolean;
}

/** A socket anywhere in the cluster, as a snapshot (it may have closed since). */
export interface ClusterSocket<TData = unknown> {
  readonly id: string;
  /** The node tag of the process that holds it. */
  readonly node: string;
  readonly rooms: readonly string[];
  /** `client.data` (for a socket on another node, as JSON carried it). */
  readonly data: TData;
  readonly handshake: Pick<Handshake, 'path' | 'params' | 'query' | 'headers' | 'remoteAddress'>;
}

/** The sockets an operator selects, on every node that answered. */
export interface ClusterSockets<TData = unknown> extends ClusterAnswer {
  readonly sockets: readonly ClusterSocket<TData>[];
}

/** How many sockets an operator selected (or a cluster-wide join, leave or disconnect touched). */
export interface ClusterCount extends ClusterAnswer {
  readonly count: number;
}

/** One client's answer to a broadcast with acks. */
export type ClientAck<T = unknown> =
  | { readonly id: string; readonly node: string; readonly status: 'ok'; readonly data: T }
  | { readonly id: string; readonly node: string; readonly status: 'error'; readonly error: { readonly code: string; readonly message: string } };

/**
 * The answers to `emitWithAck`: one entry per client the broadcast reached
 * (an error entry `REQUEST_TIMEOUT` for a client that did not ack in time,
 * `DISCONNECTED` for one that left), and the nodes that did not answer.
 */
export interface ClusterAcks<T = unknown> extends ClusterAnswer {
  readonly acks: readonly ClientAck<T>[];
}

/** One node's answer to `serverSideEmitWithAck`. */
export interface NodeReply<T = unknown> {
  readonly node: string;
  readonly data: T;
}

/** The answers of the other nodes to `serverSideEmitWithAck`. */
export interface ServerSideAcks<T = unknown> extends ClusterAnswer {
  readonly replies: readonly NodeReply<T>[];
}

/** A handler of `serverSideEmit` events from other nodes; its result (or promise) is the reply to `serverSideEmitWithAck`. */
export type ServerSideHandler = (data: unknown, from: string) => unknown;

/** A node of the cluster, as heartbeats tell. */
export interface ClusterNode {
  readonly node: string;
  /** This process. */
  readonly self: boolean;
  /** Milliseconds since its last heartbeat (0 for this node). */
  readonly lastSeenAgo: number;
}

/** Liveness and cluster-call settings of a hub (`SwitchboardModule.forRoot({ cluster })`). */
export interface ClusterOptions {
  /** Milliseconds between this node's heartbeats. @default 1000 */
  readonly heartbeatInterval?: number;
  /**
   * A node with no heartbeat for this long is dead: left out of cluster
   * calls (a call waiting for it resolves with it in `missingNodes`).
   * Detection takes at most `nodeTimeout + heartbeatInterval`. @default 3000
   */
  readonly nodeTimeout?: number;
  /** Default timeout of cluster-wide calls. @default 5000 */
  readonly requestTimeout?: number;
}

/** Who a cluster-wide operation selects (the operator's targeting). */
export interface ClusterSelection {
  readonly rooms?: readonly string[];
  readonly clientIds?: readonly string[];
  readonly exceptRooms?: readonly string[];
  readonly exceptClientIds?: readonly string[];
}

/** What a broadcast operator asks of the cluster: the hub implements it per gateway path (a custom BroadcastTarget may too). */
export interface ClusterOperations {
  fetchSockets(selection: ClusterSelection, local: boolean, options: ClusterCallOptions): Promise<ClusterSockets>;
  countSockets(selection: ClusterSelection, local: boolean, options: ClusterCallOptions): Promise<ClusterCount>;
  socketsJoin(selection: ClusterSelection, rooms: readonly string[], local: boolean, options: ClusterCallOptions): Promise<ClusterCount>;
  socketsLeave(selection: ClusterSelection, rooms: readonly string[], local: boolean, options: ClusterCallOptions): Promise<ClusterCount>;
  disconnectSockets(selection: ClusterSelection, close: { readonly code?: number; readonly reason?: string }, local: boolean, options: ClusterCallOptions): Promise<ClusterCount>;
  emitWithAck(selection: ClusterSelection, event: string, data: unknown, local: boolean, options: ClusterCallOptions): Promise<ClusterAcks>;
}
