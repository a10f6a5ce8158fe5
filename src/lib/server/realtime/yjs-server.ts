// The server side of the y-websocket protocol (sync step 1/2, updates, awareness), owned here so
// that every document has an authorization decision (read-write, read-only or refused), read-only
// connections are enforced by the server, and updates are persisted in PostgreSQL.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, WebSocket } from 'ws';
import * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import type { Db } from '../db/index.ts';
import type { DocAccess } from '../access/policy.ts';
import { compact, COMPACT_EVERY, loadUpdates, UpdateWriter, type DirtyDoc, type PendingRow } from './yjs-store.ts';
import { log } from '../log.ts';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;
/**
 * Ours: "stored up to this state vector", sent once updates are committed to PostgreSQL, so that
 * a client shows "enregistré" only for edits that would survive a crash of the server.
 */
export const MESSAGE_STORED = 100;
const UNLOAD_DELAY_MS = 30_000;
/**
 * How often received updates are written (group commit). It is the delay of "enregistré", not of
 * live sync: peers get each update at once.
 */
const STORE_EVERY_MS = 250;
/** The shortest time between two "stored" acknowledgements to one connection. */
const ACK_INTERVAL_MS = 1000;
const PING_INTERVAL_MS = 30_000;

export interface YjsConnectionInfo {
	userId: string;
	access: Exclude<DocAccess, 'none'>;
}

export interface YjsServerOptions {
	db: () => Db;
	maxMessageBytes: number;
	/** Decides who may open which document; called on every upgrade and on re-authorization. */
	authorize(req: IncomingMessage, docName: string): Promise<YjsConnectionInfo | { refused: 401 | 403 | 404 }>;
	/** Recomputes a user's access to a document (after a membership change). */
	reauthorize(userId: string, docName: string): Promise<DocAccess>;
	/** Called after each change of a document (not when it is loaded). */
	onChange?(docName: string, doc: Y.Doc): void;
	/** Called the first time a connection's write is accepted (for the audit log). */
	onFirstWrite?(docName: string, userId: string): void;
}

interface Connection extends YjsConnectionInfo {
	ws: WebSocket;
	clientIds: Set<number>;
	alive: boolean;
	wrote: boolean;
	/** The stored state vector not yet told to this connection, and when it was last told one. */
	unacknowledged: Uint8Array | null;
	acknowledgedAt: number;
	acknowledgement: NodeJS.Timeout | undefined;
}

/**
 * Tells a connection that its edits are stored: at once, or, if it was told less than
 * ACK_INTERVAL_MS ago, then, with the latest state. Someone typing gets one acknowledgement per
 * interval instead of one per commit, and the acknowledgements of a commit are spread over time
 * instead of all written in one turn of the event loop.
 */
function acknowledge(conn: Connection, stateVector: Uint8Array): void {
	conn.unacknowledged = stateVector;
	if (conn.acknowledgement) return;
	const wait = conn.acknowledgedAt + ACK_INTERVAL_MS - performance.now();
	if (wait <= 0) sendAcknowledgement(conn);
	else conn.acknowledgement = setTimeout(sendAcknowledgement, wait, conn);
}

function sendAcknowledgement(conn: Connection): void {
	conn.acknowledgement = undefined;
	if (!conn.unacknowledged) return;
	send(conn.ws, storedMessage(conn.unacknowledged));
	conn.unacknowledged = null;
	conn.acknowledgedAt = performance.now();
}

class SharedDoc implements DirtyDoc {
	readonly doc = new Y.Doc({ gc: true });
	readonly awareness = new awarenessProtocol.Awareness(this.doc);
	readonly conns = new Map<WebSocket, Connection>();
	/** Updates received since the last row was taken, and the connections that wrote them. */
	private pending: Uint8Array[] = [];
	private authors = new Set<WebSocket>();
	/** A write failed: the next row is the whole document, so that its acknowledgement is true. */
	private unstored = false;
	/** State vector of what PostgreSQL holds, told to each connection as it opens. */
	storedStateVector: Uint8Array = Y.encodeStateVector(this.doc);
	private sinceCompaction = 0;
	private compaction: Promise<void> = Promise.resolve();
	/** The connection whose update is being applied, when it need not get it back. */
	private author: WebSocket | null = null;
	unloadTimer: NodeJS.Timeout | undefined;

