import type { Connection } from '../connection/connection.interface.js';
import type { RoomLifecycleListener } from './room-lifecycle.interface.js';

const NO_ROOMS: ReadonlySet<string> = new Set<string>();

/**
 * The rooms of one gateway, as a dual index: room to members here, and each
 * socket's own set of rooms on the socket (`_rooms`, created on the first
 * join). Leaving everything on disconnect costs O(rooms of that socket); an
 * empty room is deleted at once.
 */
export class RoomRegistry<C extends Connection = Connection> {
  private readonly members = new Map<string, Set<C>>();

  constructor(private readonly lifecycle: RoomLifecycleListener) {}

  /**
   * Adds a member at once (local broadcasts reach it from now on) and
   * resolves when the room's broker subscription is confirmed (broadcasts
   * from other nodes reach it from then on).
   */
  join(socket: C, room: string): Promise<void> {
    const rooms = (socket._rooms ??= new Set());
    if (rooms.has(room)) {
      return this.lifecycle.whenSubscribed(room);
    }
    rooms.add(room);
    let members = this.members.get(room);
    if (members === undefined) {
      members = new Set();
      this.members.set(room, members);
      members.add(socket);
      return this.lifecycle.roomCreated(room);
    }
    members.add(socket);
    return this.lifecycle.whenSubscribed(room);
  }

  leave(socket: C, room: string): void {
    if (socket._rooms?.delete(room) !== true) {
      return;
    }
    this.removeMember(socket, room);
  }

  /** Takes a socket out of every room (on disconnect). */
  leaveAll(socket: C): void {
    const rooms = socket._rooms;
    if (rooms === undefined) {
      return;
    }
    socket._rooms = undefined;
    for (const room of rooms) {
      this.removeMember(socket, room);
    }
  }

  /** The live member set of a room; callers must not modify it. */
  membersOf(room: string): ReadonlySet<C> | undefined {
    return this.members.get(room);
  }

  roomsOf(socket: C): ReadonlySet<string> {
    return socket._rooms ?? NO_ROOMS;
  }

  has(room: string): boolean {
    return this.members.has(room);
  }

  names(): IterableIterator<string> {
    return this.members.keys();
  }

  get size(): number {
    return this.members.size;
  }

  private removeMember(socket: C, room: string): void {
    const members = this.members.get(room);
    if (members === undefined || !members.delete(socket)) {
      return;
    }
    if (members.size === 0) {
      this.members.delete(room);
      this.lifecycle.roomDeleted(room);
    }
  }
}
