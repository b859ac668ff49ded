import { Logger } from '@nestjs/common';
import type { Broker, Targeting } from '../broker/broker.interface.js';
import { clusterChannel, nodeChannel } from '../broker/channel.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { logUnexpected } from '../errors/log-unexpected.js';
import type {
  ClientAck,
  ClusterAcks,
  ClusterAnswer,
  ClusterCallOptions,
  ClusterCount,
  ClusterNode,
  ClusterOperations,
  ClusterOptions,
  ClusterSelection,
  ClusterSocket,
  ClusterSockets,
  ServerSideAcks,
  ServerSideHandler,
} from '../interfaces/cluster.interface.js';
import type { SwitchboardServer } from '../socket/switchboard-server.js';
import { ClusterCalls, type Collected } from './cluster-calls.js';
import { decodeControl, encodeControl, type ClusterArguments, type ClusterOperation, type ClusterRequest, type ControlMessage } from './control-message.js';
import { runLocally } from './local-operations.js';
import { NodeDirectory } from './node-directory.js';

const logger = new Logger('SwitchboardCluster');

export const CLUSTER_DEFAULTS: Required<ClusterOptions> = { heartbeatInterval: 1000, nodeTimeout: 3000, requestTimeout: 5000 };

/** Where a cluster finds this node's gateway servers (the hub's registry). */
export type ServersAt = (path: string) => readonly SwitchboardServer[];

/**
 * The cluster as one node sees it: who else is alive (heartbeats on the
 * cluster channel), and operations across every live node with honest
 * answers: each call waits for the nodes alive when it started, for at most
 * its timeout, and resolves with what came back plus the nodes that did not
 * answer. Requests go on the cluster channel, so every live node answers,
 * even with nothing (which is how "missing" can be told from "empty");
 * replies come back on the asking node's own channel.
 */
export class Cluster {
  readonly options: Required<ClusterOptions>;
  readonly directory: NodeDirectory;
  private readonly calls = new ClusterCalls();
  private readonly handlers = new Map<string, ServerSideHandler>();
  private timer: NodeJS.Timeout | undefined;
  /** Calls made before this time wait for it: the nodes answering our hello are known by then. */
  private warmUntil = 0;
  private readonly channel = clusterChannel();

