// Plugs socket.io and the Yjs websocket into an http.Server: the production server
// (server/index.ts) and the Vite dev server (vite.config.ts) call the same function. It registers
// the live layer that domain code reaches through ../live.ts.
import type { Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Server as IoServer } from 'socket.io';
import { config } from '../config.ts';
import { getDb } from '../db/index.ts';
import { docAccess, loadActor, type MicrostructureRef } from '../access/policy.ts';
import { getMicrostructureRef } from '../org/microstructures.ts';
import { authenticateRequest, originAllowed, requestSessionToken, stillValidSessions, UPGRADES_PER_BATCH } from './authenticate.ts';
import { bookingRoom, createSocketServer, reauthorizeSockets, sessionRoom } from './socket.ts';
import { YjsServer } from './yjs-server.ts';
import { createBus, type BusEvent } from './bus.ts';
import { AuditQueue } from '../audit/audit.ts';
import { resolvePatientRefs, saveProjections } from '../pps/pps.ts';
import { project, upgrade } from '../../pps/model.ts';
import { docSchema } from '../../realtime/schemas.ts';
import * as Y from 'yjs';
import { log } from '../log.ts';
import { resolveRcpItems } from '../rcp/sessions.ts';
import { registerLiveLayer, withStoredDoc } from '../live.ts';
import { connectRedis, type RedisLink } from './redis.ts';
import { createYjsRelay } from './yjs-relay.ts';
import { broadcastRcp, markConnectedPresent, rcpPresence } from './rcp-socket.ts';
import { AccessCache } from './access-cache.ts';
import { batched } from '../batch.ts';

export interface Realtime {
	io: IoServer;
	yjs: YjsServer;
	/** Ends the live connections whose session is gone (run every SESSION_CHECK_MS). */
	checkSessions(): Promise<void>;
	close(): Promise<void>;
}

/**
 * How often each process checks that the sessions behind its open connections still exist, are
 * not expired and belong to an enabled user: a safety net behind the sign-out events.
 */
const SESSION_CHECK_MS = 30_000;

// When the pointer moves, every participant opens the new case's notes at once: read together.
const itemReads = batched((asks: { itemId: string; userId: string }[]) => resolveRcpItems(getDb(), asks), UPGRADES_PER_BATCH);
const resolveItem = (itemId: string, userId: string) => itemReads.run({ itemId, userId });

// The PPS projections follow the live documents: every document edited is projected within a
// second, however fast people type (one projection per document and second at most), between half
// a second and a second after its first edit since the last (documents opened together, at the
// start of an RCP, do not stay projected together). Every PROJECTION_TICK_MS, those due are
// projected and written in one statement: at lunchtime, 50 documents being typed in cost about ten
// small statements a second, not 50, nor one burst a second that editors would feel.
const PROJECTION_DELAY_MS = 1000;
const PROJECTION_TICK_MS = 100;
const dueProjections = new Map<string, { doc: Y.Doc; at: number }>();
let projectionTicker: NodeJS.Timeout | undefined;
let projecting = false;
function scheduleProjection(docName: string, doc: Y.Doc) {
	if (!docName.startsWith('pps:') || dueProjections.has(docName)) return;
	dueProjections.set(docName, { doc, at: performance.now() + PROJECTION_DELAY_MS * (0.5 + Math.random() / 2) });
	projectionTicker ??= setInterval(() => void projectDue(), PROJECTION_TICK_MS);
}
async function projectDue() {
	if (projecting) return;
	if (dueProjections.size === 0) {
		clearInterval(projectionTicker);
		projectionTicker = undefined;
		return;
	}
	const now = performance.now();
	const due = [...dueProjections].filter(([, { at }]) => at <= now);
	if (due.length === 0) return;
	projecting = true;
	try {
		// Edits from now on make their document due again.
		for (const [docName] of due) dueProjections.delete(docName);
		await saveProjections(getDb(), due.map(([docName, { doc }]) => ({ patientId: docName.slice(4), projection: project(doc) })));
	} catch (error) {
		log('error', 'pps: projection failed', { error: String(error) });
	} finally {
		projecting = false;
	}
}

/**
 * @param options.redisUrl defaults to REDIS_URL (a test gives its own Redis, to stop it).
 * @param options.redisPrefix defaults to REDIS_PREFIX (tests keep to their own).
 */
