// What domain code and pages may ask of the live layer (open websockets, in this process and, with
// Redis, in the others) without depending on it. The realtime layer registers itself when it is
// attached to a server (realtime/attach.ts). Without it (scripts, domain tests), shared documents
// are read and written in storage and the notifications have no one to reach.
import * as Y from 'yjs';
import { getDb } from './db/index.ts';
import { appendUpdate, loadDoc } from './realtime/yjs-store.ts';

export interface RcpPresence {
	userId: string;
	name: string;
	profession: string;
	mode: 'participant' | 'observateur';
	place: 'present' | 'distance';
}

export interface LiveLayer {
	/** Runs `fn` on the live document; its changes reach the connected editors and storage. */
	withDoc<T>(docName: string, fn: (doc: Y.Doc) => T): Promise<T>;
	patientChanged(patientId: string, by: string): void;
	nudgeUsers(userIds: string[]): void;
	/** A user's memberships or care teams changed: re-check their live connections. */
	accessChanged(userId: string): Promise<void>;
	/** A document's subject changed (the patient left): re-check its live connections. */
	documentChanged(docName: string): Promise<void>;
	evictDocument(docName: string): Promise<void>;
	/** These sessions ended (sign-out): close what they opened. */
	sessionsEnded(sessionIds: string[]): Promise<void>;
	/** Every session of the user ended (sign-out everywhere, new password, factor reset). */
	userSessionsEnded(userId: string): Promise<void>;
	rcpChanged(sessionId: string): Promise<void>;
	rcpStarted(sessionId: string): Promise<void>;
	rcpClosed(sessionId: string, itemIds: string[]): Promise<void>;
	rcpPresence(sessionId: string): Promise<RcpPresence[]>;
	/** A slot of this professional in this microstructure was taken or freed. */
	bookingChanged(microstructureId: string, professionalId: string): void;
	/** Sends an event to every open tab of these users, in every process. */
	emitToUsers(userIds: string[], event: string, payload: unknown): void;
	/** Live connections are accepted (false while Redis, shared by the processes, is unreachable). */
	available(): boolean;
}

const KEY = Symbol.for('microstructures.live');
const g = globalThis as unknown as Record<symbol, LiveLayer | undefined>;

/**
 * Dev and production load modules twice (Vite and the server): the layer is shared through
 * globalThis. Returns the way back to the layer registered before (tests attach several servers).
 */
export function registerLiveLayer(layer: LiveLayer): () => void {
	const previous = g[KEY];
	g[KEY] = layer;
	return () => {
		if (g[KEY] === layer) g[KEY] = previous;
	};
}

const layer = () => g[KEY];

export async function withLiveDoc<T>(docName: string, fn: (doc: Y.Doc) => T): Promise<T> {
	const live = layer();
	if (live) return live.withDoc(docName, fn);
	return withStoredDoc(docName, fn);
}

/**
 * Runs `fn` on the document as storage holds it and stores its changes: without a live layer, or
 * while the live layer cannot serve documents (no process holds them open then).
 */
export async function withStoredDoc<T>(docName: string, fn: (doc: Y.Doc) => T): Promise<T> {
	const doc = await loadDoc(getDb(), docName);
	const updates: Uint8Array[] = [];
	doc.on('update', (u: Uint8Array) => updates.push(u));
	const result = fn(doc);
	for (const u of updates) await appendUpdate(getDb(), docName, u);
	doc.destroy();
	return result;
}

/** Tells the pages following a patient that the record changed (no patient data is sent). */
export function notifyPatientChanged(patientId: string, by: string): void {
	layer()?.patientChanged(patientId, by);
}

/** Nudges users' open tabs that they have new notifications. */
export function nudgeUsers(userIds: string[]): void {
	layer()?.nudgeUsers(userIds);
}

/** Applies a membership or care-team change to a user's live connections at once. */
export async function reauthorizeUser(userId: string): Promise<void> {
	await layer()?.accessChanged(userId);
}

/** Re-checks the live connections to a document after its subject changed (patient left). */
export async function reauthorizeDocument(docName: string): Promise<void> {
	await layer()?.documentChanged(docName);
}

/** Drops a document from memory, its connections closed, before its storage is erased. */
export async function evictDocument(docName: string): Promise<void> {
	await layer()?.evictDocument(docName);
}

/** Closes the live connections opened with a session that has just ended (sign-out). */
export async function endSessions(sessionIds: string[]): Promise<void> {
	if (sessionIds.length) await layer()?.sessionsEnded(sessionIds);
}

/** Closes every live connection of a user (sign-out everywhere, password change, factor reset). */
export async function disconnectUser(userId: string): Promise<void> {
	await layer()?.userSessionsEnded(userId);
}

/** Sends an RCP session's state to everyone in it (after a page action: start, agenda change). */
export async function broadcastRcpSession(sessionId: string): Promise<void> {
	await layer()?.rcpChanged(sessionId);
}

/** The session has started: those already in it are present, and everyone sees it live. */
export async function announceRcpStarted(sessionId: string): Promise<void> {
	await layer()?.rcpStarted(sessionId);
}

/** The session was closed: its participants' pages move to the minutes. */
export async function announceRcpClosed(sessionId: string, itemIds: string[]): Promise<void> {
	await layer()?.rcpClosed(sessionId, itemIds);
}

/** Who is connected to a live session right now (for the coordinators' overview). */
export async function livePresence(sessionId: string): Promise<RcpPresence[]> {
	return (await layer()?.rcpPresence(sessionId)) ?? [];
}

/**
 * A slot was taken or freed (booked, moved, cancelled, attendance marked): the booking screens of the
 * microstructure and the professional's own agenda reload their slots. Only ids are sent; each page
 * reads again what its user may see.
 */
export function announceBookingChanged(microstructureId: string, professionalId: string): void {
	layer()?.bookingChanged(microstructureId, professionalId);
}

/**
 * Sends an event to every open tab and device of these users (messaging: a message goes to exactly
 * the people who may read its conversation, computed when it is sent).
 */
export function emitToUsers(userIds: string[], event: string, payload: unknown): void {
	if (userIds.length) layer()?.emitToUsers(userIds, event, payload);
}

/** This process accepts live connections (for readiness: /healthz). */
export function liveAvailable(): boolean {
	return layer()?.available() ?? true;
}
