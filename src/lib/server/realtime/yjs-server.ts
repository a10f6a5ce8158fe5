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
import { compact, loadManyUpdates, loadUpdates, UpdateWriter, type DirtyDoc, type PendingRow } from './yjs-store.ts';
import { batched } from '../batch.ts';
import type { RelayMessage, YjsRelay } from './yjs-relay.ts';
import { checkChanges, defineRoots, REFUSALS, typesPlainText, type DocSchema } from '../../realtime/doc-schema.ts';
import { MESSAGE_REFUSED, MESSAGE_STORED } from '../../realtime/save-state.ts';
import { log } from '../log.ts';
import { addSecurityHeaderLines } from '../security-headers.ts';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;
export { MESSAGE_REFUSED, MESSAGE_STORED };
const UNLOAD_DELAY_MS = 30_000;
/**
 * How long a document's trial replica is kept after the last update that needed it, when building
 * it again would cost more than applying updates to it meanwhile (a document of TRIAL_KEEP_BYTES or
 * more): long enough for a burst of such updates (someone adding several objectives), short enough
 * that a document then typed in is held once in memory and each keystroke applied once. A smaller
 * document's replica is built for each such update and dropped at once: at the start of an RCP,
 * every editor's first objective would otherwise make every keystroke of the next seconds cost two.
 */
const TRIAL_KEEP_MS = 2000;
const TRIAL_KEEP_BYTES = 32 * 1024;
/**
 * How often received updates are written (group commit). It is the delay of "enregistré", not of
 * live sync: peers get each update at once.
 */
const STORE_EVERY_MS = 250;
/** The shortest time between two "stored" acknowledgements to one connection. */
const ACK_INTERVAL_MS = 1000;
const PING_INTERVAL_MS = 30_000;
/**
 * Awareness (who is here, where their caret is): one client id per connection, a bounded state,
 * and a token bucket per connection; what goes beyond is dropped, never relayed.
 */
const AWARENESS_STATE_MAX = 4096;
const AWARENESS_BURST = 40;
/** Messages held for a connection whose document is still loading or whose opening is being audited. */
const EARLY_MESSAGES_MAX = 500;
/** …and their bytes, in messages of the largest size allowed. */
const EARLY_BYTES_FACTOR = 4;
const AWARENESS_PER_SECOND = 20;
/**
 * How long an update relayed from another process may stay unconfirmed ("stored") before this
 * process stores it itself: that process has died or lost its database. Yjs updates are
 * idempotent, so storing one twice costs a row until the next compaction, never a wrong document.
 */
const RELAY_STORE_GRACE_MS = 5000;
const RELAY_SWEEP_MS = 1000;
/** The origin of updates that other processes received (relayed, or caught up from storage). */
const RELAYED = Symbol('relayed');

/** Thrown when a document is opened while Redis, and so the other processes' edits, are out of reach. */
export class RelayUnavailable extends Error {}

export interface YjsConnectionInfo {
	userId: string;
	/** The session the connection was opened with: signing out closes it. */
	sessionId: string;
	access: Exclude<DocAccess, 'none'>;
	/**
	 * Settles once the opening is recorded (the audit of a read of patient data): nothing of the
	 * document is sent before, but it loads meanwhile. Rejected: the connection is closed unserved.
	 */
	audited?: Promise<void>;
}

export interface YjsServerOptions {
	db: () => Db;
	maxMessageBytes: number;
	/** A document's stored rows are merged into one every this many rows. */
	compactEvery: number;
	/** Decides who may open which document; called on every upgrade and on re-authorization. */
	authorize(req: IncomingMessage, docName: string): Promise<YjsConnectionInfo | { refused: 401 | 403 | 404 }>;
	/** Recomputes a user's access to a document (after a membership change). */
	reauthorize(userId: string, docName: string): Promise<DocAccess>;
	/** The shape and limits every update of the document must keep (null: any content). */
	schema?(docName: string): DocSchema | null;
	/** Brings a document just loaded from storage to the current model (an edit, stored like one). */
	upgrade?(docName: string, doc: Y.Doc): void;
	/** Called after each change of a document (not when it is loaded). */
	onChange?(docName: string, doc: Y.Doc): void;
	/** Called the first time a connection's write is accepted (for the audit log). */
	onFirstWrite?(docName: string, userId: string): void;
	/** With several processes: how documents reach the others (see yjs-relay.ts). */
	relay?: YjsRelay | null;
}

