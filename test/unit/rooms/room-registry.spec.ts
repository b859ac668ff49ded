import { beforeEach, describe, expect, it } from '@jest/globals';
import { RoomRegistry } from '../../../lib/rooms/room-registry.js';
import type { RoomLifecycleListener } from '../../../lib/rooms/room-lifecycle.interface.js';
import { fakeConnection } from '../fakes.js';

/** Records room lifecycle calls in order, as the hub would turn them into broker subscriptions. */
class RecordingLifecycle implements RoomLifecycleListener {
  readonly calls: string[] = [];
  roomCreated(room: string): Promise<void> {
    this.calls.push(`+${room}`);
    return Promise.resolve();
  }
  roomDeleted(room: string): void {
    this.calls.push(`-${room}`);
  }
  whenSubscribed(): Promise<void> {
    return Promise.resolve();
  }
}

describe('RoomRegistry', () => {
  let lifecycle: RecordingLifecycle;
  let registry: RoomRegistry;

  beforeEach(() => {
    lifecycle = new RecordingLifecycle();
    registry = new RoomRegistry(lifecycle);
  });

  it('keeps both indexes: room to members, and each socket its own rooms', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    expect(a._rooms).toBeUndefined(); // created on the first join, not before
    registry.join(a, 'x');
    registry.join(a, 'y');
    registry.join(b, 'x');
    expect([...registry.membersOf('x')!]).toEqual([a, b]);
    expect([...registry.membersOf('y')!]).toEqual([a]);
    expect([...registry.roomsOf(a)]).toEqual(['x', 'y']);
    expect([...registry.roomsOf(b)]).toEqual(['x']);
    expect(a._rooms).toBe(registry.roomsOf(a)); // the socket's own set is the index
    expect([...registry.names()]).toEqual(['x', 'y']);
    expect(registry.size).toBe(2);
    expect(registry.has('x')).toBe(true);
    expect(registry.has('z')).toBe(false);
  });

  it('reports a room created on its first join only, and deleted on its last leave only', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    registry.join(a, 'x');
    registry.join(b, 'x');
    registry.join(a, 'x'); // already in: nothing happens
    expect(lifecycle.calls).toEqual(['+x']);
    registry.leave(a, 'x');
    expect(lifecycle.calls).toEqual(['+x']);
    expect(registry.has('x')).toBe(true);
    registry.leave(b, 'x');
    expect(lifecycle.calls).toEqual(['+x', '-x']);
    expect(registry.has('x')).toBe(false);
    expect(registry.membersOf('x')).toBeUndefined();
    expect(registry.size).toBe(0);
  });

  it('deletes a room exactly once, however often its members leave it', () => {
    const a = fakeConnection();
    registry.join(a, 'x');
    registry.leave(a, 'x');
    registry.leave(a, 'x');
    registry.leaveAll(a);
    expect(lifecycle.calls).toEqual(['+x', '-x']);
  });

  it('ignores a leave of a room the socket is not in (and of a room that does not exist)', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    registry.join(a, 'x');
    registry.leave(b, 'x');
    registry.leave(b, 'nowhere');
    registry.leave(a, 'nowhere');
    expect([...registry.membersOf('x')!]).toEqual([a]);
    expect(lifecycle.calls).toEqual(['+x']);
    expect(b._rooms).toBeUndefined();
  });

  it('a room can be created again after it was deleted', () => {
    const a = fakeConnection();
    registry.join(a, 'x');
    registry.leave(a, 'x');
    registry.join(a, 'x');
    expect(lifecycle.calls).toEqual(['+x', '-x', '+x']);
    expect([...registry.membersOf('x')!]).toEqual([a]);
  });

  it('leaveAll takes a socket out of every room, deletes the rooms it emptied and keeps the others', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    registry.join(a, 'solo');
    registry.join(a, 'shared');
    registry.join(b, 'shared');
    lifecycle.calls.length = 0;
    registry.leaveAll(a);
    expect(lifecycle.calls).toEqual(['-solo']);
    expect(a._rooms).toBeUndefined();
    expect(registry.roomsOf(a).size).toBe(0);
    expect([...registry.membersOf('shared')!]).toEqual([b]);
    expect(registry.has('solo')).toBe(false);
    registry.leaveAll(a); // twice: nothing left to do
    registry.leaveAll(fakeConnection()); // never joined
    expect(lifecycle.calls).toEqual(['-solo']);
  });

  it('membersOf is the live set: joins and leaves show through an earlier reference', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    registry.join(a, 'x');
    const members = registry.membersOf('x')!;
    registry.join(b, 'x');
    expect(members.has(b)).toBe(true);
    expect(members.size).toBe(2);
    registry.leave(a, 'x');
    expect(members.has(a)).toBe(false);
    expect(registry.membersOf('x')).toBe(members);
  });

  it('roomsOf a socket that never joined is an empty set shared by all such sockets', () => {
    const a = fakeConnection();
    const b = fakeConnection();
    expect(registry.roomsOf(a).size).toBe(0);
    expect(registry.roomsOf(a)).toBe(registry.roomsOf(b));
  });

  it('calls the listener with the registry already updated (a subscription sees the room)', () => {
    const a = fakeConnection();
    const seen: Array<[string, boolean]> = [];
    const watching = new RoomRegistry({
      roomCreated: (room) => {
        seen.push([room, watching.has(room)]);
        return Promise.resolve();
      },
      roomDeleted: (room) => seen.push([room, watching.has(room)]),
      whenSubscribed: () => Promise.resolve(),
    });
    watching.join(a, 'x');
    watching.leave(a, 'x');
    // Created: reported once the room's set exists. Deleted: reported once it is gone.
    expect(seen).toEqual([
      ['x', true],
      ['x', false],
    ]);
  });

  it("join resolves with the broker's confirmation: the first member's from roomCreated, later members' from whenSubscribed", async () => {
    let confirm!: () => void;
    const pending = new Promise<void>((resolve) => (confirm = resolve));
    const asked: string[] = [];
    const registry = new RoomRegistry({
      roomCreated: () => pending,
      roomDeleted: () => undefined,
      whenSubscribed: (room) => {
        asked.push(room);
        return pending;
      },
    });
    const a = fakeConnection();
    const b = fakeConnection();
    let firstDone = false;
    let secondDone = false;
    void registry.join(a, 'x').then(() => (firstDone = true));
    void registry.join(b, 'x').then(() => (secondDone = true));
    // Local membership is immediate, the confirmation is not.
    expect([...(registry.membersOf('x') ?? [])]).toEqual([a, b]);
    await Promise.resolve();
    expect([firstDone, secondDone]).toEqual([false, false]);
    confirm();
    await pending;
    await Promise.resolve();
    expect([firstDone, secondDone]).toEqual([true, true]);
    expect(asked).toEqual(['x']);
  });
});
