import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import WebSocket from 'ws';
import { SwitchboardAdapter, SwitchboardModule, type Broker, type RecoveryOptions } from '../../lib/index.js';
import { SwitchboardHub } from '../../lib/hub/switchboard-hub.js';
import { RecoveryGateway } from '../fixtures/recovery.gateway.js';
import { TestClient } from './ws-client.js';

export interface RecoveryNode {
  app: INestApplication;
  url: string;
  hub: SwitchboardHub;
  gateway: RecoveryGateway;
}

/** A Nest app with the recovery gateway on a free port, recovery on, `broker` between it and the other nodes. */
export async function startRecoveryNode(broker: Broker, recovery: RecoveryOptions | true = true): Promise<RecoveryNode> {
  const moduleRef = await Test.createTestingModule({
    imports: [SwitchboardModule.forRoot({ broker, recovery, cluster: { heartbeatInterval: 200, nodeTimeout: 800 } })],
    providers: [RecoveryGateway],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  await app.listen(0, '127.0.0.1');
  return {
    app,
    url: `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/live`,
    hub: app.get(SwitchboardHub),
    gateway: app.get(RecoveryGateway),
  };
}

/** What a protocol-speaking client keeps between connections: its session id and last position per room. */
export class RecoveringClient {
  sid: string | undefined;
  readonly positions = new Map<string, { epoch: string; offset: number }>();
  /** Room messages the application saw, per room, after duplicate dropping by offset. */
  readonly seen = new Map<string, unknown[]>();
  /** Offsets of those messages, in arrival order. */
  readonly offsets = new Map<string, number[]>();
  duplicates = 0;
  client!: TestClient;
  private recoverId = 0;

  static async connect(url: string): Promise<RecoveringClient> {
    const recovering = new RecoveringClient();
    await recovering.open(url);
    return recovering;
  }

  /** Opens a connection and tracks `$session`, `$joined` and positioned room messages. */
  async open(url: string): Promise<TestClient> {
    const socket = new WebSocket(url);
    const client = new TestClient(socket);
    socket.on('message', (raw: Buffer) => this.track(JSON.parse(raw.toString()) as Frame));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    this.client = client;
    return client;
  }

  /** Reconnects (to `url`) and recovers with the previous session: resolves with the `$recover` answer. */
  async reconnect(url: string): Promise<RecoverAnswer> {
    const previous = this.sid;
    const client = await this.open(url);
    await client.event('$session');
    const id = `recover-${++this.recoverId}`;
    const rooms = Object.fromEntries(this.positions);
    client.send({ event: '$recover', data: { sid: previous, rooms }, id });
    const ack = await client.ack<{ status: string; data: RecoverAnswer }>(id, 15_000);
    for (const [room, answer] of Object.entries(ack.data.rooms)) {
      this.positions.set(room, { epoch: answer.epoch, offset: Math.max(answer.offset, this.positions.get(room)?.epoch === answer.epoch ? this.positions.get(room)!.offset : 0) });
    }
    return ack.data;
  }

  private track(frame: Frame): void {
    if (frame.event === '$session') {
      this.sid = (frame.data as { sid: string }).sid;
      return;
    }
    if (frame.event === '$joined') {
      const { room, epoch, offset } = frame.data as { room: string; epoch: string; offset: number };
      if (!this.positions.has(room)) {
        this.positions.set(room, { epoch, offset });
      }
      return;
    }
    if (typeof frame.room !== 'string' || typeof frame.offset !== 'number') {
      return;
    }
    const known = this.positions.get(frame.room);
    if (known !== undefined && known.epoch === frame.epoch && frame.offset <= known.offset) {
      this.duplicates++;
      return;
    }
    this.positions.set(frame.room, { epoch: frame.epoch!, offset: frame.offset });
    const list = this.seen.get(frame.room) ?? [];
    list.push(frame.data);
    this.seen.set(frame.room, list);
    const offsets = this.offsets.get(frame.room) ?? [];
    offsets.push(frame.offset);
    this.offsets.set(frame.room, offsets);
  }
}

interface Frame {
  event?: string;
  data?: unknown;
  room?: string;
  epoch?: string;
  offset?: number;
}

export interface RecoverAnswer {
  rooms: Record<string, { recovered: boolean; epoch: string; offset: number; replayed?: number }>;
  session?: 'expired';
}