export async function attachRealtime(server: HttpServer, options: { redisUrl?: string; redisPrefix?: string } = {}): Promise<Realtime> {
	// With REDIS_URL, several processes serve the same rooms and documents: socket.io through the
	// Redis streams adapter, Yjs through the relay, connection events through the bus.
	const redisUrl = options.redisUrl ?? config.redisUrl;
	const redis: RedisLink | null = redisUrl ? await connectRedis(redisUrl, options.redisPrefix ?? config.redisPrefix) : null;
	const available = () => redis?.up ?? true;
	// Facts the upgrades and handshakes authorise on; dropped by the bus events below, and entirely
	// whenever the link to Redis changes (events of other processes may have been missed).
	const cache = new AccessCache();
	redis?.onChange(() => cache.clear());
	const resolveMs = (id: string) => cache.microstructure(id, () => getMicrostructureRef(getDb(), id));
	// A patient's microstructure never changes (a transfer makes a new record): kept for the audit
	// rows of first edits, which then cost no query.
	const patientPlaces = new Map<string, MicrostructureRef>();
	// Read afresh for every upgrade (its care team decides), but the upgrades that arrive while a
	// read runs are read together in the next one: a storm of 500 editors costs a few statements.
	const patientReads = batched((ids: string[]) => resolvePatientRefs(getDb(), ids), UPGRADES_PER_BATCH);
	async function resolvePatient(id: string) {
		const patient = await patientReads.run(id);
		if (patient) {
			if (patientPlaces.size >= 10_000) patientPlaces.delete(patientPlaces.keys().next().value!);
			patientPlaces.set(id, patient.microstructure);
		}
		return patient;
	}
	const auditQueue = new AuditQueue(getDb, UPGRADES_PER_BATCH);
	/** Patient documents: opening one is a read of patient data, the first accepted edit a write. */
	async function auditPatientDoc(docName: string, userId: string, action: 'patient.read' | 'patient.pps_edited') {
		if (!docName.startsWith('pps:')) return;
		const place = patientPlaces.get(docName.slice(4)) ?? (await resolvePatient(docName.slice(4)))?.microstructure;
		await auditQueue.record(
			{ actorId: userId },
			{
				action,
				targetType: 'patient',
				targetId: docName.slice(4),
				microstructureId: place?.id ?? null,
				networkId: place?.networkId ?? null,
				details: { purpose: 'pps' }
			}
		);
	}
	const io = createSocketServer(config.maxMessageBytes, available, cache);
	if (redis) {
		const { createAdapter } = await import('@socket.io/redis-streams-adapter');
		io.adapter(
			createAdapter(redis.publisher, {
				streamName: `${redis.prefix}:socket.io`,
				channelPrefix: `${redis.prefix}:socket.io`,
				sessionKeyPrefix: `${redis.prefix}:sio-session:`,
				// A process that died is counted out within seconds, not the default 10 s; and before a
				// cross-process request (presence) gives up on it (5 s), which then answers with the
				// processes still alive instead of failing.
				heartbeatInterval: 1000,
				heartbeatTimeout: 3500
			})
		);
	}
	io.attach(server);

	const yjs = new YjsServer({
		relay: redis ? createYjsRelay(redis) : null,
		db: getDb,
		maxMessageBytes: config.maxMessageBytes,
		compactEvery: config.yjsCompactEvery,
		async authorize(req, docName) {
			// A PPS's patient is read while the session is (one round trip before the decision, not
			// two), for a request that carries a session token at all; it is only read, never sent.
			const pps = /^pps:([0-9a-f-]{36})$/.exec(docName);
			const patient = pps && requestSessionToken(req) ? resolvePatient(pps[1]) : null;
			patient?.catch(() => undefined);
			const auth = await authenticateRequest(req, cache);
			if (!auth) return { refused: 401 };
			const access = await docAccess(auth.actor, docName, resolveMs, patient ? () => patient : resolvePatient, resolveItem);
			// An unknown document and a document of someone else look the same.
			if (access === 'none') return { refused: 404 };
			// The document loads while its read is audited; nothing of it is sent before (yjs-server.ts).
			const audited = auditPatientDoc(docName, auth.user.id, 'patient.read');
			return { userId: auth.user.id, sessionId: auth.sessionId, access, audited };
		},
		async reauthorize(userId, docName) {
			return docAccess(await loadActor(getDb(), userId), docName, resolveMs, resolvePatient, resolveItem);
		},
		schema: docSchema,
		upgrade(docName, doc) {
			if (docName.startsWith('pps:')) upgrade(doc, 'upgrade');
		},
		onChange: scheduleProjection,
		onFirstWrite(docName, userId) {
			auditPatientDoc(docName, userId, 'patient.pps_edited').catch((error) => log('error', 'audit failed', { error: String(error) }));
		}
	});

	// socket.io rooms cross processes through its adapter; Yjs connections are closed by each process.
	const bus = await createBus(redis, async (event: BusEvent) => {
		switch (event.kind) {
			case 'sessions-ended':
				cache.sessionsEnded(event.sessionIds);
				return yjs.endSessions(new Set(event.sessionIds));
			case 'user-sessions-ended':
				cache.userChanged(event.userId);
				return yjs.disconnectUser(event.userId);
			case 'access-changed':
				cache.userChanged(event.userId);
				return yjs.reauthorizeUser(event.userId);
			case 'document-changed':
				return yjs.reauthorizeDocument(event.docName);
			case 'document-evicted':
				return yjs.evict(event.docName);
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

	// Expired sessions, disabled users, and any sign-out event a process missed.
	const sessionCheck = setInterval(() => {
		checkSessions(io, yjs, cache).catch((error) => log('error', 'session check failed', { error: String(error) }));
	}, SESSION_CHECK_MS);
	sessionCheck.unref();

	const unregister = registerLiveLayer({
		withDoc: async (docName, fn) => {
			// Redis away: no process holds documents open (each closed them), storage is the truth.
			if (!yjs.available) return withStoredDoc(docName, fn);
			const result = await yjs.withDoc(docName, fn);
			await yjs.flush(docName);
			return result;
		},
		patientChanged(patientId, by) {
			io.to(`patient:${patientId}`).emit('patient:changed', { patientId, by });
		},
		nudgeUsers(userIds) {
			for (const id of new Set(userIds)) io.to(`user:${id}`).emit('notification:new', {});
		},
		async accessChanged(userId) {
			await Promise.all([reauthorizeSockets(io, userId), bus.publish({ kind: 'access-changed', userId })]);
			// Open conversations re-check that they may still be read (a care team changed).
			io.to(`user:${userId}`).emit('msg:access', {});
		},
		documentChanged: (docName) => bus.publish({ kind: 'document-changed', docName }),
		evictDocument: (docName) => bus.publish({ kind: 'document-evicted', docName }),
		async sessionsEnded(sessionIds) {
			io.in(sessionIds.map(sessionRoom)).disconnectSockets(true);
			await bus.publish({ kind: 'sessions-ended', sessionIds });
		},
		async userSessionsEnded(userId) {
			io.in(`user:${userId}`).disconnectSockets(true);
			await bus.publish({ kind: 'user-sessions-ended', userId });
		},
		rcpChanged: (sessionId) => broadcastRcp(io, sessionId),
		async rcpStarted(sessionId) {
			await markConnectedPresent(io, sessionId);
			await broadcastRcp(io, sessionId);
		},
		async rcpClosed(sessionId, itemIds) {
			io.to(`rcp:${sessionId}`).emit('rcp:closed', { sessionId });
			// Case notes are read-only from now on: re-check their open connections.
			for (const id of itemIds) await bus.publish({ kind: 'document-changed', docName: `rcp-notes:${id}` });
		},
		rcpPresence: (sessionId) => rcpPresence(io, sessionId),
		bookingChanged(microstructureId, professionalId) {
			// Ids only: each page reads again what its user may see (booking.read was checked on join).
			const payload = { microstructureId, professionalId };
			io.to(bookingRoom(microstructureId)).emit('booking:changed', payload);
			io.to(`user:${professionalId}`).emit('booking:changed', payload);
		},
		emitToUsers(userIds, event, payload) {
			io.to([...new Set(userIds)].map((id) => `user:${id}`)).emit(event, payload);
		},
		available
	});

	return {
		io,
		yjs,
		checkSessions: () => checkSessions(io, yjs, cache),
		async close() {
			clearInterval(sessionCheck);
			unregister();
			await new Promise<void>((resolve) => io.close(() => resolve()));
			await yjs.close();
			await auditQueue.drain();
			await bus.close();
			await redis?.close();
		}
	};
}

/** Ends this process's live connections whose session is gone (expired, deleted, user disabled). */
async function checkSessions(io: IoServer, yjs: YjsServer, cache: AccessCache): Promise<void> {
	const ids = await yjs.sessionIds();
	for (const socket of io.of('/').sockets.values()) {
		const sessionId = (socket.data as { sessionId?: string }).sessionId;
		if (sessionId) ids.add(sessionId);
	}
	if (ids.size === 0) return;
	const valid = await stillValidSessions(getDb(), [...ids]);
	const ended = [...ids].filter((id) => !valid.has(id));
	if (ended.length === 0) return;
	cache.sessionsEnded(ended);
	io.local.in(ended.map(sessionRoom)).disconnectSockets(true);
	await yjs.endSessions(new Set(ended));
}
