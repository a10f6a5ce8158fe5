// socket.io, authenticated by the session cookie. Every socket is in its user's room; it may join
// the room of a microstructure it can see, where presence ("qui est en ligne") is broadcast.
// Every event payload is validated; a bad one is answered with a French error, nothing else.
import { Server, type Socket } from 'socket.io';
import { z } from 'zod';
import { getDb } from '../db/index.ts';
import { can, loadActor, roomAccess } from '../access/policy.ts';
import { getMicrostructureRef } from '../org/microstructures.ts';
import { authenticateRequest, originAllowed } from './authenticate.ts';
import type { AccessCache } from './access-cache.ts';
import { openPatient } from '../patients/patients.ts';
import { log } from '../log.ts';
import { hasUncleanText } from '../input.ts';
import { addSecurityHeaders } from '../security-headers.ts';
import { resolveRcpSession } from '../rcp/sessions.ts';
import { RCP_EVENTS, rcpRoomSession, registerRcpHandlers, announceRcpPresence } from './rcp-socket.ts';
import { latest } from './latest.ts';
import { MESSAGING_EVENTS, registerMessagingHandlers } from './messaging-socket.ts';
import { TOO_MANY_EVENTS } from '../../realtime/limits.ts';

export interface SocketUser {
	id: string;
	name: string;
	profession: string;
}

interface SocketData {
	user: SocketUser;
	/** The session the socket was opened with: signing out disconnects it. */
	sessionId: string;
}

/** Every socket is in its session's room, so that ending a session reaches it in any process. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

type AppSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>;
type Ack = (response: { ok: true; [key: string]: unknown } | { ok: false; error: string }) => void;

const msPayload = z.object({ microstructureId: z.uuid() }).strict();
const patientPayload = z.object({ microstructureId: z.uuid(), patientId: z.uuid() }).strict();

const resolveMs = (id: string) => getMicrostructureRef(getDb(), id);
const resolveRcp = (sessionId: string, userId: string) => resolveRcpSession(getDb(), sessionId, userId);
const KNOWN_EVENTS = new Set(['ms:join', 'ms:leave', 'patient:watch', 'booking:join', 'booking:leave', ...RCP_EVENTS, ...MESSAGING_EVENTS]);

/**
 * The booking screens of a microstructure: told (ids only) when a slot is taken or freed. Joined
 * only by whoever may read its agenda (booking.read), re-checked when their access changes.
 */
export const bookingRoom = (microstructureId: string) => `booking:${microstructureId}`;

/**
 * @param available false while this process cannot serve live connections (Redis, shared by the
 *   processes, unreachable): new connections are refused and go to another process.
 */