interface Connection extends YjsConnectionInfo {
	ws: WebSocket;
	/** The awareness client id this connection speaks for, once it has announced one. */
	clientId: number | null;
	awarenessTokens: number;
	awarenessAt: number;
	alive: boolean;
	wrote: boolean;
	/** The stored snapshot not yet told to this connection, and when it was last told one. */
	unacknowledged: Uint8Array | null;
	acknowledgedAt: number;
	acknowledgement: NodeJS.Timeout | undefined;
}

/**
 * A connection that opened while part of the document was not stored yet (this process's pending
 * rows, or other processes' updates not confirmed): it is told the snapshot of the document as it
 * found it once all of that is stored. It may be holding those very edits unacknowledged (its
 * process died before telling it), and would otherwise wait for its next edit to see "Enregistré".
 */
interface AwaitingStored {
	snapshot: Uint8Array;
	/** This process's updates up to this count must be stored. */
	localSeq: number;
	/** Each other process's updates up to its count must be confirmed. */
	remote: Map<string, number>;
}

interface RemoteUpdate {
	seq: number;
	update: Uint8Array;
	at: number;
}

/**
 * Tells a connection that its edits are stored: at once, or, if it was told less than
 * ACK_INTERVAL_MS ago, then, with the latest state. Someone typing gets one acknowledgement per
 * interval instead of one per commit, and the acknowledgements of a commit are spread over time
 * instead of all written in one turn of the event loop.
 */
