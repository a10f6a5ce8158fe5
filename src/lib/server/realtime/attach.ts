// Plugs socket.io and the Yjs websocket into an http.Server: the production server
// (server/index.ts) and the Vite dev server (vite.config.ts) call the same function.
import type { Server as HttpServer } from 'node:http';
import type { Server as IoServer } from 'socket.io';
import { config } from '../config.ts';
import { getDb } from '../db/index.ts';
import { docAccess, loadActor } from '../access/policy.ts';
import { getMicrostructureRef } from '../org/microstructures.ts';
import { authenticateRequest, originAllowed } from './authenticate.ts';
import { createSocketServer, reauthorizeSockets } from './socket.ts';
import { YjsServer } from './yjs-server.ts';
import { loadDoc, appendUpdate } from './yjs-store.ts';
import { audit } from '../audit/audit.ts';
import { resolvePatientRef, saveProjection } from '../pps/pps.ts';
import { project } from '../../pps/model.ts';
import * as Y from 'yjs';
import { log } from '../log.ts';
import { resolveRcpItem } from '../rcp/sessions.ts';
import { broadcastRcp, markConnectedPresent, rcpPresence, type RcpPresence } from './rcp-socket.ts';

export interface Realtime {
	io: IoServer;
	yjs: YjsServer;
	close(): Promise<void>;
}

const KEY = Symbol.for('microstructures.realtime');
const g = globalThis as unknown as Record<symbol, Realtime | undefined>;

const resolveMs = (id: string) => getMicrostructureRef(getDb(), id);
const resolvePatient = (id: string) => resolvePatientRef(getDb(), id);
const resolveItem = (itemId: string, userId: string) => resolveRcpItem(getDb(), itemId, userId);

// The PPS projection follows the live document within a second of the last edit.
const PROJECTION_DELAY_MS = 1000;
const projectionTimers = new Map<string, NodeJS.Timeout>();
function scheduleProjection(docName: string, doc: Y.Doc) {
	if (!docName.startsWith('pps:')) return;
	clearTimeout(projectionTimers.get(docName));
	projectionTimers.set(
		docName,
		setTimeout(() => {
			projectionTimers.delete(docName);
			saveProjection(getDb(), docName.slice(4), project(doc)).catch((error) => log('error', 'pps: projection failed', { error: String(error) }));
		}, PROJECTION_DELAY_MS)
	);
}

/** Patient documents: opening one is a read of patient data, the first accepted edit a write. */
async function auditPatientDoc(docName: string, userId: string, action: 'patient.read' | 'patient.pps_edited') {
	if (!docName.startsWith('pps:')) return;
	const patient = await resolvePatient(docName.slice(4));
	await audit(getDb(), { actorId: userId }, {
		action,
		targetType: 'patient',
		targetId: docName.slice(4),
		microstructureId: patient?.microstructure.id ?? null,
		networkId: patient?.microstructure.networkId ?? null,
		details: { purpose: 'pps' }
	});
}

export async function attachRealtime(server: HttpServer): Promise<Realtime> {
	const io = createSocketServer(config.maxMessageBytes);
	if (config.redisUrl) {
		const { createClient } = await import('redis');
		const { createAdapter } = await import('@socket.io/redis-adapter');
		const pub = createClient({ url: config.redisUrl });
		const sub = pub.duplicate();
		await Promise.all([pub.connect(), sub.connect()]);
		io.adapter(createAdapter(pub, sub));
	}
	io.attach(server);

	const yjs = new YjsServer({
		db: getDb,
		maxMessageBytes: config.maxMessageBytes,
		async authorize(req, docName) {
			const auth = await authenticateRequest(req);
			if (!auth) return { refused: 401 };
			const access = await docAccess(auth.actor, docName, resolveMs, resolvePatient, resolveItem);
			// An unknown document and a document of someone else look the same.
			if (access === 'none') return { refused: 404 };
			await auditPatientDoc(docName, auth.user.id, 'patient.read');
			return { userId: auth.user.id, access };
		},
		async reauthorize(userId, docName) {
			return docAccess(await loadActor(getDb(), userId), docName, resolveMs, resolvePatient, resolveItem);
		},
		onChange: scheduleProjection,
		onFirstWrite(docName, userId) {
			auditPatientDoc(docName, userId, 'patient.pps_edited').catch((error) => log('error', 'audit failed', { error: String(error) }));
		}
	});

	server.on('upgrade', (req, socket, head) => {
		if (req.headers['sec-websocket-protocol'] === 'vite-hmr') return;
		const path = (req.url ?? '').split('?')[0];
		if (!path.startsWith('/yjs/')) return;
		if (!originAllowed(req)) {
			log('warn', 'yjs: upgrade from a foreign origin refused', { origin: req.headers.origin });
			socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
			return;
		}
		let docName: string;
		try {
			docName = decodeURIComponent(path.slice('/yjs/'.length));
		} catch {
			socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
			return;
		}
		void yjs.handleUpgrade(req, socket, head, docName);
	});

	const realtime: Realtime = {
		io,
		yjs,
		async close() {
			await new Promise<void>((resolve) => io.close(() => resolve()));
			await yjs.close();
			g[KEY] = undefined;
		}
	};
	g[KEY] = realtime;
	return realtime;
}

