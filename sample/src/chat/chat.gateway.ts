import { Logger, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type WsResponse,
} from '@nestjs/websockets';
import { WsValidationPipe, type SwitchboardServer, type SwitchboardSocket } from 'nestjs-switchboard';
import { ChatHistory, type ChatEntry } from './chat-history.service.js';
import { SayDto } from './dto/say.dto.js';

type ChatClient = SwitchboardSocket<{ nick: string }>;

/**
 * A chat gateway on the application port. The room comes from the path
 * (`/chat/lobby`), the nickname from the query string (`?nick=ada`).
 *
 * Try it with any WebSocket client:
 *   {"event": "say", "data": {"text": "hello"}, "id": 1}   -> ack with the stored message; the room gets "said"
 *   {"event": "history", "id": 2}                           -> ack with the room's last messages
 *   {"event": "whoami", "id": 3}                            -> ack with what the server knows of you
 *   {"event": "echo", "data": "hi"}                          -> {"event": "echo", "data": "hi"}
 */
@WebSocketGateway({ path: '/chat/:room' })
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ChatGateway.name);

  @WebSocketServer()
  server!: SwitchboardServer;

  constructor(private readonly history: ChatHistory) {}

  handleConnection(client: ChatClient): void {
    const nick = typeof client.query.nick === 'string' ? client.query.nick : `guest-${client.id.slice(0, 4)}`;
    client.data = { nick };
    const room = String(client.params.room);
    client.join(room);
    client.to(room).emit('joined', { nick });
    this.logger.log(`${nick} joined ${room}`);
  }

  handleDisconnect(client: ChatClient): void {
    // Rooms are still readable here; the client leaves them right after.
    for (const room of client.rooms) {
      this.server.to(room).emit('left', { nick: client.data.nick });
    }
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): WsResponse<unknown> {
    return { event: 'echo', data };
  }

  @UsePipes(new WsValidationPipe())
  @SubscribeMessage('say')
  say(@ConnectedSocket() client: ChatClient, @MessageBody() message: SayDto): ChatEntry {
    const room = String(client.params.room);
    const entry = this.history.add(room, client.data.nick, message.text);
    client.to(room).emit('said', entry);
    return entry;
  }

  @SubscribeMessage('history')
  recent(@ConnectedSocket() client: ChatClient): ChatEntry[] {
    return this.history.of(String(client.params.room));
  }

  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() client: ChatClient): unknown {
    return { id: client.id, nick: client.data.nick, room: client.params.room, rooms: [...client.rooms] };
  }
}