function acknowledge(conn: Connection, snapshot: Uint8Array): void {
	conn.unacknowledged = snapshot;
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
	/**
	 * A replica that a client update is applied to first, to check it against the schema: Yjs
	 * cannot take back an update once applied, so a refused one must never reach `doc`. Typing
	 * (plain text into existing text fields, typesPlainText) needs none, and is most updates; the
	 * replica is built from the document when another kind of update comes, and kept in step while
	 * such updates keep coming (TRIAL_KEEP_MS): a document being typed in is held once in memory.
	 */
	private trial: Y.Doc | null = null;
	private trialTimer: NodeJS.Timeout | undefined;
	/** The update being applied to `doc` has been applied to the trial already. */
	private onTrial = false;
	/** An upper bound of the encoded size: stored size plus every update since (measured again when over). */
	private approxBytes = 0;
	/** Updates received since the last row was taken, and the connections that wrote them. */
	private pending: Uint8Array[] = [];
	private authors = new Set<WebSocket>();
	/** A write failed: the next row is the whole document, so that its acknowledgement is true. */
	private unstored = false;
	/** Snapshot (state vector + deleted content) of what PostgreSQL holds, told to each connection as it opens. */
	storedSnapshot: Uint8Array;
	/** The delete set changes only with deletions: computing it walks every struct, so it is kept. */
	private deleteSet: ReturnType<typeof Y.createDeleteSet> | null = null;
	private sinceCompaction = 0;
	private compaction: Promise<void> = Promise.resolve();
	/** The connection whose update is being applied, when it need not get it back. */
	private author: WebSocket | null = null;
	unloadTimer: NodeJS.Timeout | undefined;
	/** The last stored row applied here (to catch up with rows other processes wrote). */
	private lastRowId: string | null = null;
	/** This process's updates to the document (relayed with this count), and how many are stored. */
	private seq = 0;
	private storedSeq = 0;
	/** Rows taken and not yet committed or failed. */
	private inFlight = 0;
	/** Other processes' updates not yet confirmed stored, by process. */
	private remotePending = new Map<string, RemoteUpdate[]>();
	readonly awaiting = new Map<WebSocket, AwaitingStored>();
	/** Relay messages received while the document loads, applied once it has. */
	private early: RelayMessage[] | null = [];
	/** The awareness client ids other processes speak for, by process. */
	private readonly remoteClients = new Map<string, Set<number>>();

	constructor(
		readonly name: string,
		private readonly db: () => Db,
		private readonly writer: UpdateWriter,
		private readonly schema: DocSchema | null,
		private readonly compactEvery: number,
		onChange?: (docName: string, doc: Y.Doc) => void,
		private readonly relay: YjsRelay | null = null
	) {
		if (schema) defineRoots(this.doc, schema);
		this.storedSnapshot = this.snapshot();
		this.awareness.setLocalState(null);
		this.doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction) => {
			if (transaction.deleteSet.clients.size > 0) this.deleteSet = null;
			if (origin === this) return; // loading from storage
			// Published first: the other processes' editors wait for the Redis round trip, these do not.
			if (origin !== RELAYED) this.relay?.publish(this.name, { type: 'update', seq: ++this.seq, update });
			const encoder = encoding.createEncoder();
			encoding.writeVarUint(encoder, MESSAGE_SYNC);
			syncProtocol.writeUpdate(encoder, update);
			this.broadcast(encoding.toUint8Array(encoder), origin === this.author ? this.author : null);
			// Updates checked on the trial are there already; the others (typing, the server's own
			// edits, other processes' updates, checked there) follow here, after the editors have them.
			if (this.trial && !this.onTrial) Y.applyUpdate(this.trial, update);
			// Another process received it: that process stores it.
			if (origin === RELAYED) return;
			if (this.pending.length === 0) this.writer.markDirty(this);
			this.pending.push(update);
			if (origin instanceof WebSocket) this.authors.add(origin);
			onChange?.(this.name, this.doc);
		});
		this.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
			const changed = [...added, ...updated, ...removed];
			const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed);
			const encoder = encoding.createEncoder();
			encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
			encoding.writeVarUint8Array(encoder, update);
			this.broadcast(encoding.toUint8Array(encoder));
			// Every process times out stale states on its own.
			if (origin !== RELAYED && origin !== 'timeout') this.relay?.publish(this.name, { type: 'awareness', update });
		});
	}

	/** The trial replica, built from the document if there is none; kept TRIAL_KEEP_MS from now. */
	private takeTrial(): Y.Doc {
		if (!this.trial) {
			this.trial = new Y.Doc({ gc: true });
			defineRoots(this.trial, this.schema!);
			Y.applyUpdate(this.trial, Y.encodeStateAsUpdate(this.doc));
		}
		clearTimeout(this.trialTimer);
		this.trialTimer = setTimeout(() => this.dropTrial(), TRIAL_KEEP_MS);
		this.trialTimer.unref();
		return this.trial;
	}

	dropTrial(): void {
		clearTimeout(this.trialTimer);
		this.trial?.destroy();
		this.trial = null;
	}

	/** The document's state vector and deleted content, encoded: what a "stored" message carries. */
	private snapshot(): Uint8Array {
		this.deleteSet ??= Y.createDeleteSetFromStructStore(this.doc.store);
		return Y.encodeSnapshot(Y.createSnapshot(this.deleteSet, Y.decodeStateVector(Y.encodeStateVector(this.doc))));
	}

	/** `read` gives the document's stored rows (read together with other documents opening). */
	async load(read: (docName: string) => Promise<{ updates: Uint8Array[]; lastId: string | null }>): Promise<void> {
		const { updates, lastId } = await read(this.name);
		this.lastRowId = lastId;
		Y.transact(
			this.doc,
			() => {
				for (const u of updates) Y.applyUpdate(this.doc, u, this);
			},
			this
		);
		this.approxBytes = updates.reduce((sum, u) => sum + u.byteLength, 0);
		this.storedSnapshot = this.snapshot();
		if (updates.length > this.compactEvery) this.compact();
	}

	/**
	 * The document is loaded (and upgraded): apply what other processes relayed meanwhile, then ask
	 * them for what storage does not hold yet.
	 */
	loaded(): void {
		const early = this.early ?? [];
		this.early = null;
		for (const message of early) this.onRelay(message);
		this.relay?.publish(this.name, { type: 'sync-request', stateVector: Y.encodeStateVector(this.doc) });
	}

	/** Applies another process's message about this document. */
	onRelay(message: RelayMessage): void {
		if (this.early) {
			this.early.push(message);
			return;
		}
		try {
			switch (message.type) {
				case 'update':
					// Tracked once applied: an update that cannot be applied must never be stored by the sweep.
					Y.applyUpdate(this.doc, message.update, RELAYED);
					this.trackRemote(message.origin, message.seq, message.update);
					break;
				case 'awareness':
					this.applyRemoteAwareness(message.origin, message.update);
					break;
				case 'stored': {
					const list = this.remotePending.get(message.origin);
					if (!list) break;
					const left = list.filter((u) => u.seq > message.seq);
					if (left.length > 0) this.remotePending.set(message.origin, left);
					else this.remotePending.delete(message.origin);
					this.settleAwaiting();
					break;
				}
				case 'sync-request': {
					const update = Y.encodeStateAsUpdate(this.doc, message.stateVector);
					const own = [...this.conns.values()].flatMap((c) => (c.clientId !== null && this.awareness.getStates().has(c.clientId) ? [c.clientId] : []));
					const awareness = own.length > 0 ? awarenessProtocol.encodeAwarenessUpdate(this.awareness, own) : null;
					// An empty update is two bytes (no structs, no deletions).
					if (update.byteLength <= 2 && !awareness) break;
					this.relay?.publish(this.name, { type: 'sync-reply', to: message.origin, seq: this.seq, storedSeq: this.storedSeq, update, awareness });
					break;
				}
				case 'sync-reply':
					if (message.to !== this.relay?.origin) break;
					if (message.update.byteLength > 2) {
						// What the answering process has not stored yet is tracked like its updates; what it
						// holds from others, they answer for themselves.
						Y.applyUpdate(this.doc, message.update, RELAYED);
						if (message.seq > message.storedSeq) this.trackRemote(message.origin, message.seq, message.update);
					}
					if (message.awareness) this.applyRemoteAwareness(message.origin, message.awareness);
					break;
			}
		} catch (error) {
			log('warn', 'yjs relay: message not applied', { docName: this.name, type: message.type, error: String(error) });
		}
	}

	private applyRemoteAwareness(origin: string, update: Uint8Array): void {
		let ids = this.remoteClients.get(origin);
		if (!ids) this.remoteClients.set(origin, (ids = new Set()));
		const known = ids;
		filterAwarenessUpdate(update, (id, state) => {
			if (state === 'null') known.delete(id);
			else {
				known.add(id);
				// An editor whose process died comes back through another under the same id.
				for (const [other, set] of this.remoteClients) if (other !== origin) set.delete(id);
			}
			return true;
		});
		awarenessProtocol.applyAwarenessUpdate(this.awareness, update, RELAYED);
	}

	/** The processes whose connections have awareness states here. */
	remoteOrigins(): string[] {
		return [...this.remoteClients.keys()];
	}

	/** A process died: its connections are gone from "who is here" at once, not after 30 s. */
	dropOrigin(origin: string): void {
		const ids = this.remoteClients.get(origin);
		this.remoteClients.delete(origin);
		// Except the editors that came back here under their id.
		const local = new Set([...this.conns.values()].map((c) => c.clientId));
		const gone = [...(ids ?? [])].filter((id) => !local.has(id));
		if (gone.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, gone, RELAYED);
	}

	private trackRemote(origin: string, seq: number, update: Uint8Array): void {
		const list = this.remotePending.get(origin);
		const entry = { seq, update, at: performance.now() };
		if (list) list.push(entry);
		else this.remotePending.set(origin, [entry]);
	}

	/**
	 * Stores the other processes' updates that stayed unconfirmed past the grace period (their
	 * process died before storing them), as this process's own.
	 */
	sweepRemote(now: number): void {
		let taken = false;
		for (const [origin, list] of this.remotePending) {
			const due = list.filter((u) => now - u.at >= RELAY_STORE_GRACE_MS);
			if (due.length === 0) continue;
			const left = list.filter((u) => now - u.at < RELAY_STORE_GRACE_MS);
			if (left.length > 0) this.remotePending.set(origin, left);
			else this.remotePending.delete(origin);
			if (this.pending.length === 0) this.writer.markDirty(this);
			for (const u of due) this.pending.push(u.update);
			taken = true;
		}
		if (!taken) return;
		log('warn', 'yjs relay: storing updates another process did not confirm', { docName: this.name });
		// Counted as this process's: connections waiting for them now wait for this count.
		this.seq++;
		for (const waiting of this.awaiting.values()) waiting.localSeq = this.seq;
	}

	/** Rows applied from storage since this process loaded the document: what other processes stored. */
	async catchUp(): Promise<void> {
		const { updates, lastId } = await loadUpdates(this.db(), this.name, this.lastRowId);
		if (lastId) this.lastRowId = lastId;
		for (const u of updates) Y.applyUpdate(this.doc, u, RELAYED);
	}

	/** Everything the document holds is in storage. */
	private fullyStored(): boolean {
		return this.pending.length === 0 && this.inFlight === 0 && !this.unstored && this.remotePending.size === 0;
	}

	/** What a connection opening now is told is stored, and what it must wait for if not all is. */
	openingSnapshot(): { snapshot: Uint8Array; awaiting: AwaitingStored | null } {
		if (this.fullyStored()) {
			this.storedSnapshot = this.snapshot();
			return { snapshot: this.storedSnapshot, awaiting: null };
		}
		const remote = new Map<string, number>();
		for (const [origin, list] of this.remotePending) remote.set(origin, Math.max(...list.map((u) => u.seq)));
		// Every row this process writes (a failed one's rewrite included) covers its count so far.
		return { snapshot: this.storedSnapshot, awaiting: { snapshot: this.snapshot(), localSeq: this.seq, remote } };
	}

	/** Tells the waiting connections whose document, as they found it, is now stored. */
	private settleAwaiting(): void {
		for (const [ws, waiting] of this.awaiting) {
			if (waiting.localSeq > this.storedSeq) continue;
			let confirmed = true;
			for (const [origin, seq] of waiting.remote) {
				if (this.remotePending.get(origin)?.some((u) => u.seq <= seq)) confirmed = false;
			}
			if (!confirmed) continue;
			this.awaiting.delete(ws);
			const conn = this.conns.get(ws);
			if (conn) acknowledge(conn, waiting.snapshot);
		}
	}

	/**
	 * Applies a connection's update, unless it would break the document's schema: then nothing of it
	 * is applied and the refusal is returned. Its author is not sent its own update back: it has it.
	 * Unless applying it also released updates held back for a missing dependency, which it may lack.
	 */
	apply(update: Uint8Array, ws: WebSocket): string | null {
		let onTrial = false;
		if (this.schema) {
			const schema = this.schema;
			// Typing within bounds needs no trial; the document's size is measured on one when over.
			if (this.approxBytes + update.byteLength <= schema.maxBytes && typesPlainText(this.doc, update, schema)) this.approxBytes += update.byteLength;
			else {
				const refusal = this.check(update, schema);
				if (refusal) return refusal;
				onTrial = true;
			}
		}
		const { pendingStructs, pendingDs } = this.doc.store;
		this.author = pendingStructs === null && pendingDs === null ? ws : null;
		this.onTrial = onTrial;
		try {
			Y.applyUpdate(this.doc, update, ws);
		} finally {
			this.author = null;
			this.onTrial = false;
		}
		return null;
	}

	/** Applies the update to the trial replica and checks what it changed (and the document's size). */
	private check(update: Uint8Array, schema: DocSchema): string | null {
		const trial = this.takeTrial();
		let problem: string | null = null;
		const onTransaction = (transaction: Y.Transaction) => {
			problem ??= checkChanges(trial, transaction.changed, schema);
		};
		trial.on('afterTransaction', onTransaction);
		try {
			Y.applyUpdate(trial, update);
		} catch (error) {
			this.dropTrial();
			throw error;
		} finally {
			trial.off('afterTransaction', onTransaction);
		}
		if (!problem) {
			this.approxBytes += update.byteLength;
			if (this.approxBytes > schema.maxBytes) {
				// Measured only when the bound is passed; a document over 90 % of its maximum then takes
				// no more growth, so a nearly full one cannot make every keystroke pay for a measurement.
				this.approxBytes = Y.encodeStateAsUpdate(trial).byteLength;
				if (this.approxBytes > schema.maxBytes * 0.9) problem = REFUSALS.tooLarge;
			}
		}
		// The trial took a refused update: the next one is built again from the document.
		if (problem || this.approxBytes < TRIAL_KEEP_BYTES) this.dropTrial();
		return problem;
	}

	/**
	 * The writer's turn: everything received since the last turn, as one merged row. Its
	 * acknowledgement goes to the connections that wrote it (the others learn the stored state when
	 * they connect); the snapshot taken here covers exactly what the row and earlier rows hold,
	 * deletions included.
	 */
	takeRow(): PendingRow | null {
		if (this.pending.length === 0 && !this.unstored) return null;
		const full = this.unstored;
		const row = full ? Y.encodeStateAsUpdate(this.doc) : this.pending.length === 1 ? this.pending[0] : Y.mergeUpdates(this.pending);
		const snapshot = this.snapshot();
		const authors = this.authors;
		const seq = this.seq;
		this.pending = [];
		this.authors = new Set();
		this.unstored = false;
		this.inFlight++;
		return {
			docName: this.name,
			row,
			stored: () => {
				this.inFlight--;
				this.storedSnapshot = snapshot;
				for (const ws of authors) {
					const conn = this.conns.get(ws);
					if (conn) acknowledge(conn, snapshot);
				}
				if (seq > this.storedSeq) {
					this.storedSeq = seq;
					this.relay?.publish(this.name, { type: 'stored', seq });
				}
				this.settleAwaiting();
				if (++this.sinceCompaction >= this.compactEvery) this.compact();
			},
			failed: (error) => {
				this.inFlight--;
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
			.then(() => compact(this.db(), this.name))
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

function storedMessage(snapshot: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_STORED);
	encoding.writeVarUint8Array(encoder, snapshot);
	return encoding.toUint8Array(encoder);
}

function refusedMessage(reason: string): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_REFUSED);
	encoding.writeVarString(encoder, reason);
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
function filterAwarenessUpdate(update: Uint8Array, allow: (clientId: number, state: string) => boolean): Uint8Array | null {
	const decoder = decoding.createDecoder(update);
	const count = decoding.readVarUint(decoder);
	const kept: { id: number; clock: number; state: string }[] = [];
	for (let i = 0; i < count; i++) {
		const id = decoding.readVarUint(decoder);
		const clock = decoding.readVarUint(decoder);
		const state = decoding.readVarString(decoder);
		if (allow(id, state)) kept.push({ id, clock, state });
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

/**
 * An awareness state is a JSON object (or null, when the client leaves) of bounded size; one that
 * is too big is dropped, one that is not JSON makes the message malformed (throws).
 */
function validAwarenessState(state: string): boolean {
	if (state.length > AWARENESS_STATE_MAX) return false;
	const value: unknown = JSON.parse(state);
	return value === null || (typeof value === 'object' && !Array.isArray(value));
}

/** Takes one token from the connection's awareness bucket; false when it is empty. */
function takeAwarenessToken(conn: Connection): boolean {
	const now = performance.now();
	conn.awarenessTokens = Math.min(AWARENESS_BURST, conn.awarenessTokens + ((now - conn.awarenessAt) / 1000) * AWARENESS_PER_SECOND);
	conn.awarenessAt = now;
	if (conn.awarenessTokens < 1) return false;
	conn.awarenessTokens -= 1;
	return true;
}

export class YjsServer {
	private readonly wss: WebSocketServer;
	private readonly docs = new Map<string, Promise<SharedDoc>>();
	private readonly heartbeat: NodeJS.Timeout;
	private readonly writer: UpdateWriter;
	private readonly relay: YjsRelay | null;
	private readonly sweep: NodeJS.Timeout | undefined;
	private readonly stopWatchingRelay: () => void = () => {};
	/** Documents opening while a read runs are read together in the next one. */
	private readonly reads = batched((names: string[]) => loadManyUpdates(this.options.db(), names));

	constructor(private readonly options: YjsServerOptions) {
		this.writer = new UpdateWriter(options.db, STORE_EVERY_MS);
		this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
		// The upgrade answer carries the same security headers as the pages.
		this.wss.on('headers', addSecurityHeaderLines);
		this.heartbeat = setInterval(() => this.ping(), PING_INTERVAL_MS);
		this.heartbeat.unref();
		this.relay = options.relay ?? null;
		if (this.relay) {
			this.sweep = setInterval(() => void this.sweepRelayed(), RELAY_SWEEP_MS);
			this.sweep.unref();
			this.stopWatchingRelay = this.relay.onChange((up) => {
				if (!up) void this.relayLost();
			});
		}
	}

	/** Documents are served (Redis reachable, when several processes share them). */
	get available(): boolean {
		return this.relay?.up ?? true;
	}

	private async sweepRelayed(): Promise<void> {
		const now = performance.now();
		const open: SharedDoc[] = [];
		for (const pending of this.docs.values()) {
			const shared = await pending.catch(() => undefined);
			if (!shared) continue;
			shared.sweepRemote(now);
			open.push(shared);
		}
		const origins = [...new Set(open.flatMap((shared) => shared.remoteOrigins()))];
		if (origins.length === 0 || !this.relay) return;
		const alive = await this.relay.alive(origins).catch(() => new Set(origins));
		for (const origin of origins) {
			if (!alive.has(origin)) for (const shared of open) shared.dropOrigin(origin);
		}
	}

	/**
	 * Redis is out of reach: the documents open here would miss the other processes' edits from now
	 * on. Their connections are closed (the editors keep their edits and reconnect, here or
	 * elsewhere, once Redis is back) and the documents forgotten once stored: they are loaded again
	 * from storage, converged, when next opened.
	 */
	private async relayLost(): Promise<void> {
		const names = [...this.docs.keys()];
		if (names.length > 0) log('warn', 'yjs: Redis lost, closing the open documents', { documents: names.length });
		await Promise.all(names.map((name) => this.evict(name, 1012, 'Service momentanément indisponible')));
	}

	/** Handles an HTTP upgrade on /yjs/<docName>. */
	async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, docName: string): Promise<void> {
		socket.on('error', () => socket.destroy());
		if (!this.available) {
			socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n');
			return;
		}
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
		// Awaited in setupConnection; marked handled here in case the connection ends before.
		info.audited?.catch(() => undefined);
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
			const relay = this.relay;
			const shared = new SharedDoc(name, this.options.db, this.writer, this.options.schema?.(name) ?? null, this.options.compactEvery, this.options.onChange, relay);
			pending = (async () => {
				if (relay) {
					if (!relay.up) throw new RelayUnavailable('Redis unreachable');
					// Subscribed before loading: nothing another process relays after the load is missed.
					await relay.subscribe(name, (message) => shared.onRelay(message));
				}
				await shared.load(this.reads.run);
				this.options.upgrade?.(name, shared.doc);
				shared.loaded();
				return shared;
			})();
			const current = pending;
			pending.catch(() => {
				if (this.docs.get(name) !== current) return;
				this.docs.delete(name);
				relay?.unsubscribe(name);
			});
			this.docs.set(name, pending);
		}
		return pending;
	}

	private async setupConnection(ws: WebSocket, docName: string, info: YjsConnectionInfo): Promise<void> {
		ws.binaryType = 'arraybuffer';
		// Messages that arrive while the document loads are processed in order afterwards.
		const early: Uint8Array[] = [];
		let earlyBytes = 0;
		let shared: SharedDoc | undefined;
		let conn: Connection | undefined;
		ws.on('message', (data: ArrayBuffer) => {
			const message = new Uint8Array(data);
			if (shared && conn) return this.onMessage(shared, conn, message);
			// Before it is answered a client sends its sync, its awareness and what is typed meanwhile:
			// far more is a flood held in memory for a connection not served yet. Closed, a real
			// editor reconnects and syncs what it holds.
			earlyBytes += message.byteLength;
			if (early.length >= EARLY_MESSAGES_MAX || earlyBytes > EARLY_BYTES_FACTOR * this.options.maxMessageBytes) return ws.close(1008, 'Trop de messages');
			early.push(message);
		});
		ws.on('close', () => {
			if (shared && conn) this.onClose(shared, conn);
		});
		ws.on('error', () => ws.terminate());
		ws.on('pong', () => {
			if (conn) conn.alive = true;
		});

		shared = await this.getDoc(docName);
		const { audited, ...granted } = info;
		try {
			await audited;
		} catch (error) {
			if (shared.conns.size === 0) this.scheduleUnload(shared);
			throw error;
		}
		if (ws.readyState !== WebSocket.OPEN) {
			// The client left while the document loaded: a document nobody has open is freed.
			if (shared.conns.size === 0) this.scheduleUnload(shared);
			return;
		}
		clearTimeout(shared.unloadTimer);
		conn = {
			ws,
			...granted,
			clientId: null,
			awarenessTokens: AWARENESS_BURST,
			awarenessAt: performance.now(),
			alive: true,
			wrote: false,
			unacknowledged: null,
			acknowledgedAt: -Infinity,
			acknowledgement: undefined
		};
		shared.conns.set(ws, conn);

		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, MESSAGE_SYNC);
		syncProtocol.writeSyncStep1(encoder, shared.doc);
		send(ws, encoding.toUint8Array(encoder));
		// Edits stored before an acknowledgement could reach their author (a crash, a lost
		// connection) are acknowledged on reconnection, when the author's sync adds nothing new.
		const opening = shared.openingSnapshot();
		send(ws, storedMessage(opening.snapshot));
		if (opening.awaiting) shared.awaiting.set(ws, opening.awaiting);
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
		// A connection being closed (signed out, access withdrawn) is not listened to any more.
		if (conn.ws.readyState !== WebSocket.OPEN) return;
		try {
			const decoder = decoding.createDecoder(message);
			const type = decoding.readVarUint(decoder);
			if (type === MESSAGE_SYNC) this.onSync(shared, conn, decoder);
			else if (type === MESSAGE_AWARENESS) this.onAwareness(shared, conn, decoding.readVarUint8Array(decoder));
			else if (type === MESSAGE_QUERY_AWARENESS) {
				if (!takeAwarenessToken(conn)) return;
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
			this.refuseIf(shared, conn, shared.apply(update, conn.ws));
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
			this.refuseIf(shared, conn, shared.apply(update, conn.ws));
		} finally {
			shared.doc.off('update', onUpdate);
		}
		if (changed) {
			conn.wrote = true;
			this.options.onFirstWrite?.(shared.name, conn.userId);
		}
	}

	/**
	 * A refused update: its author is told why and becomes read-only until it connects again (its
	 * editor then starts over from the server's document); the others never see any of it.
	 */
	private refuseIf(shared: SharedDoc, conn: Connection, refusal: string | null): void {
		if (!refusal) return;
		log('warn', 'yjs: update refused', { docName: shared.name, userId: conn.userId, reason: refusal });
		conn.access = 'ro';
		send(conn.ws, refusedMessage(refusal));
	}

	private onAwareness(shared: SharedDoc, conn: Connection, update: Uint8Array): void {
		if (!takeAwarenessToken(conn)) return;
		// A connection speaks for one client id, the first it announces that no other person's
		// connection holds (the same person's reconnecting tab takes its id over).
		const allow = (id: number, state: string) => {
			if (conn.clientId !== null) return id === conn.clientId && validAwarenessState(state);
			for (const other of shared.conns.values()) {
				if (other !== conn && other.clientId === id && other.userId !== conn.userId) return false;
			}
			if (!validAwarenessState(state)) return false;
			conn.clientId = id;
			for (const other of shared.conns.values()) if (other !== conn && other.clientId === id) other.clientId = null;
			return true;
		};
		const own = filterAwarenessUpdate(update, allow);
		if (own) awarenessProtocol.applyAwarenessUpdate(shared.awareness, own, conn.ws);
	}

	private onClose(shared: SharedDoc, conn: Connection): void {
		shared.conns.delete(conn.ws);
		shared.awaiting.delete(conn.ws);
		clearTimeout(conn.acknowledgement);
		if (conn.clientId !== null) awarenessProtocol.removeAwarenessStates(shared.awareness, [conn.clientId], null);
		if (shared.conns.size === 0) this.scheduleUnload(shared);
	}

	/** Frees a document nobody has open, once its updates are stored, after a grace period. */
	private scheduleUnload(shared: SharedDoc): void {
		const pendingSelf = this.docs.get(shared.name);
		clearTimeout(shared.unloadTimer);
		shared.unloadTimer = setTimeout(() => {
			if (shared.conns.size > 0) return;
			shared.flushed().then(() => {
				if (shared.conns.size === 0 && this.docs.get(shared.name) === pendingSelf) {
					this.docs.delete(shared.name);
					this.relay?.unsubscribe(shared.name);
					shared.dropTrial();
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
	async evict(name: string, code = 4404, reason = 'Document retiré'): Promise<void> {
		const pending = this.docs.get(name);
		if (!pending) return;
		const shared = await pending.catch(() => undefined);
		if (this.docs.get(name) === pending) {
			this.docs.delete(name);
			this.relay?.unsubscribe(name);
		}
		if (!shared) return;
		clearTimeout(shared.unloadTimer);
		for (const conn of shared.conns.values()) {
			conn.access = 'ro';
			conn.ws.close(code, reason);
		}
		await shared.flushed();
		shared.dropTrial();
		shared.doc.destroy();
	}

	/** Closes every connection of a user (sign-out everywhere, password change, account disabled). */
	async disconnectUser(userId: string): Promise<void> {
		await this.closeWhere((conn) => conn.userId === userId);
	}

	/** Closes the connections opened with these sessions (sign-out, expiry, revocation). */
	async endSessions(sessionIds: ReadonlySet<string>): Promise<void> {
		await this.closeWhere((conn) => sessionIds.has(conn.sessionId));
	}

	private async closeWhere(match: (conn: Connection) => boolean): Promise<void> {
		for (const pending of [...this.docs.values()]) {
			const shared = await pending.catch(() => undefined);
			for (const conn of shared?.conns.values() ?? []) {
				if (match(conn)) {
					// Nothing more from it is applied, even what is already in flight.
					conn.access = 'ro';
					conn.ws.close(4401, 'Session terminée');
				}
			}
		}
	}

	/** The sessions behind this process's open connections (for the periodic session check). */
	async sessionIds(): Promise<Set<string>> {
		const ids = new Set<string>();
		for (const pending of [...this.docs.values()]) {
			const shared = await pending.catch(() => undefined);
			for (const conn of shared?.conns.values() ?? []) ids.add(conn.sessionId);
		}
		return ids;
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
		// What other processes stored (acknowledged to their editors) is read too, even if a relayed
		// message has not arrived yet.
		if (this.relay) await shared.catchUp();
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
		clearInterval(this.sweep);
		this.stopWatchingRelay();
		this.relay?.close();
		for (const client of this.wss.clients) client.terminate();
		await this.flushAll();
		this.wss.close();
	}
}
