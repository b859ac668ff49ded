import { Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type WsResponse,
} from '@nestjs/websockets';
import type { SwitchboardSocket } from 'nestjs-switchboard';

interface ChatMessage {
  text: string;
}

/**
 * A chat gateway on the application port. The room comes from the path
 * (`/chat/lobby`), the nickname from the query string (`?nick=ada`).
 *
 * Try it with any WebSocket client:
 *   {"event": "say", "data": {"text": "hello"}, "id": 1}   -> ack with the stored message
 *   {"event": "whoami", "id": 2}                            -> ack with what the server knows of you
 *   {"event": "echo", "data": "hi"}                          -> {"event": "echo", "data": "hi"}
 */
@WebSocketGateway({ path: '/chat/:room' })
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ChatGateway.name);
  private readonly history = new Map<string, Array<{ nick: string; text: string; at: string }>>();

  handleConnection(client: SwitchboardSocket<{ nick: string }>): void {
    const nick = typeof client.query.nick === 'string' ? client.query.nick : `guest-${client.id.slice(0, 4)}`;
    client.data = { nick };
    this.logger.log(`${nick} joined ${String(client.params.room)}`);
  }

  handleDisconnect(client: SwitchboardSocket<{ nick: string }>): void {
    this.logger.log(`${client.data.nick} left ${String(client.params.room)}`);
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): WsResponse<unknown> {
    return { event: 'echo', data };
  }

  @SubscribeMessage('say')
  say(@ConnectedSocket() client: SwitchboardSocket<{ nick: string }>, @MessageBody() message: ChatMessage): unknown {
    if (typeof message?.text !== 'string' || message.text.trim() === '') {
      throw new WsException({ code: 'EMPTY_MESSAGE', message: 'Say something: data.text must be a non-empty string.' });
    }
    const room = String(client.params.room);
    const entry = { nick: client.data.nick, text: message.text.slice(0, 500), at: new Date().toISOString() };
    const log = this.history.get(room) ?? [];
    log.push(entry);
    this.history.set(room, log.slice(-50));
    return entry;
  }

  @SubscribeMessage('history')
  recent(@ConnectedSocket() client: SwitchboardSocket): unknown {
    return this.history.get(String(client.params.room)) ?? [];
  }

  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() client: SwitchboardSocket<{ nick: string }>): unknown {
    return { id: client.id, nick: client.data.nick, room: client.params.room, address: client.remoteAddress };
  }
}
