// Yjs documents across app processes. Each process that holds a document open subscribes to the
// document's Redis channel and publishes there what its own connections (and its own server-side
// edits) change; the others apply it and pass it to their connections. Each update is written to
// PostgreSQL once, by the process that received it, which then says so on the channel ("stored"),
// so that a process that dies between receiving and storing an update does not take it along: the
// others store what is still unconfirmed after a grace period (see SharedDoc in yjs-server.ts).
//
// A process that opens a document late loads it from PostgreSQL and asks the others for what
// storage does not hold yet ("sync request", answered with the difference to its state vector).
//
// Chosen over Hocuspocus 4 and its Redis extension: our server side of the y-websocket protocol
// carries the authorization, read-only connections, schema checks, group commit and "stored"
// acknowledgements the product relies on; the relay is ~200 lines over the Redis connections the
// process already has (README, "Deployment").
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { randomUUID } from 'node:crypto';
import { log } from '../log.ts';
import type { RedisLink } from './redis.ts';

export type RelayMessage =
	/** An update this origin received or made; `seq` counts the origin's updates. */
	| { type: 'update'; origin: string; seq: number; update: Uint8Array }
	| { type: 'awareness'; origin: string; update: Uint8Array }
	/** The origin has stored every update it published up to `seq`. */
	| { type: 'stored'; origin: string; seq: number }
	/** The origin just loaded the document: who has more than this state vector, please send it. */
	| { type: 'sync-request'; origin: string; stateVector: Uint8Array }
	/** The answer to `to`'s request: the difference, the origin's counters and its connections' awareness. */
	| { type: 'sync-reply'; origin: string; to: string; seq: number; storedSeq: number; update: Uint8Array; awareness: Uint8Array | null };

const TYPES = ['update', 'awareness', 'stored', 'sync-request', 'sync-reply'] as const;

export function encodeRelayMessage(message: RelayMessage): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, TYPES.indexOf(message.type));
	encoding.writeVarString(encoder, message.origin);
	switch (message.type) {
		case 'update':
			encoding.writeVarUint(encoder, message.seq);
			encoding.writeVarUint8Array(encoder, message.update);
			break;
		case 'awareness':
			encoding.writeVarUint8Array(encoder, message.update);
			break;
		case 'stored':
			encoding.writeVarUint(encoder, message.seq);
			break;
		case 'sync-request':
			encoding.writeVarUint8Array(encoder, message.stateVector);
			break;
		case 'sync-reply':
			encoding.writeVarString(encoder, message.to);
			encoding.writeVarUint(encoder, message.seq);
			encoding.writeVarUint(encoder, message.storedSeq);
			encoding.writeVarUint8Array(encoder, message.update);
			encoding.writeVarUint8Array(encoder, message.awareness ?? new Uint8Array());
			break;
	}
	return encoding.toUint8Array(encoder);
}

/** Throws on a malformed message. */
export function decodeRelayMessage(data: Uint8Array): RelayMessage {
	const decoder = decoding.createDecoder(data);
	const type = TYPES[decoding.readVarUint(decoder)];
	const origin = decoding.readVarString(decoder);
	switch (type) {
		case 'update':
			return { type, origin, seq: decoding.readVarUint(decoder), update: decoding.readVarUint8Array(decoder) };
		case 'awareness':
			return { type, origin, update: decoding.readVarUint8Array(decoder) };
		case 'stored':
			return { type, origin, seq: decoding.readVarUint(decoder) };
		case 'sync-request':
			return { type, origin, stateVector: decoding.readVarUint8Array(decoder) };
		case 'sync-reply': {
			const to = decoding.readVarString(decoder);
			const seq = decoding.readVarUint(decoder);
			const storedSeq = decoding.readVarUint(decoder);
			const update = decoding.readVarUint8Array(decoder);
			const awareness = decoding.readVarUint8Array(decoder);
			return { type, origin, to, seq, storedSeq, update, awareness: awareness.byteLength > 0 ? awareness : null };
		}
		default:
			throw new Error('unknown relay message');
	}
}

