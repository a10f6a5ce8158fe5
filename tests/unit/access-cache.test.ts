// The cache behind websocket upgrades and socket.io handshakes (realtime/access-cache.ts): what it
// keeps, for how long, and that nothing dropped comes back from a load that was already running.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { AccessCache } from '../../src/lib/server/realtime/access-cache.ts';
import type { Authenticated } from '../../src/lib/server/realtime/authenticate.ts';

const auth = (userId: string, sessionId: string, expiresInMs = 86_400_000): Authenticated => ({
	user: { id: userId, email: '', first_name: '', last_name: '', profession: 'medecin_generaliste', locale: 'fr', platform_admin: false, twoFactorEnabled: false },
	actor: { userId, platformAdmin: false, microstructures: [], networks: [] },
	sessionId,
	expiresAt: new Date(Date.now() + expiresInMs)
});

afterEach(() => vi.useRealTimers());

describe('AccessCache', () => {
	test('a session is loaded once for concurrent and later asks, and again after 30 s', async () => {
		vi.useFakeTimers({ toFake: ['Date'] });
		const cache = new AccessCache();
		const load = vi.fn(async () => auth('u1', 's1'));
		const [a, b] = await Promise.all([cache.session('s1', load), cache.session('s1', load)]);
		expect(a).toBe(b);
		await cache.session('s1', load);
		expect(load).toHaveBeenCalledTimes(1);
		vi.setSystemTime(Date.now() + 30_001);
		await cache.session('s1', load);
		expect(load).toHaveBeenCalledTimes(2);
	});

	test('memberships, team and group conversations and audiences: kept up to 10 minutes, never across a quarter hour, dropped by any membership change; a patient thread never', async () => {
		vi.useFakeTimers({ toFake: ['Date'] });
		vi.setSystemTime(new Date('2026-12-04T11:00:00Z'));
		const cache = new AccessCache();
		const actor = vi.fn(async () => ({ userId: 'u1', platformAdmin: false, microstructures: [], networks: [] }));
		const readers = vi.fn(async () => ['u1', 'u2']);
		const team = { row: { id: 'c1', kind: 'team' as const, microstructure_id: 'm1', patient_id: null, title: '' }, ref: { kind: 'team' as const, microstructure: { id: 'm1', networkId: 'n1' } }, microstructure: { id: 'm1', networkId: 'n1' } };
		const thread = { row: { id: 'c2', kind: 'patient' as const, microstructure_id: 'm1', patient_id: 'p1', title: '' }, ref: { kind: 'patient' as const, patient: { microstructure: { id: 'm1', networkId: 'n1' }, careTeam: ['u1'], closed: false } }, microstructure: { id: 'm1', networkId: 'n1' } };
		const teamFacts = vi.fn(async () => team);
		const threadFacts = vi.fn(async () => thread);
		const ask = async () => {
			await cache.actor('u1', actor);
			await cache.known.audience('c1', readers);
			await cache.known.facts('c1', teamFacts);
			await cache.known.facts('c2', threadFacts);
		};
		await ask();
		vi.setSystemTime(new Date('2026-12-04T11:09:00Z'));
		await ask();
		expect([actor, readers, teamFacts].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);
		// A patient's thread is read each time.
		expect(threadFacts).toHaveBeenCalledTimes(2);
		// 10 minutes after the load: read again (11:10:30, before the quarter hour).
		vi.setSystemTime(new Date('2026-12-04T11:10:30Z'));
		await ask();
		expect([actor, readers, teamFacts].map((f) => f.mock.calls.length)).toEqual([2, 2, 2]);
		// Loaded at 11:10:30, kept until 11:15 only: a membership may start or end with the day.
		vi.setSystemTime(new Date('2026-12-04T11:15:00Z'));
		await ask();
		expect([actor, readers, teamFacts].map((f) => f.mock.calls.length)).toEqual([3, 3, 3]);
		// Someone's memberships change: every audience and that person's memberships are read again; the facts stay.
		cache.userChanged('u1');
		await ask();
		expect([actor, readers, teamFacts].map((f) => f.mock.calls.length)).toEqual([4, 4, 3]);
		cache.userChanged('u9');
		await ask();
		expect([actor, readers, teamFacts].map((f) => f.mock.calls.length)).toEqual([4, 5, 3]);
	});

	test('refusals, failures and expired sessions are not kept', async () => {
		const cache = new AccessCache();
		const refused = vi.fn(async () => null);
		await cache.session('s1', refused);
		await cache.session('s1', refused);
		expect(refused).toHaveBeenCalledTimes(2);
		const failing = vi.fn(async (): Promise<Authenticated> => {
			throw new Error('database down');
		});
		await expect(cache.session('s2', failing)).rejects.toThrow('database down');
		await expect(cache.session('s2', failing)).rejects.toThrow('database down');
		expect(failing).toHaveBeenCalledTimes(2);
		const expiring = vi.fn(async () => auth('u1', 's3', -1));
		await cache.session('s3', expiring);
		await cache.session('s3', expiring);
		expect(expiring).toHaveBeenCalledTimes(2);
	});

	test('sign-out and access events drop exactly the sessions they concern', async () => {
		const cache = new AccessCache();
		for (const [user, session] of [['u1', 's1'], ['u1', 's2'], ['u2', 's3'], ['u3', 's4']]) await cache.session(session, async () => auth(user, session));
		cache.sessionsEnded(['s1']);
		expect(cache.sizes().sessions).toBe(3);
		cache.userChanged('u1');
		expect(cache.sizes().sessions).toBe(2);
		const reload = vi.fn(async () => auth('u2', 's3'));
		await cache.session('s3', reload);
		expect(reload).not.toHaveBeenCalled();
		cache.clear();
		expect(cache.sizes()).toEqual({ sessions: 0, microstructures: 0, actors: 0, conversations: 0, audiences: 0 });
	});

	test('a load running when its session is dropped answers its caller but is not kept', async () => {
		const cache = new AccessCache();
		let finish!: (value: Authenticated) => void;
		const pending = cache.session('s1', () => new Promise((resolve) => (finish = resolve)));
		await new Promise((resolve) => setImmediate(resolve));
		cache.userChanged('u1');
		const after = vi.fn(async () => auth('u1', 's1'));
		// A caller after the drop does not join the stale load.
		const fresh = cache.session('s1', after);
		finish(auth('u1', 's1'));
		await pending;
		await fresh;
		expect(after).toHaveBeenCalledTimes(1);
		const again = vi.fn(async () => auth('u1', 's1'));
		await cache.session('s1', again);
		expect(again).not.toHaveBeenCalled();
	});
});