	constructor(
		readonly name: string,
		private readonly db: () => Db,
		private readonly writer: UpdateWriter,
		onChange?: (docName: string, doc: Y.Doc) => void
	) {
		this.awareness.setLocalState(null);
		this.doc.on('update', (update: Uint8Array, origin: unknown) => {
			if (origin === this) return; // loading from storage
			const encoder = encoding.createEncoder();
			encoding.writeVarUint(encoder, MESSAGE_SYNC);
			syncProtocol.writeUpdate(encoder, update);
			this.broadcast(encoding.toUint8Array(encoder), origin === this.author ? this.author : null);
			if (this.pending.length === 0) this.writer.markDirty(this);
			this.pending.push(update);
			if (origin instanceof WebSocket) this.authors.add(origin);
			onChange?.(this.name, this.doc);
		});
		this.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
			const changed = [...added, ...updated, ...removed];
			const conn = origin instanceof WebSocket ? this.conns.get(origin) : undefined;
			if (conn) {
				for (const id of added) conn.clientIds.add(id);
				for (const id of removed) conn.clientIds.delete(id);
			}
			const encoder = encoding.createEncoder();
			encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
			encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
			this.broadcast(encoding.toUint8Array(encoder));
		});
	}

	async load(): Promise<void> {
		const { updates } = await loadUpdates(this.db(), this.name);
		Y.transact(
			this.doc,
			() => {
				for (const u of updates) Y.applyUpdate(this.doc, u, this);
			},
			this
		);
		this.storedStateVector = Y.encodeStateVector(this.doc);
		if (updates.length > COMPACT_EVERY) this.compact();
	}

	/**
	 * Applies a connection's update. Its author is not sent its own update back: it has it. Unless
	 * applying it also released updates held back for a missing dependency, which it may lack.
	 */
	apply(update: Uint8Array, ws: WebSocket): void {
		const { pendingStructs, pendingDs } = this.doc.store;
		this.author = pendingStructs === null && pendingDs === null ? ws : null;
		try {
			Y.applyUpdate(this.doc, update, ws);
		} finally {
			this.author = null;
		}
	}

	/**
	 * The writer's turn: everything received since the last turn, as one merged row. Its
	 * acknowledgement goes to the connections that wrote it (the others learn the stored state when
	 * they connect); the state vector taken here covers exactly what the row and earlier rows hold.
	 */
	takeRow(): PendingRow | null {
		if (this.pending.length === 0 && !this.unstored) return null;
		const full = this.unstored;
		const row = full ? Y.encodeStateAsUpdate(this.doc) : this.pending.length === 1 ? this.pending[0] : Y.mergeUpdates(this.pending);
		const stateVector = Y.encodeStateVector(this.doc);
		const authors = this.authors;
		this.pending = [];
		this.authors = new Set();
		this.unstored = false;
		return {
			docName: this.name,
			row,
			stored: () => {
				this.storedStateVector = stateVector;
				for (const ws of authors) {
					const conn = this.conns.get(ws);
					if (conn) acknowledge(conn, stateVector);
				}
				if (++this.sinceCompaction >= COMPACT_EVERY) this.compact();
			},
			failed: (error) => {
				log('error', 'yjs: persistence failed', { docName: this.name, error: String(error) });
				this.unstored = true;
				for (const ws of authors) this.authors.add(ws);
				this.writer.markDirty(this);
			}
		};
	}

	private compact(): void {
		this.sinceCompaction = 0;
		this.compaction = this.compaction
			.then(() => compact(this.db(), this.name, () => Y.encodeStateAsUpdate(this.doc)))
			.catch((error) => log('error', 'yjs: compaction failed', { docName: this.name, error: String(error) }));
	}

	/** Resolves once every update received so far is stored (and any compaction is done). */
	async flushed(): Promise<void> {
		await this.writer.flush();
		await this.compaction;
	}

	broadcast(message: Uint8Array, except: WebSocket | null = null): void {
		for (const conn of this.conns.values()) if (conn.ws !== except) send(conn.ws, message);
	}
}

function storedMessage(stateVector: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_STORED);
	encoding.writeVarUint8Array(encoder, stateVector);
	return encoding.toUint8Array(encoder);
}

