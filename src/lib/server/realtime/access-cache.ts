// What websocket upgrades, socket.io handshakes and socket events ask of PostgreSQL again and again:
// who a session or a connected user is (their memberships), which network a microstructure belongs
// to, and for messaging the team and group conversations and their audiences. At lunchtime, or when
// a restarted process takes back thousands of connections, asking it per connection would cost a
// query each; with this cache a known session costs none, and the sessions of a reconnect storm are
// read together (authenticate.ts), leaving the pool to the pages and the Yjs writer.
//
// Decisions are not cached, only the facts the policy decides on: sessions for 30 s (the delay of
// the session check of open connections), what changes only with memberships for up to 10 minutes,
// never across a quarter hour (memberships start and end with the day). Every live event that
// changes those facts drops them at once, in every process (bus.ts): sign-out, sign-out everywhere,
// memberships (access-changed). A refusal and a session that still owes its second factor are never
// kept. A patient's care team and state are not cached: they change through many paths (pages, RCP
// decisions, referrals), some inside larger transactions, and "whoever leaves the care team loses
// access at once" must not depend on each of them announcing it; they cost one query per PPS upgrade
// (resolvePatientRef) and per message in a patient's thread.
import type { Actor, MicrostructureRef } from '../access/policy.ts';
import type { Authenticated } from './authenticate.ts';
import { keepable, type ConversationFacts, type KnownConversations } from '../messaging/conversations.ts';

const TTL_MS = 30_000;
/** Per kind of entry: a bound on memory whatever the number of sessions seen. */
const MAX_ENTRIES = 50_000;
/**
 * Memberships also start and end with the day, which no event announces. Days start on a quarter
 * hour in every time zone, so nothing is kept across a quarter hour: an entry loaded at 23:59 is
 * read again at midnight.
 */
const QUARTER_HOUR_MS = 15 * 60_000;
const nextQuarterHour = (now: number) => (Math.floor(now / QUARTER_HOUR_MS) + 1) * QUARTER_HOUR_MS;

/** Entries that expire, with one load per key at a time and no stale load stored after a drop. */
class Entries<V> {
	private values = new Map<string, { value: V; until: number }>();
	private loading = new Map<string, Promise<V>>();
	// Bumped by every drop: a load that started before it answers its caller but is not kept.
	private epoch = 0;

	constructor(
		private readonly keep: (value: V) => boolean,
		private readonly ttlMs = TTL_MS
	) {}

	get(key: string, load: () => Promise<V>): Promise<V> {
		const hit = this.values.get(key);
		if (hit && Date.now() < hit.until && this.keep(hit.value)) return Promise.resolve(hit.value);
		if (hit) this.values.delete(key);
		const running = this.loading.get(key);
		if (running) return running;
		const epoch = this.epoch;
		const promise = load().then(
			(value) => {
				if (this.loading.get(key) === promise) this.loading.delete(key);
				if (epoch === this.epoch && this.keep(value)) this.store(key, value);
				return value;
			},
			(error: unknown) => {
				if (this.loading.get(key) === promise) this.loading.delete(key);
				throw error;
			}
		);
		this.loading.set(key, promise);
		return promise;
	}

	private store(key: string, value: V): void {
		this.values.delete(key);
		const now = Date.now();
		this.values.set(key, { value, until: Math.min(now + this.ttlMs, nextQuarterHour(now)) });
		// Maps iterate in insertion order: the first key is the oldest.
		if (this.values.size > MAX_ENTRIES) this.values.delete(this.values.keys().next().value!);
	}

	drop(matches: (key: string, value: V) => boolean): void {
		this.epoch++;
		for (const [key, { value }] of this.values) if (matches(key, value)) this.values.delete(key);
		// Callers arriving after the drop load afresh rather than join a load that may be stale.
		this.loading.clear();
	}

	get size(): number {
		return this.values.size;
	}
}

export class AccessCache {
	private readonly sessions = new Entries<Authenticated | null>((a) => a !== null && a.expiresAt.getTime() > Date.now());
	private readonly microstructures = new Entries<MicrostructureRef | null>((m) => m !== null);
	/**
	 * A connected user's memberships, for the events of their sockets (a message sent asks it). Every
	 * change of memberships drops them (access-changed), so they may stay 10 minutes: a GP writes
	 * every few minutes, not every few seconds.
	 */
	private readonly actors = new Entries<Actor>(() => true, 10 * 60_000);
	/** Conversations and their audiences, as far as messaging says they may be kept (`keepable`). */
	// What is kept of them never changes (a team's microstructure and network, a group's members);
	// their audiences change with memberships, whose every change drops them all.
	private readonly conversations = new Entries<ConversationFacts | null>(keepable, 10 * 60_000);
	private readonly audiences = new Entries<string[]>(() => true, 10 * 60_000);

	/** For the messaging events of this process's sockets. */
	readonly known: KnownConversations = {
		facts: (id, load) => this.conversations.get(id, load),
		audience: (id, load) => this.audiences.get(id, load)
	};

	/** `sessionId` is the token's hash (never the token itself: a heap dump must not yield sessions). */
	session(sessionId: string, load: () => Promise<Authenticated | null>): Promise<Authenticated | null> {
		return this.sessions.get(sessionId, load);
	}

	microstructure(msId: string, load: () => Promise<MicrostructureRef | null>): Promise<MicrostructureRef | null> {
		return this.microstructures.get(msId, load);
	}

	actor(userId: string, load: () => Promise<Actor>): Promise<Actor> {
		return this.actors.get(userId, load);
	}

	sessionsEnded(sessionIds: string[]): void {
		const ended = new Set(sessionIds);
		this.sessions.drop((id) => ended.has(id));
	}

	/** Signed out everywhere, disabled, or memberships changed: who the user is must be read again. */
	userChanged(userId: string): void {
		this.sessions.drop((_, auth) => auth?.user.id === userId);
		this.actors.drop((id) => id === userId);
		// Whoever reads a team conversation depends on everyone's memberships.
		this.audiences.drop(() => true);
	}

	/** Events may have been missed (Redis was unreachable): nothing kept can be trusted. */
	clear(): void {
		this.sessions.drop(() => true);
		this.microstructures.drop(() => true);
		this.actors.drop(() => true);
		this.conversations.drop(() => true);
		this.audiences.drop(() => true);
	}

	/** For tests: how many entries each kind holds. */
	sizes() {
		return { sessions: this.sessions.size, microstructures: this.microstructures.size, actors: this.actors.size, conversations: this.conversations.size, audiences: this.audiences.size };
	}
}