type Outgoing = RelayMessage extends infer M ? (M extends RelayMessage ? Omit<M, 'origin'> : never) : never;

export interface YjsRelay {
	/** This process, as other processes see it in messages. */
	readonly origin: string;
	/** Redis is reachable: documents served here see the other processes' edits. */
	readonly up: boolean;
	/** Starts receiving a document's messages (other processes' only); resolves once subscribed. */
	subscribe(docName: string, onMessage: (message: RelayMessage) => void): Promise<void>;
	unsubscribe(docName: string): void;
	publish(docName: string, message: Outgoing): void;
	/** Called when Redis becomes unreachable (false) or reachable again (true). */
	onChange(listener: (up: boolean) => void): () => void;
	/** Which of these processes are still alive (they renew a key in Redis every second). */
	alive(origins: string[]): Promise<Set<string>>;
	close(): void;
}

/** How often a process says it is alive, and how long that lasts without renewal. */
const ALIVE_EVERY_MS = 1000;
const ALIVE_FOR_MS = 4000;

export function createYjsRelay(redis: RedisLink): YjsRelay {
	const origin = randomUUID();
	const channel = (docName: string) => `${redis.prefix}:yjs:${docName}`;
	const aliveKey = (process: string) => `${redis.prefix}:yjs-alive:${process}`;
	// Others drop the awareness (carets, "who is here") of a process that stops saying it is alive:
	// its editors are gone, or are reconnecting elsewhere under the same ids.
	const sayAlive = () => {
		if (redis.up) redis.publisher.set(aliveKey(origin), '1', { PX: ALIVE_FOR_MS }).catch(() => {});
	};
	sayAlive();
	const heartbeat = setInterval(sayAlive, ALIVE_EVERY_MS);
	heartbeat.unref();
	const listeners = new Map<string, (data: Buffer) => void>();
	// Unsubscribing while Redis is away, then reconnecting quickly, left node-redis 5.9's subscriber
	// never ready again (reproduced): what is dropped meanwhile is unsubscribed once Redis is back.
	const dropped = new Map<(data: Buffer) => void, string>();
	redis.onChange((up) => {
		if (!up) return;
		for (const [listener, docName] of dropped) redis.subscriber.unsubscribe(channel(docName), listener, true).catch(() => {});
		dropped.clear();
	});
	return {
		origin,
		get up() {
			return redis.up;
		},
		async subscribe(docName, onMessage) {
			const listener = (data: Buffer) => {
				let message: RelayMessage;
				try {
					message = decodeRelayMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
				} catch (error) {
					log('warn', 'yjs relay: malformed message dropped', { docName, error: String(error) });
					return;
				}
				if (message.origin !== origin && listeners.get(docName) === listener) onMessage(message);
			};
			listeners.set(docName, listener);
			await redis.subscriber.subscribe(channel(docName), listener, true);
		},
		unsubscribe(docName) {
			const listener = listeners.get(docName);
			if (!listener) return;
			listeners.delete(docName);
			if (redis.up) redis.subscriber.unsubscribe(channel(docName), listener, true).catch(() => {});
			else dropped.set(listener, docName);
		},
		publish(docName, message) {
			// Redis away: every document here is being closed (see YjsServer.relayLost).
			if (!redis.up) return;
			const data = encodeRelayMessage({ ...message, origin } as RelayMessage);
			redis.publisher.publish(channel(docName), Buffer.from(data.buffer, data.byteOffset, data.byteLength)).catch((error) => {
				log('warn', 'yjs relay: publish failed', { docName, error: String(error) });
			});
		},
		onChange: (listener) => redis.onChange(listener),
		async alive(origins) {
			if (origins.length === 0 || !redis.up) return new Set(origins);
			const values = await redis.publisher.mGet(origins.map(aliveKey));
			return new Set(origins.filter((_, i) => values[i] !== null));
		},
		close() {
			clearInterval(heartbeat);
			if (redis.up) redis.publisher.del(aliveKey(origin)).catch(() => {});
		}
	};
}
