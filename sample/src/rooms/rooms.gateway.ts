import { Logger, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  WsException,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import { WsValidationPipe, type SwitchboardServer, type SwitchboardSocket } from 'nestjs-switchboard';
import { JoinDto, RoomDto, SayInRoomDto } from './dto/room.dto.js';

type RoomsClient = SwitchboardSocket<{ nick?: string }>;

export interface RoomMessage {
  room: string;
  nick: string;
  text: string;
  at: string;
}

export interface Presence {
  room: string;
  /** Nicknames in the room, on every instance that answered, sorted. */
  members: string[];
  /** False when an instance did not answer in time (the list may be short). */
  complete: boolean;
}

/**
 * The gateway of the chat page (sample/public): one connection, rooms joined
 * by message. The nickname comes with `join` and, on reconnects, in the
 * query string (`/rooms?nick=ada`), so a session recovered on another
 * instance still has it.
 *
 *   {"event":"join","data":{"room":"lobby","nick":"ada"},"id":1}  -> ack { room, members }; the room gets "joined"
 *   {"event":"say","data":{"room":"lobby","text":"hi"},"id":2}    -> ack with the message; the room (sender included) gets "message"
 *   {"event":"presence","data":{"room":"lobby"},"id":3}           -> ack { room, members, complete }
 *   {"event":"leave","data":{"room":"lobby"},"id":4}              -> ack { room }; the room gets "left"
 *
 * Invalid input is answered by WsValidationPipe with VALIDATION_FAILED and
 * field-by-field details; `say` in a room the client is not in with NOT_IN_ROOM.
 */
// `ordered`: one client's messages are handled one after another, so what a user types quickly arrives in that order.
@WebSocketGateway({ path: '/rooms', ordered: true })
@UsePipes(new WsValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }))
export class RoomsGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(RoomsGateway.name);

  @WebSocketServer()
  server!: SwitchboardServer;

  handleConnection(client: RoomsClient): void {
    const nick = typeof client.query.nick === 'string' ? client.query.nick.trim().slice(0, 24) : '';
    client.data = { nick: nick || undefined };
  }

  handleDisconnect(client: RoomsClient): void {
    // Rooms are still readable here; the client leaves them right after.
    // Not to itself: a session recovered later is not replayed its own departure.
    for (const room of client.rooms) {
      client.to(room).emit('left', { room, nick: this.nickOf(client), id: client.id });
    }
  }

  @SubscribeMessage('join')
  async join(@ConnectedSocket() client: RoomsClient, @MessageBody() { room, nick }: JoinDto): Promise<Presence> {
    client.data = { ...client.data, nick };
    // Joining again (after a reconnect whose session was recovered with its
    // rooms) only tells the room that the client is back.
    const back = client.rooms.has(room);
    if (!back) {
      await client.join(room);
      this.logger.log(`${nick} joined ${room}`);
    }
    client.to(room).emit('joined', { room, nick, back });
    return this.presenceOf(room);
  }

  @SubscribeMessage('leave')
  leave(@ConnectedSocket() client: RoomsClient, @MessageBody() { room }: RoomDto): { room: string } {
    if (client.rooms.has(room)) {
      client.leave(room);
      this.server.to(room).emit('left', { room, nick: this.nickOf(client), id: client.id });
    }
    return { room };
  }

  @SubscribeMessage('say')
  say(@ConnectedSocket() client: RoomsClient, @MessageBody() { room, text }: SayInRoomDto): RoomMessage {
    if (!client.rooms.has(room)) {
      throw new WsException({ code: 'NOT_IN_ROOM', message: `Join "${room}" before saying something there.` });
    }
    const message: RoomMessage = { room, nick: this.nickOf(client), text, at: new Date().toISOString() };
    // To the whole room, the sender included: everyone sees one order.
    this.server.to(room).emit('message', message);
    return message;
  }

  @SubscribeMessage('presence')
  presence(@MessageBody() { room }: RoomDto): Promise<Presence> {
    return this.presenceOf(room);
  }

  /** Who is in a room on every instance (one cluster call; partial, and saying so, if an instance is slow or gone). */
  private async presenceOf(room: string): Promise<Presence> {
    const answer = await this.server.in(room).fetchSockets({ timeout: 1000 });
    const members = answer.sockets.map((socket) => (socket.data as { nick?: string } | undefined)?.nick ?? `guest-${socket.id.slice(0, 4)}`);
    return { room, members: [...new Set(members)].sort(), complete: answer.complete };
  }

  private nickOf(client: RoomsClient): string {
    return client.data.nick ?? `guest-${client.id.slice(0, 4)}`;
  }
}
