import { createGatewayHarness, type GatewayHarness } from 'nestjs-switchboard/testing';
import { AppModule } from '../src/app.module.js';

/** The chat page's gateway (/rooms) through the real Nest pipeline, in memory. */
describe('sample rooms gateway', () => {
  let harness: GatewayHarness;

  beforeEach(async () => {
    harness = await createGatewayHarness(AppModule);
  });

  afterEach(() => harness.close());

  it('joins with a nickname, lists who is there, and sends to the whole room', async () => {
    const ada = await harness.connect('/rooms');
    const bob = await harness.connect('/rooms?nick=bob');
    await expect(ada.request('join', { room: 'lobby', nick: ' ada ' })).resolves.toEqual({ room: 'lobby', members: ['ada'], complete: true });
    await expect(bob.request('join', { room: 'lobby', nick: 'bob' })).resolves.toEqual({ room: 'lobby', members: ['ada', 'bob'], complete: true });
    await expect(ada.expectEvent('joined')).resolves.toEqual({ room: 'lobby', nick: 'bob', back: false });
    await expect(ada.request('say', { room: 'lobby', text: 'hello' })).resolves.toMatchObject({ room: 'lobby', nick: 'ada', text: 'hello' });
    await expect(ada.expectEvent('message')).resolves.toMatchObject({ nick: 'ada', text: 'hello' });
    await expect(bob.expectEvent('message')).resolves.toMatchObject({ nick: 'ada', text: 'hello' });
    await expect(bob.request('presence', { room: 'lobby' })).resolves.toEqual({ room: 'lobby', members: ['ada', 'bob'], complete: true });
  });

  it('answers invalid input with the validation codes the page shows', async () => {
    const ada = await harness.connect('/rooms');
    await ada.request('join', { room: 'lobby', nick: 'ada' });
    await expect(ada.request('say', { room: 'lobby', text: '   ' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [expect.objectContaining({ field: 'text', messages: ['text should not be empty'] })],
    });
    await expect(ada.request('say', { room: 'lobby', text: 'x'.repeat(281) })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [expect.objectContaining({ field: 'text', messages: ['text must be shorter than or equal to 280 characters'] })],
    });
    await expect(ada.request('join', { room: 'no spaces', nick: '' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(ada.request('say', { room: 'kitchen', text: 'hi' })).rejects.toMatchObject({ code: 'NOT_IN_ROOM' });
  });

  it('tells the room who left, by message or by disconnecting', async () => {
    const ada = await harness.connect('/rooms');
    const bob = await harness.connect('/rooms');
    const eve = await harness.connect('/rooms');
    for (const [client, nick] of [[ada, 'ada'], [bob, 'bob'], [eve, 'eve']] as const) {
      await client.request('join', { room: 'lobby', nick });
    }
    await expect(bob.request('leave', { room: 'lobby' })).resolves.toEqual({ room: 'lobby' });
    await expect(ada.expectEvent('left')).resolves.toMatchObject({ room: 'lobby', nick: 'bob' });
    await eve.close();
    await expect(ada.expectEvent('left')).resolves.toMatchObject({ room: 'lobby', nick: 'eve' });
    await expect(ada.request('presence', { room: 'lobby' })).resolves.toMatchObject({ members: ['ada'] });
  });
});