  constructor(
    private readonly broker: Broker,
    private readonly nodeTag: string,
    private readonly serversAt: ServersAt,
    options: ClusterOptions = {},
  ) {
    this.options = validated({ ...CLUSTER_DEFAULTS, ...options });
    this.directory = new NodeDirectory(nodeTag, this.options.nodeTimeout);
    this.directory.whenGone((node) => this.calls.nodeGone(node));
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  /** Resolves once heartbeats run: calls made before wait for it (the directory is empty until then). */
  private started: Promise<void>;
  private markStarted: () => void = () => undefined;

  /** Starts heartbeats (the hub has subscribed the cluster channel). */
  start(): void {
    this.markStarted();
    this.warmUntil = Date.now() + Math.min(this.options.heartbeatInterval, 250);
    this.send(this.channel, { t: 'hello', o: this.nodeTag });
    this.timer = setInterval(() => {
      this.send(this.channel, { t: 'hb', o: this.nodeTag });
      this.directory.sweep();
    }, this.options.heartbeatInterval);
    this.timer.unref();
  }

  /** Says goodbye (peers drop this node at once) and ends pending calls. */
  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.send(this.channel, { t: 'bye', o: this.nodeTag });
    }
    this.calls.finishAll();
    this.directory.clear();
  }

  nodes(): ClusterNode[] {
    return this.directory.list();
  }

  /** Handles `serverSideEmit(event)` from other nodes; returns the function that removes the handler. */
  onServerSideEmit(event: string, handler: ServerSideHandler): () => void {
    this.handlers.set(event, handler);
    return () => {
      if (this.handlers.get(event) === handler) {
        this.handlers.delete(event);
      }
    };
  }

  /** To every other node's `onServerSideEmit(event)` handler; no answer expected. */
  serverSideEmit(event: string, data: unknown): void {
    assertEvent(event);
    this.request('serverSideEmit', '', {}, { event, data }, this.options.requestTimeout, false);
  }

  async serverSideEmitWithAck<T>(event: string, data: unknown, options: ClusterCallOptions = {}): Promise<ServerSideAcks<T>> {
    assertEvent(event);
    const collected = await this.call('serverSideEmit', '', {}, { event, data }, this.timeoutOf(options));
    return { ...answerOf(collected, false), replies: collected.replies.map(({ node, value }) => ({ node, data: value as T })) };
  }

  /** The operations a broadcast operator of `path` offers across nodes. */
  operationsFor(path: string): ClusterOperations {
    const run = async (op: Exclude<ClusterOperation, 'serverSideEmit'>, selection: ClusterSelection, args: ClusterArguments, local: boolean, options: ClusterCallOptions) => {
      const timeout = this.timeoutOf(options);
      const targeting = selectionOf(selection);
      const [mine, collected] = await Promise.all([
        runLocally(this.serversAt(path), op, targeting, args, answerWithin(timeout), this.nodeTag),
        local ? Promise.resolve(NOTHING) : this.call(op, path, targeting, args, timeout),
      ]);
      return { mine, collected };
    };
    const counted = async (op: 'count' | 'join' | 'leave' | 'disconnect', selection: ClusterSelection, args: ClusterArguments, local: boolean, options: ClusterCallOptions): Promise<ClusterCount> => {
      const { mine, collected } = await run(op, selection, args, local, options);
      let count = mine as number;
      for (const { value } of collected.replies) {
        count += typeof value === 'number' ? value : 0;
      }
      return { ...answerOf(collected, true, this.nodeTag), count };
    };
    return {
      fetchSockets: async (selection, local, options): Promise<ClusterSockets> => {
        const { mine, collected } = await run('fetch', selection, {}, local, options);
        const sockets: ClusterSocket[] = [...(mine as ClusterSocket[])];
        for (const { value } of collected.replies) {
          if (Array.isArray(value)) {
            sockets.push(...(value as ClusterSocket[]));
          }
        }
        return { ...answerOf(collected, true, this.nodeTag), sockets };
      },
      countSockets: (selection, local, options) => counted('count', selection, {}, local, options),
      socketsJoin: (selection, rooms, local, options) => counted('join', selection, { rooms }, local, options),
      socketsLeave: (selection, rooms, local, options) => counted('leave', selection, { rooms }, local, options),
      disconnectSockets: (selection, close, local, options) => counted('disconnect', selection, { code: close.code, reason: close.reason }, local, options),
      emitWithAck: async (selection, event, data, local, options): Promise<ClusterAcks> => {
        assertEvent(event);
        const { mine, collected } = await run('ack', selection, { event, data }, local, options);
        const acks: ClientAck[] = [...(mine as ClientAck[])];
        for (const { value } of collected.replies) {
          if (Array.isArray(value)) {
            acks.push(...(value as ClientAck[]));
          }
        }
        return { ...answerOf(collected, true, this.nodeTag), acks };
      },
    };
  }

  /** A control payload from another node (or an echo of this node's own). */
  receive(payload: Buffer): boolean {
    const message = decodeControl(payload);
    if (message === undefined) {
      return false;
    }
    if (message.o === this.nodeTag) {
      return true; // The engine echoed our own message.
    }
    switch (message.t) {
      case 'hello':
        this.directory.seen(message.o);
        // Answer at once on its own channel, so a new node knows its peers before its first call.
        this.send(nodeChannel(message.o), { t: 'hb', o: this.nodeTag });
        break;
      case 'hb':
        this.directory.seen(message.o);
        break;
      case 'bye':
        this.directory.gone(message.o);
        break;
      case 'req':
        this.directory.seen(message.o);
        void this.answer(message);
        break;
      case 'res':
        this.directory.seen(message.o);
        this.calls.reply(message.id, message.o, message.v, message.e);
        break;
    }
    return true;
  }

  private async call(op: ClusterOperation, path: string, targeting: Targeting, args: ClusterArguments, timeout: number): Promise<Collected> {
    if (this.broker.hasPeers?.() === false) {
      return NOTHING;
    }
    if (this.timer === undefined) {
      // Not started yet (the engine has not confirmed the cluster channel): an empty directory would
      // claim a complete answer. Wait for the start, within the call's own timeout.
      let timer: NodeJS.Timeout | undefined;
      const startedInTime = await Promise.race([
        this.started.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
      ]);
      clearTimeout(timer);
      if (!startedInTime) {
        return { replies: [], errors: [{ node: this.nodeTag, code: ErrorCode.BROKER_UNAVAILABLE, message: 'The cluster is not reachable yet.' }], missing: [] };
      }
    }
    const wait = this.warmUntil - Date.now();
    if (wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
    const { id, done } = this.calls.open(this.directory.alive(), timeout);
    try {
      this.request(op, path, targeting, args, timeout, true, id);
    } catch (error) {
      this.calls.abandon(id); // Nothing was sent: no call stays waiting for its timeout.
      throw error;
    }
    return done;
  }

  private request(op: ClusterOperation, path: string, targeting: Targeting, args: ClusterArguments, timeout: number, reply: boolean, id = 0): void {
    if (this.broker.hasPeers?.() === false) {
      return;
    }
    const message: ClusterRequest = { t: 'req', o: this.nodeTag, id, op, p: path, tg: targeting, a: args, ms: timeout, r: reply };
    let payload: Buffer;
    try {
      payload = encodeControl(message);
    } catch (error) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `Cluster-wide data must be JSON-serialisable: ${(error as Error).message}`);
    }
    this.broker.publish(this.channel, payload);
  }

  /** Runs another node's request here and replies on its channel. */
  private async answer(request: ClusterRequest): Promise<void> {
    let value: unknown;
    let error: { code: string; message: string } | undefined;
    try {
      if (request.op === 'serverSideEmit') {
        const event = String(request.a.event);
        const handler = this.handlers.get(event);
        if (handler === undefined) {
          error = { code: ErrorCode.UNKNOWN_EVENT, message: `No onServerSideEmit("${event}") handler on this node.` };
        } else {
          value = await handler(request.a.data, request.o);
        }
      } else {
        value = await runLocally(this.serversAt(request.p), request.op, request.tg, request.a, answerWithin(request.ms), this.nodeTag);
      }
    } catch (thrown) {
      if (request.op === 'serverSideEmit') {
        logUnexpected(logger, thrown, `onServerSideEmit("${String(request.a.event)}") handler`);
      }
      error = { code: typeof (thrown as { code?: unknown }).code === 'string' ? (thrown as { code: string }).code : ErrorCode.INTERNAL, message: 'The node could not run the operation.' };
    }
    if (!request.r) {
      return;
    }
    const reply: ControlMessage = error === undefined ? { t: 'res', o: this.nodeTag, id: request.id, v: value } : { t: 'res', o: this.nodeTag, id: request.id, e: error };
    try {
      this.broker.publish(nodeChannel(request.o), encodeControl(reply));
    } catch (encodeError) {
      // A value JSON cannot carry (a cycle in client.data, a BigInt): the asker gets an error for this node, not silence.
      const failure: ControlMessage = { t: 'res', o: this.nodeTag, id: request.id, e: { code: ErrorCode.INTERNAL, message: `The answer is not JSON-serialisable: ${(encodeError as Error).message}` } };
      this.broker.publish(nodeChannel(request.o), encodeControl(failure));
    }
  }

  private send(channel: string, message: ControlMessage): void {
    if (this.broker.hasPeers?.() === false) {
      return;
    }
    this.broker.publish(channel, encodeControl(message));
  }

  private timeoutOf(options: ClusterCallOptions): number {
    const timeout = options.timeout ?? this.options.requestTimeout;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'A cluster call timeout must be a positive number of milliseconds.');
    }
    return timeout;
  }
}