/**
 * Runs `fn` on the live version of a shared document. Changes made inside reach connected clients
 * and storage like any edit. Without a realtime server (scripts), works on the stored document.
 */
export async function withLiveDoc<T>(docName: string, fn: (doc: Y.Doc) => T): Promise<T> {
	const realtime = g[KEY];
	if (realtime) {
		const result = await realtime.yjs.withDoc(docName, fn);
		await realtime.yjs.flush(docName);
		return result;
	}
	const doc = await loadDoc(getDb(), docName);
	const updates: Uint8Array[] = [];
	doc.on('update', (u: Uint8Array) => updates.push(u));
	const result = fn(doc);
	for (const u of updates) await appendUpdate(getDb(), docName, u);
	doc.destroy();
	return result;
}

/** Re-checks the live connections to a document after its subject changed (patient left). */
export async function reauthorizeDocument(docName: string): Promise<void> {
	await g[KEY]?.yjs.reauthorizeDocument(docName);
}

/** Drops a document from memory, its connections closed, before its storage is erased. */
export async function evictDocument(docName: string): Promise<void> {
	await g[KEY]?.yjs.evict(docName);
}

/** Closes every live connection of a user (sign-out everywhere, password change). */
export async function disconnectUser(userId: string): Promise<void> {
	const realtime = g[KEY];
	if (!realtime) return;
	realtime.io.in(`user:${userId}`).disconnectSockets(true);
	await realtime.yjs.disconnectUser(userId);
}

/** Tells the pages following a patient that the record changed (no patient data is sent). */
export function notifyPatientChanged(patientId: string, by: string): void {
	g[KEY]?.io.to(`patient:${patientId}`).emit('patient:changed', { patientId, by });
}

/** Applies a membership change to a user's live connections at once. */
export async function reauthorizeUser(userId: string): Promise<void> {
	const realtime = g[KEY];
	if (!realtime) return;
	await Promise.all([reauthorizeSockets(realtime.io, userId), realtime.yjs.reauthorizeUser(userId)]);
}

/** Sends an RCP session's state to everyone in it (after a page action: start, agenda change). */
export async function broadcastRcpSession(sessionId: string): Promise<void> {
	const realtime = g[KEY];
	if (realtime) await broadcastRcp(realtime.io, sessionId);
}

/** The session has started: those already in it are present, and everyone sees it live. */
export async function announceRcpStarted(sessionId: string): Promise<void> {
	const realtime = g[KEY];
	if (!realtime) return;
	await markConnectedPresent(realtime.io, sessionId);
	await broadcastRcp(realtime.io, sessionId);
}

/** The session was closed: its participants' pages move to the minutes. */
export async function announceRcpClosed(sessionId: string, itemIds: string[]): Promise<void> {
	const realtime = g[KEY];
	if (!realtime) return;
	realtime.io.to(`rcp:${sessionId}`).emit('rcp:closed', { sessionId });
	// Case notes are read-only from now on: re-check their open connections.
	for (const id of itemIds) await realtime.yjs.reauthorizeDocument(`rcp-notes:${id}`);
}

/** Who is connected to a live session right now (for the coordinators' overview). */
export async function livePresence(sessionId: string): Promise<RcpPresence[]> {
	const realtime = g[KEY];
	return realtime ? rcpPresence(realtime.io, sessionId) : [];
}

/** Nudges users' open tabs that they have new notifications. */
export function nudgeUsers(userIds: string[]): void {
	const realtime = g[KEY];
	for (const id of new Set(userIds)) realtime?.io.to(`user:${id}`).emit('notification:new', {});
}
