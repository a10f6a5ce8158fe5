// Live-connection events that every app process must apply to the connections it holds: a session
// ended, a user's access changed, a document's subject changed. Each process applies an event to
// its own connections at once and, with REDIS_URL, publishes it for the others (socket.io rooms
// already cross processes through its Redis adapter; Yjs connections do not).
import { randomUUID } from 'node:crypto';
import { log } from '../log.ts';
import type { RedisLink } from './redis.ts';

export type BusEvent =
	| { kind: 'sessions-ended'; sessionIds: string[] }
	| { kind: 'user-sessions-ended'; userId: string }
	| { kind: 'access-changed'; userId: string }
	| { kind: 'document-changed'; docName: string }
	| { kind: 'document-evicted'; docName: string };


export interface Bus {
	/** Applies the event here, then tells the other processes. */
	publish(event: BusEvent): Promise<void>;
	close(): Promise<void>;
}

export async function createBus(redis: RedisLink | null, apply: (event: BusEvent) => Promise<void>): Promise<Bus> {
	if (!redis) return { publish: apply, async close() {} };
	const origin = randomUUID();
	const CHANNEL = `${redis.prefix}:live`;
	const listener = (message: string) => {
		let parsed: { origin: string; event: BusEvent };
		try {
			parsed = JSON.parse(message);
		} catch {
			return;
		}
		if (parsed.origin === origin) return;
		apply(parsed.event).catch((error) => log('error', 'bus: event failed', { kind: parsed.event?.kind, error: String(error) }));
	};
	await redis.subscriber.subscribe(CHANNEL, listener);
	return {
		async publish(event) {
			await apply(event);
			// Redis away: the other processes have closed their live documents (see redis.ts) and
			// check sessions on their own; the caller's action (a sign-out) must not fail or wait for it.
			if (!redis.up) return;
			await redis.publisher
				.publish(CHANNEL, JSON.stringify({ origin, event }))
				.catch((error) => log('warn', 'bus: publish failed', { kind: event.kind, error: String(error) }));
		},
		async close() {
			// Not awaited: after Redis came back, the answer may never come; closing the link ends it anyway.
			redis.subscriber.unsubscribe(CHANNEL, listener).catch(() => {});
		}
	};
}