const NOTHING: Collected = { replies: [], errors: [], missing: [] };

/**
 * How long a node gives its own clients when a call waits `timeout` ms: a
 * little less, so its answer (with REQUEST_TIMEOUT for silent clients)
 * reaches the asker before the asker gives up on the node.
 */
function answerWithin(timeout: number): number {
  return Math.max(1, timeout - Math.min(500, Math.max(20, timeout * 0.2)));
}

function answerOf(collected: Collected, includeSelf: boolean, self?: string): ClusterAnswer {
  const nodes = [...(includeSelf && self !== undefined ? [self] : []), ...collected.replies.map(({ node }) => node), ...collected.errors.map(({ node }) => node)];
  return { nodes, missingNodes: collected.missing, errors: collected.errors, complete: collected.missing.length === 0 && collected.errors.length === 0 };
}

function selectionOf(selection: ClusterSelection): Targeting {
  const { rooms, clientIds, exceptRooms, exceptClientIds } = selection;
  return { rooms, clientIds, exceptRooms, exceptClientIds };
}

function assertEvent(event: unknown): void {
  if (typeof event !== 'string' || event.length === 0) {
    throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'A cluster event needs a non-empty name.');
  }
}

function validated(options: Required<ClusterOptions>): Required<ClusterOptions> {
  for (const [key, value] of Object.entries(options)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `cluster.${key} must be a positive number of milliseconds.`);
    }
  }
  if (options.nodeTimeout <= options.heartbeatInterval) {
    throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'cluster.nodeTimeout must be longer than cluster.heartbeatInterval.');
  }
  return options;
}
