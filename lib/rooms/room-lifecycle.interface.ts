import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

/**
 * What a room registry reports as rooms come and go. The hub forwards
 * `roomCreated` / `roomDeleted` to the broker, which is how a node comes to
 * receive only the traffic of rooms it has members in.
 */
export interface RoomLifecycleListener {
  roomCreated(room: string): void;
  roomDeleted(room: string): void;
  joined(room: string, socket: SwitchboardSocket): void;
  left(room: string, socket: SwitchboardSocket): void;
}