function send(ws: WebSocket, message: Uint8Array): void {
	// No callback: a failed write destroys the socket, which closes the connection (onClose).
	if (ws.readyState === WebSocket.OPEN) ws.send(message);
}

/**
 * Keeps the entries of an awareness update that `allow` accepts (throws when malformed). The
 * y-websocket client re-broadcasts every awareness change it sees, its peers' included, so
 * entries about other connections' ids are expected: they are dropped, not treated as an attack.
 */
function filterAwarenessUpdate(update: Uint8Array, allow: (clientId: number) => boolean): Uint8Array | null {
	const decoder = decoding.createDecoder(update);
	const count = decoding.readVarUint(decoder);
	const kept: { id: number; clock: number; state: string }[] = [];
	for (let i = 0; i < count; i++) {
		const id = decoding.readVarUint(decoder);
		const clock = decoding.readVarUint(decoder);
		const state = decoding.readVarString(decoder);
		JSON.parse(state);
		if (allow(id)) kept.push({ id, clock, state });
	}
	if (kept.length === 0) return null;
	if (kept.length === count) return update;
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, kept.length);
	for (const k of kept) {
		encoding.writeVarUint(encoder, k.id);
		encoding.writeVarUint(encoder, k.clock);
		encoding.writeVarString(encoder, k.state);
	}
	return encoding.toUint8Array(encoder);
}

export class YjsServer {
	private readonly wss: WebSocketServer;
	private readonly docs = new Map<string, Promise<SharedDoc>>();
	private readonly heartbeat: NodeJS.Timeout;
	private readonly writer: UpdateWriter;

	constructor(private readonly options: YjsServerOptions) {
		this.writer = new UpdateWriter(options.db, STORE_EVERY_MS);
		this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
		this.heartbeat = setInterval(() => this.ping(), PING_INTERVAL_MS);
		this.heartbeat.unref();
	}

