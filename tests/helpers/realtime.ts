// Helpers shared by the realtime integration tests (realtime, pps, convergence, crash): polling and
// timeouts, a real http server with the realtime layer attached, sessions, y-websocket clients
// that send a cookie like a browser would, the sync barrier and raw websocket handshakes.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import type { Db } from '../../src/lib/server/db/index.ts';
import { createSession, generateSessionToken } from '../../src/lib/server/auth/session.ts';
import { attachRealtime, type Realtime } from '../../src/lib/server/realtime/attach.ts';
import { MESSAGE_STORED } from '../../src/lib/server/realtime/yjs-server.ts';

// Waiting ----------------------------------------------------------------------------------------

export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for: ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

export function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
	let timer: NodeJS.Timeout;
	return Promise.race([
		promise.finally(() => clearTimeout(timer)),
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`Timed out waiting for: ${what}`)), timeoutMs);
		})
	]);
}

// Server and sessions ------------------------------------------------------------------------------

/**
 * The Redis namespace of this test file's "processes" (REDIS_PREFIX): test files run in parallel on
 * one Redis, and socket.io's adapter waits for every process it hears (presence asks them all).
 */
export const TEST_REDIS_PREFIX = `test-${randomUUID()}`;

/** A real http server (404 for plain requests) with the realtime layer attached, listening on a free port. */
export async function startRealtimeServer(): Promise<{ server: Server; realtime: Realtime; port: number }> {
	const server = createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	const realtime = await attachRealtime(server, { redisPrefix: TEST_REDIS_PREFIX });
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { server, realtime, port: (server.address() as AddressInfo).port };
}

/** Closes the realtime layer (io.close() also closes the http server it is attached to), then the server if still listening. */
export async function stopRealtimeServer(realtime: Realtime | undefined, server: Server | undefined): Promise<void> {
	await realtime?.close();
	if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A real session for a user, as the login page would create it; returns the Cookie header. */
export async function sessionCookie(db: Db, userId: string, twoFactorVerified = true): Promise<string> {
	const token = generateSessionToken();
	await createSession(db, token, userId, { twoFactorVerified });
	return `session=${token}`;
}

// Yjs clients --------------------------------------------------------------------------------------

/** A `ws` WebSocket class that sends the given headers (session cookie, Origin…) like a browser would. */
export function webSocketWith(headers: Record<string, string>) {
	return class extends WebSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols, { headers });
		}
	};
}

/**
 * A y-websocket provider on `${wsBase}/yjs/<docName>` whose websocket sends `headers`. Same-process
 * providers would otherwise sync through a BroadcastChannel, around the server: disableBc.
 */
export function yjsProvider(wsBase: string, docName: string, doc: Y.Doc, headers: Record<string, string>, maxBackoffTime: number): WebsocketProvider {
	return new WebsocketProvider(`${wsBase}/yjs`, docName, doc, {
		WebSocketPolyfill: webSocketWith(headers) as unknown as typeof globalThis.WebSocket,
		disableBc: true,
		maxBackoffTime
	});
}

/** Calls `handler` with every "stored up to" snapshot the server sends (message 100: state vector and deleted content). */
export function onStored(provider: WebsocketProvider, handler: (stored: Y.Snapshot) => void): void {
	provider.messageHandlers[MESSAGE_STORED] = (_encoder, decoder) => {
		handler(Y.decodeSnapshot(decoding.readVarUint8Array(decoder)));
	};
}

/** Records the close code of every connection the provider loses. */
export function closeCodes(provider: WebsocketProvider): number[] {
	const closes: number[] = [];
	provider.on('connection-close', (event) => {
		if (event) closes.push(event.code);
	});
	return closes;
}

export function destroy(...clients: { doc: Y.Doc; provider: WebsocketProvider }[]): void {
	for (const c of clients) {
		c.provider.destroy();
		c.doc.destroy();
	}
}

/** A y-websocket sync message (type 0), its body written by one of y-protocols' sync writers. */
export function syncMessage(write: (encoder: encoding.Encoder) => void): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, 0);
	write(encoder);
	return encoding.toUint8Array(encoder);
}

/**
 * Sends sync step 1 on the provider's own connection and waits for the server's step 2 answer.
 * The server handles a connection's messages in order, and TCP keeps what it sent in order: once
 * the answer is here, every earlier message of this client has been processed by the server and
 * everything the server broadcast to this client before has been received.
 */
export function barrier(client: { doc: Y.Doc; provider: WebsocketProvider }): Promise<void> {
	const ws = client.provider.ws as unknown as WebSocket;
	return withTimeout(
		new Promise<void>((resolve) => {
			const listener = (data: ArrayBuffer) => {
				const bytes = new Uint8Array(data);
				if (bytes[0] === 0 && bytes[1] === syncProtocol.messageYjsSyncStep2) {
					ws.off('message', listener);
					resolve();
				}
			};
			ws.on('message', listener);
			ws.send(syncMessage((encoder) => syncProtocol.writeSyncStep1(encoder, client.doc)));
		}),
		'sync barrier'
	);
}

// Raw websockets -----------------------------------------------------------------------------------

/** Opens a raw websocket on /yjs/<docName> (kept in `track`); resolves with the HTTP status of the handshake. */
export function upgradeStatus(wsBase: string, track: WebSocket[], docName: string, headers: Record<string, string>): Promise<number> {
	return withTimeout(
		new Promise<number>((resolve) => {
			const ws = new WebSocket(`${wsBase}/yjs/${docName}`, { headers });
			track.push(ws);
			ws.on('error', () => {});
			ws.on('unexpected-response', (req, res) => {
				resolve(res.statusCode ?? 0);
				res.resume();
				req.destroy();
			});
			ws.on('open', () => {
				resolve(101);
				ws.close();
			});
		}),
		`upgrade of ${docName}`
	);
}

/** A raw, authenticated Yjs connection (kept in `track`) that has received the server's first message. */
export async function rawYjs(wsBase: string, track: WebSocket[], docName: string, cookie: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
	const ws = new WebSocket(`${wsBase}/yjs/${docName}`, { headers: { Cookie: cookie } });
	track.push(ws);
	ws.on('error', () => {});
	const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
	await withTimeout(new Promise<void>((resolve) => ws.once('message', () => resolve())), 'first Yjs message');
	return { ws, closed };
}

// PPS edits ----------------------------------------------------------------------------------------

/** Appends a paragraph to the patient's goals, the way the editor does (Tiptap: paragraph > text). */
export function addGoal(doc: Y.Doc, text: string): void {
	const fragment = doc.getXmlFragment('goals');
	const paragraph = new Y.XmlElement('paragraph');
	paragraph.insert(0, [new Y.XmlText(text)]);
	fragment.insert(fragment.length, [paragraph]);
}