export function createSocketServer(maxMessageBytes: number, available: () => boolean = () => true, cache?: AccessCache): Server {
	const io = new Server({
		path: '/socket.io',
		serveClient: false,
		maxHttpBufferSize: maxMessageBytes,
		// A phone that loses its network drops out of presence and the RCP quorum within ~15 s,
		// not the default ~45 s.
		pingInterval: 10_000,
		pingTimeout: 5_000,
		// Leave upgrades on other paths (Yjs, Vite HMR) to their owners.
		destroyUpgrade: false,
		allowRequest: (req, callback) => callback(null, available() && originAllowed(req)),
		// A phone that lost its network for a moment, or whose process died, gets back its rooms and
		// the events it missed, in whichever process it reaches (the streams adapter keeps them in
		// Redis). The session is checked again all the same, and its rooms too (recheckRooms).
		connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false }
	});
	// engine.io exists once the server is attached: its answers (polling and the websocket
	// upgrade) get the same security headers as the pages.
	const bind = io.bind.bind(io);
	io.bind = (engine) => {
		engine.on('headers', addSecurityHeaders);
		return bind(engine);
	};

	io.use(async (socket, next) => {
		try {
			const auth = await authenticateRequest(socket.request, cache);
			if (!auth) return next(new Error('Non authentifié'));
			socket.data.user = {
				id: auth.user.id,
				name: `${auth.user.first_name} ${auth.user.last_name}`,
				profession: auth.user.profession
			};
			socket.data.sessionId = auth.sessionId;
			next();
		} catch (error) {
			log('error', 'socket: handshake failed', { error: String(error) });
			next(new Error('Erreur serveur'));
		}
	});

	// A connected user's memberships, for their events (each message sent asks it): from the cache,
	// which every change of memberships drops (access-changed), or read again.
	const actorOf = (userId: string) => (cache ? cache.actor(userId, () => loadActor(getDb(), userId)) : loadActor(getDb(), userId));

	io.on('connection', (socket: AppSocket) => {
		socket.join([`user:${socket.data.user.id}`, sessionRoom(socket.data.sessionId)]);
		// Rooms restored with the connection's state were granted before it dropped: access may have
		// changed meanwhile.
		if (socket.recovered) {
			loadActor(getDb(), socket.data.user.id)
				.then((actor) => recheckRooms(io, actor, [socket]))
				.catch((error) => log('error', 'socket: recovered rooms not checked', { error: String(error) }));
		}

		on(socket, 'ms:join', msPayload, async ({ microstructureId }) => {
			const room = `ms:${microstructureId}`;
			const actor = await loadActor(getDb(), socket.data.user.id);
			// Same answer for "does not exist" and "not yours": existence is not revealed.
			if (!(await roomAccess(actor, room, resolveMs))) return { ok: false, error: 'Microstructure introuvable.' };
			await socket.join(room);
			return { ok: true, online: await announcePresence(io, room) };
		});

		on(socket, 'ms:leave', msPayload, async ({ microstructureId }) => {
			const room = `ms:${microstructureId}`;
			await socket.leave(room);
			await announcePresence(io, room);
			return { ok: true };
		});

		// Follow a patient record live (another professional records a step): same rules as the
		// page, and the same answer for "no such patient" and "not yours". The read is audited.
		on(socket, 'patient:watch', patientPayload, async ({ microstructureId, patientId }) => {
			const db = getDb();
			const actor = await loadActor(db, socket.data.user.id);
			const ms = await resolveMs(microstructureId);
			const patient = ms ? await openPatient(db, { actorId: actor.userId, ip: socket.handshake.address }, actor, ms, patientId, 'live') : undefined;
			if (!patient) return { ok: false, error: 'Patient introuvable.' };
			await socket.join(`patient:${patient.id}`);
			return { ok: true, state: patient.state };
		});

		on(socket, 'booking:join', msPayload, async ({ microstructureId }) => {
			const actor = await loadActor(getDb(), socket.data.user.id);
			const ms = await resolveMs(microstructureId);
			// Same answer for "does not exist" and "not yours".
			if (!ms || !can(actor, 'booking.read', { microstructure: ms })) return { ok: false, error: 'Microstructure introuvable.' };
			await socket.join(bookingRoom(microstructureId));
			return { ok: true };
		});

		on(socket, 'booking:leave', msPayload, async ({ microstructureId }) => {
			await socket.leave(bookingRoom(microstructureId));
			return { ok: true };
		});

		registerRcpHandlers(io, socket, on);
		registerMessagingHandlers(socket, on, actorOf, cache?.known);

		socket.onAny((event: string, ...args: unknown[]) => {
			if (KNOWN_EVENTS.has(event)) return;
			const ack = args.at(-1);
			if (typeof ack === 'function') (ack as Ack)({ ok: false, error: 'Événement inconnu.' });
		});

		socket.on('disconnecting', () => {
			const rooms = [...socket.rooms].filter((r) => r.startsWith('ms:'));
			const sessions = [...socket.rooms].filter((r) => r.startsWith('rcp:')).map((r) => r.slice(4));
			// After the socket has left its rooms, tell the others who is still there; once more a
			// moment later, so that a list computed while this socket was still counted somewhere (a
			// process's answer in flight) is corrected without waiting for the next change.
			const announce = () => {
				for (const room of rooms) void announcePresence(io, room);
				for (const sessionId of sessions) void announceRcpPresence(io, sessionId);
			};
			socket.once('disconnect', () => {
				setImmediate(announce);
				setTimeout(announce, PRESENCE_RECHECK_MS).unref();
			});
		});
	});

	return io;
}

/**
 * How many events of one person run at once in a process, and how many more may wait. Every event
 * reads the database: without a bound, one signed-in socket sending 3,000 `msg:list` filled the
 * pool's queue and every other person's pages and events waited seconds behind it. Beyond the
 * waiting line an event is refused at once, which costs nothing.
 */
export const EVENTS_RUNNING_PER_PERSON = 4;
export const EVENTS_WAITING_PER_PERSON = 200;

/** One person's events in this process: how many run, and the ones waiting their turn (in order). */
interface Turns {
	running: number;
	waiting: (() => void)[];
}
const turnsByPerson = new Map<string, Turns>();