	/** Handles an HTTP upgrade on /yjs/<docName>. */
	async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, docName: string): Promise<void> {
		socket.on('error', () => socket.destroy());
		let decision: Awaited<ReturnType<YjsServerOptions['authorize']>>;
		try {
			decision = await this.options.authorize(req, docName);
		} catch (error) {
			log('error', 'yjs: authorization failed', { error: String(error) });
			decision = { refused: 403 };
		}
		if ('refused' in decision) {
			const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[decision.refused];
			socket.end(`HTTP/1.1 ${decision.refused} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
			return;
		}
		const info = decision;
		this.wss.handleUpgrade(req, socket, head, (ws) => {
			this.setupConnection(ws, docName, info).catch((error) => {
				log('error', 'yjs: could not open document', { docName, error: String(error) });
				ws.close(1011);
			});
		});
	}

	private getDoc(name: string): Promise<SharedDoc> {
		let pending = this.docs.get(name);
		if (!pending) {
			const shared = new SharedDoc(name, this.options.db, this.writer, this.options.onChange);
			pending = shared.load().then(() => shared);
			pending.catch(() => this.docs.delete(name));
			this.docs.set(name, pending);
		}
		return pending;
	}

	private async setupConnection(ws: WebSocket, docName: string, info: YjsConnectionInfo): Promise<void> {
		ws.binaryType = 'arraybuffer';
		// Messages that arrive while the document loads are processed in order afterwards.
		const early: Uint8Array[] = [];
		let shared: SharedDoc | undefined;
		let conn: Connection | undefined;
		ws.on('message', (data: ArrayBuffer) => {
			const message = new Uint8Array(data);
			if (!shared || !conn) early.push(message);
			else this.onMessage(shared, conn, message);
		});
		ws.on('close', () => {
			if (shared && conn) this.onClose(shared, conn);
		});
		ws.on('error', () => ws.terminate());
		ws.on('pong', () => {
			if (conn) conn.alive = true;
		});

		shared = await this.getDoc(docName);
		if (ws.readyState !== WebSocket.OPEN) return;
		clearTimeout(shared.unloadTimer);
		conn = { ws, ...info, clientIds: new Set(), alive: true, wrote: false, unacknowledged: null, acknowledgedAt: -Infinity, acknowledgement: undefined };
		shared.conns.set(ws, conn);

		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, MESSAGE_SYNC);
		syncProtocol.writeSyncStep1(encoder, shared.doc);
		send(ws, encoding.toUint8Array(encoder));
		// Edits stored before an acknowledgement could reach their author (a crash, a lost
		// connection) are acknowledged on reconnection, when the author's sync adds nothing new.
		send(ws, storedMessage(shared.storedStateVector));
		const states = shared.awareness.getStates();
		if (states.size > 0) {
			const aw = encoding.createEncoder();
			encoding.writeVarUint(aw, MESSAGE_AWARENESS);
			encoding.writeVarUint8Array(aw, awarenessProtocol.encodeAwarenessUpdate(shared.awareness, [...states.keys()]));
			send(ws, encoding.toUint8Array(aw));
		}
		for (const message of early.splice(0)) this.onMessage(shared, conn, message);
	}

	private onMessage(shared: SharedDoc, conn: Connection, message: Uint8Array): void {
		try {
			const decoder = decoding.createDecoder(message);
			const type = decoding.readVarUint(decoder);
			if (type === MESSAGE_SYNC) this.onSync(shared, conn, decoder);
			else if (type === MESSAGE_AWARENESS) this.onAwareness(shared, conn, decoding.readVarUint8Array(decoder));
			else if (type === MESSAGE_QUERY_AWARENESS) {
				const encoder = encoding.createEncoder();
				encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
				encoding.writeVarUint8Array(
					encoder,
					awarenessProtocol.encodeAwarenessUpdate(shared.awareness, [...shared.awareness.getStates().keys()])
				);
				send(conn.ws, encoding.toUint8Array(encoder));
			} else throw new Error(`unknown message type ${type}`);
		} catch (error) {
			// A malformed message closes this connection only; the document and others are untouched.
			log('warn', 'yjs: malformed message refused', { docName: shared.name, userId: conn.userId, error: String(error) });
			conn.ws.close(1003, 'Message invalide');
		}
	}

	private onSync(shared: SharedDoc, conn: Connection, decoder: decoding.Decoder): void {
		const syncType = decoding.readVarUint(decoder);
		if (syncType === syncProtocol.messageYjsSyncStep1) {
			const stateVector = decoding.readVarUint8Array(decoder);
			Y.decodeStateVector(stateVector); // throws when malformed
			const encoder = encoding.createEncoder();
			encoding.writeVarUint(encoder, MESSAGE_SYNC);
			syncProtocol.writeSyncStep2(encoder, shared.doc, stateVector);
			send(conn.ws, encoding.toUint8Array(encoder));
			return;
		}
		if (syncType !== syncProtocol.messageYjsSyncStep2 && syncType !== syncProtocol.messageYjsUpdate) {
			throw new Error(`unknown sync message ${syncType}`);
		}
		const update = decoding.readVarUint8Array(decoder);
		if (conn.access !== 'rw') {
			log('warn', 'yjs: write from read-only connection dropped', { docName: shared.name, userId: conn.userId });
			return;
		}
		Y.decodeUpdate(update); // throws on a malformed update before it can touch the document
		if (conn.wrote) {
			shared.apply(update, conn.ws);
			return;
		}
		// Only an update that changes the document is a write: every client answers the server's
		// sync step 1 with a step 2, empty when it has nothing new (opening is not editing).
		let changed = false;
		const onUpdate = (_update: Uint8Array, origin: unknown) => {
			if (origin === conn.ws) changed = true;
		};
		shared.doc.on('update', onUpdate);
		try {
			shared.apply(update, conn.ws);
		} finally {
			shared.doc.off('update', onUpdate);
		}
		if (changed) {
			conn.wrote = true;
			this.options.onFirstWrite?.(shared.name, conn.userId);
		}
	}

	private onAwareness(shared: SharedDoc, conn: Connection, update: Uint8Array): void {
		// A client may only speak for its own awareness ids, never overwrite another connection's.
		const ownedElsewhere = (id: number) => [...shared.conns.values()].some((other) => other !== conn && other.clientIds.has(id));
		const own = filterAwarenessUpdate(update, (id) => !ownedElsewhere(id));
		if (own) awarenessProtocol.applyAwarenessUpdate(shared.awareness, own, conn.ws);
	}

	private onClose(shared: SharedDoc, conn: Connection): void {
		shared.conns.delete(conn.ws);
		clearTimeout(conn.acknowledgement);
		awarenessProtocol.removeAwarenessStates(shared.awareness, [...conn.clientIds], null);
		if (shared.conns.size === 0) this.scheduleUnload(shared);
	}

	/** Frees a document nobody has open, once its updates are stored, after a grace period. */
	private scheduleUnload(shared: SharedDoc): void {
		clearTimeout(shared.unloadTimer);
		shared.unloadTimer = setTimeout(() => {
			if (shared.conns.size > 0) return;
			shared.flushed().then(() => {
				if (shared.conns.size === 0) {
					this.docs.delete(shared.name);
					shared.doc.destroy();
				}
			});
		}, UNLOAD_DELAY_MS);
		shared.unloadTimer.unref();
	}

	private ping(): void {
		for (const pending of this.docs.values()) {
			pending.then((shared) => {
				for (const conn of shared.conns.values()) {
					if (!conn.alive) {
						conn.ws.terminate();
						continue;
					}
					conn.alive = false;
					conn.ws.ping();
				}
			}, () => {});
		}
	}

	/** Re-checks every open connection of a user: closes refused ones, downgrades to read-only. */
	async reauthorizeUser(userId: string): Promise<void> {
		for (const pending of [...this.docs.values()]) {
			const shared = await pending.catch(() => undefined);
			if (!shared) continue;
			for (const conn of shared.conns.values()) {
				if (conn.userId !== userId) continue;
				const access = await this.options.reauthorize(userId, shared.name);
				if (access === 'none') conn.ws.close(4403, 'Accès retiré');
				else conn.access = access;
			}
		}
	}

	/** Re-checks every open connection to one document (the patient left, the plan is now read-only). */
	async reauthorizeDocument(name: string): Promise<void> {
		const shared = await this.docs.get(name)?.catch(() => undefined);
		for (const conn of shared?.conns.values() ?? []) {
			const access = await this.options.reauthorize(conn.userId, name);
			if (access === 'none') conn.ws.close(4403, 'Accès retiré');
			else conn.access = access;
		}
	}

	/**
	 * Closes a document and forgets it, after its pending writes are stored (before its storage is
	 * erased, e.g. anonymisation): nothing of it stays in memory to be served or written back.
	 */
	async evict(name: string): Promise<void> {
		const pending = this.docs.get(name);
		if (!pending) return;
		const shared = await pending.catch(() => undefined);
		this.docs.delete(name);
		if (!shared) return;
		clearTimeout(shared.unloadTimer);
		for (const conn of shared.conns.values()) conn.ws.close(4404, 'Document retiré');
		await shared.flushed();
		shared.doc.destroy();
	}

	/** Closes every connection of a user (sign-out everywhere, password change). */
	async disconnectUser(userId: string): Promise<void> {
		for (const pending of [...this.docs.values()]) {
			const shared = await pending.catch(() => undefined);
			for (const conn of shared?.conns.values() ?? []) {
				if (conn.userId === userId) conn.ws.close(4401, 'Session terminée');
			}
		}
	}

	/** Waits until every received update is stored (tests, shutdown). */
	async flushAll(): Promise<void> {
		for (const pending of [...this.docs.values()]) {
			const shared = await pending.catch(() => undefined);
			await shared?.flushed();
		}
	}

	/**
	 * Runs `fn` on the live document (loading it if nobody has it open): reads see every edit
	 * received so far; changes made inside are broadcast and stored like a client's.
	 */
	async withDoc<T>(name: string, fn: (doc: Y.Doc) => T): Promise<T> {
		const shared = await this.getDoc(name);
		try {
			return fn(shared.doc);
		} finally {
			if (shared.conns.size === 0) this.scheduleUnload(shared);
		}
	}

	/** Waits until every update of one document received so far is stored. */
	async flush(name: string): Promise<void> {
		const pending = this.docs.get(name);
		if (pending) await (await pending).flushed();
	}

	openDocumentCount(): number {
		return this.docs.size;
	}

	async close(): Promise<void> {
		clearInterval(this.heartbeat);
		for (const client of this.wss.clients) client.terminate();
		await this.flushAll();
		this.wss.close();
	}
}
