// The Redis connections one app process shares between everything that crosses processes: the
// live-connection bus (bus.ts), the Yjs relay (yjs-relay.ts) and socket.io's streams adapter. One
// publisher and one subscriber, and one place that knows whether Redis is reachable: while it is
// not, the process refuses new live connections (readiness fails) rather than serve documents
// that may be missing other processes' edits.
import { createClient } from 'redis';
import { log } from '../log.ts';

type Client = ReturnType<typeof createClient>;

export interface RedisLink {
	/** The deployment's namespace: every key and channel starts with it and a colon. */
	prefix: string;
	/** Commands and PUBLISH. */
	publisher: Client;
	/** SUBSCRIBE only (a subscribed connection accepts nothing else). */
	subscriber: Client;
	/** Both connections are ready. */
	readonly up: boolean;
	/** Called on every change of `up`. */
	onChange(listener: (up: boolean) => void): () => void;
	close(): Promise<void>;
}

/** How long a reconnecting client waits between attempts (ms), at most. */
const RECONNECT_MAX_MS = 2000;
const CLOSE_GRACE_MS = 2000;
const WATCH_MS = 500;

export async function connectRedis(url: string, prefix: string): Promise<RedisLink> {
	const options = {
		url,
		socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, RECONNECT_MAX_MS), connectTimeout: 5000 }
		// Commands wait in node-redis's queue while Redis is away (the default). Not
		// `disableOfflineQueue`: socket.io's streams adapter reads with a loop that retries at once
		// on failure, which then never yields the event loop. The relay and the bus publish nothing
		// while `up` is false.
	};
	const publisher: Client = createClient(options);
	const subscriber: Client = createClient(options);
	const listeners = new Set<(up: boolean) => void>();
	let up = false;
	let closing = false;
	const update = () => {
		if (closing) return;
		const now = publisher.isReady && subscriber.isReady;
		if (now === up) return;
		up = now;
		log(now ? 'info' : 'error', now ? 'redis: connected' : 'redis: unreachable, live connections refused until it returns');
		for (const listener of listeners) listener(now);
	};
	for (const client of [publisher, subscriber]) {
		client.on('error', (error) => log('warn', 'redis: error', { error: String(error) }));
		client.on('ready', update);
		client.on('end', update);
		client.on('reconnecting', update);
		client.on('error', update);
	}
	await Promise.all([publisher.connect(), subscriber.connect()]);
	update();
	// The clients' events are not always in step with `isReady` (seen after a Redis restart): look again.
	const watch = setInterval(update, WATCH_MS);
	watch.unref();
	return {
		prefix,
		publisher,
		subscriber,
		get up() {
			return up;
		},
		onChange(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		async close() {
			closing = true;
			clearInterval(watch);
			listeners.clear();
			// A graceful close waits for every queued answer; one that never comes must not hold a shutdown.
			const closed = Promise.allSettled([subscriber.close(), publisher.close()]);
			const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
			if ((await Promise.race([closed.then(() => 'closed'), timeout])) !== 'closed') {
				for (const client of [subscriber, publisher]) if (client.isOpen) client.destroy();
			}
		}
	};
}
