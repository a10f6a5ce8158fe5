// Live-connection events that every app process must apply to the connections it holds: a session
// ended, a user's access changed, a document's subject changed. Each process applies an event to
// its own connections at once and, with REDIS_URL, publishes it for the others (socket.io rooms
// already cross processes through its Redis adapter; Yjs connections do not).
import { randomUUID } from 'node:crypto';
import { log } from '../log.ts';

export type BusEvent =
	| { kind: 'sessions-ended'; sessionIds: string[] }
	| { kind: 'user-sessions-ended'; userId: string }
	| { kind: 'access-changed'; userId: string }
	| { kind: 'document-changed'; docName: string }
	| { kind: 'document-evicted'; docName: string };

const CHANNEL = 'microstructures:live';

export interface Bus {
	/** Applies the event here, then tells the other processes. */
	publish(event: BusEvent): Promise<void>;
	close(): Promise<void>;
}

export async function createBus(redisUrl: string | undefined, apply: (event: BusEvent) => Promise<void>): Promise<Bus> {
	if (!redisUrl) return { publish: apply, async close() {} };
	const { createClient } = await import('redis');
	const origin = randomUUID();
	const publisher = createClient({ url: redisUrl });
	const subscriber = publisher.duplicate();
	publisher.on('error', (error) => log('error', 'bus: redis error', { error: String(error) }));
	subscriber.on('error', (error) => log('error', 'bus: redis error', { error: String(error) }));
	await Promise.all([publisher.connect(), subscriber.connect()]);
	await subscriber.subscribe(CHANNEL, (message) => {
		let parsed: { origin: string; event: BusEvent };
		try {
			parsed = JSON.parse(message);
		} catch {
			return;
		}
		if (parsed.origin === origin) return;
		apply(parsed.event).catch((error) => log('error', 'bus: event failed', { kind: parsed.event?.kind, error: String(error) }));
	});
	return {
		async publish(event) {
			await apply(event);
			await publisher.publish(CHANNEL, JSON.stringify({ origin, event }));
		},
		async close() {
			await Promise.allSettled([subscriber.quit(), publisher.quit()]);
		}
	};
}
