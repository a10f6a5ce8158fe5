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