/** Runs `work` in its person's turn; null when their waiting line is full (nothing runs). */
async function inTurn<R>(person: string, work: () => Promise<R>): Promise<R | null> {
	let turns = turnsByPerson.get(person);
	if (!turns) turnsByPerson.set(person, (turns = { running: 0, waiting: [] }));
	if (turns.running >= EVENTS_RUNNING_PER_PERSON) {
		if (turns.waiting.length >= EVENTS_WAITING_PER_PERSON) return null;
		await new Promise<void>((resolve) => turns.waiting.push(resolve));
	} else {
		turns.running++;
	}
	try {
		return await work();
	} finally {
		// The place goes to the next one waiting, else it is freed (and an idle person forgotten).
		const next = turns.waiting.shift();
		if (next) next();
		else if (--turns.running === 0) turnsByPerson.delete(person);
	}
}

export function on<T>(socket: Socket, event: string, schema: z.ZodType<T>, handler: (payload: T) => Promise<Parameters<Ack>[0]>): void {
	const person = (socket.data as Partial<SocketData>).user?.id ?? socket.id;
	(socket as Socket).on(event, async (...args: unknown[]) => {
		// The acknowledgement, when there is one, is the last argument (the only one without payload).
		const ack = typeof args.at(-1) === 'function' ? (args.pop() as Ack) : undefined;
		const payload = args[0];
		const reply: Ack = ack ?? ((r) => !r.ok && (socket as Socket).emit('erreur', { event, error: r.error }));
		// The same text rule as forms (no NUL, lone surrogate or control character), for every event.
		if (hasUncleanText(payload)) return reply({ ok: false, error: 'Requête invalide.' });
		const parsed = schema.safeParse(payload);
		if (!parsed.success) return reply({ ok: false, error: 'Requête invalide.' });
		try {
			const answer = await inTurn(person, () => handler(parsed.data));
			reply(answer ?? { ok: false, error: TOO_MANY_EVENTS });
		} catch (error) {
			log('error', 'socket: handler failed', { event, error: String(error) });
			reply({ ok: false, error: 'Erreur serveur, réessayez.' });
		}
	});
}

/** A second presence broadcast after a departure (see 'disconnecting'). */
const PRESENCE_RECHECK_MS = 2000;

/** Tells a microstructure room who is online now (in order: see latest.ts); returns that list. */
function announcePresence(io: Server, room: string): Promise<SocketUser[]> {
	return latest(`presence:${room}`, async () => {
		const online = await presence(io, room);
		io.to(room).emit('ms:presence', { microstructureId: room.slice(3), online });
		return online;
	});
}

async function presence(io: Server, room: string): Promise<SocketUser[]> {
	const sockets = await io.in(room).fetchSockets();
	const users = new Map<string, SocketUser>();
	for (const s of sockets) {
		const user = (s.data as SocketData).user;
		if (user) users.set(user.id, user);
	}
	return [...users.values()].sort((a, b) => a.name.localeCompare(b.name, 'fr'));
}

/** Makes a user's sockets leave the microstructure and patient rooms they may no longer see. */
export async function reauthorizeSockets(io: Server, userId: string): Promise<void> {
	const actor = await loadActor(getDb(), userId);
	await recheckRooms(io, actor, await io.in(`user:${userId}`).fetchSockets());
}

/** Makes these sockets of one user leave the rooms the user may no longer be in, and says so. */
async function recheckRooms(io: Server, actor: Awaited<ReturnType<typeof loadActor>>, sockets: { rooms: Set<string>; leave(room: string): unknown }[]): Promise<void> {
	const left = new Set<string>();
	for (const socket of sockets) {
		for (const room of socket.rooms) {
			const session = rcpRoomSession(room);
			const checked = session ? `rcp:${session}` : room;
			if ((room.startsWith('ms:') || session) && !(await roomAccess(actor, checked, resolveMs, resolveRcp))) {
				socket.leave(room);
				left.add(room);
			}
			// Patient rooms are re-joined by the page, which checks again; leaving is always safe.
			if (room.startsWith('patient:')) socket.leave(room);
			if (room.startsWith('booking:')) {
				const ms = await resolveMs(room.slice('booking:'.length));
				if (!ms || !can(actor, 'booking.read', { microstructure: ms })) socket.leave(room);
			}
		}
	}
	for (const room of left) {
		const session = rcpRoomSession(room);
		if (session) await announceRcpPresence(io, session);
		else await announcePresence(io, room);
	}
}
