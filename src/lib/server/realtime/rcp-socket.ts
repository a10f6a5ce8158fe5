// The live RCP over socket.io: joining a session (as participant in the room or remote, or as an
// observer), presence, the "now discussing" pointer, attendance and decisions. Every payload is
// validated; every action asks the policy; guests receive only the items they are invited to.
// Attendance is the domain's (rcp/live.ts): this module only tells it when a participant connection
// joins, is still there (every PRESENCE_HEARTBEAT_SECONDS) and leaves.
import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import { sql } from 'kysely';
import { getDb } from '../db/index.ts';
import { loadActor, rcpAccess, type RcpSessionRef } from '../access/policy.ts';
import { auditAll } from '../audit/audit.ts';
import { resolveRcpSession } from '../rcp/sessions.ts';
import { liveState, markJoined, markLeft, markPresent, movePointer, recordDecision, setAttendance, stateFor, stateForGuest, takeAnimation } from '../rcp/live.ts';
import { decisionInput } from '../rcp/decisions.ts';
import type { RcpPresence } from '../live.ts';
import { PRESENCE_HEARTBEAT_SECONDS } from '../../rcp/attendance.ts';
import { log } from '../log.ts';
import { latest } from './latest.ts';

export type RcpMode = RcpPresence['mode'];

/** What a socket remembers about each session it joined (readable across nodes with Redis). */
export type RcpMemberships = Record<string, { mode: RcpMode; place: 'present' | 'distance' }>;

type Handler = <T>(socket: Socket, event: string, schema: z.ZodType<T>, handler: (payload: T) => Promise<{ ok: true; [key: string]: unknown } | { ok: false; error: string }>) => void;

const session = z.object({ sessionId: z.uuid() }).strict();
const join = z.object({ sessionId: z.uuid(), mode: z.enum(['participant', 'observateur']), place: z.enum(['present', 'distance']) }).strict();
const pointer = z.object({ sessionId: z.uuid(), itemId: z.uuid() }).strict();
const attendance = z.object({ sessionId: z.uuid(), userId: z.uuid(), attendance: z.enum(['present', 'distance', 'excuse', 'absent']) }).strict();
const decide = z.object({ sessionId: z.uuid(), itemId: z.uuid(), decision: decisionInput }).strict();

export const RCP_EVENTS = ['rcp:join', 'rcp:leave', 'rcp:pointer', 'rcp:animate', 'rcp:attendance', 'rcp:decide'];

const NOT_FOUND = { ok: false as const, error: 'RCP introuvable.' };
// Everyone in the session (presence, closing); the team (full state); each guest (filtered state).
// Broadcasting to rooms, rather than socket by socket, needs no round trip to other nodes.
const room = (sessionId: string) => `rcp:${sessionId}`;
const teamRoom = (sessionId: string) => `rcp-team:${sessionId}`;
const guestRoom = (sessionId: string, userId: string) => `rcp-guest:${sessionId}:${userId}`;

/** The session a room of this module belongs to, if it is one. */
export function rcpRoomSession(name: string): string | null {
	const m = /^rcp(?:-team)?:([0-9a-f-]{36})$/.exec(name) ?? /^rcp-guest:([0-9a-f-]{36}):/.exec(name);
	return m ? m[1] : null;
}

function memberships(socket: Socket): RcpMemberships {
	return ((socket.data as { rcp?: RcpMemberships }).rcp ??= {});
}

/** The actor's current access to the session (re-read on each action: memberships change). */
async function access(socket: Socket, sessionId: string) {
	const db = getDb();
	const userId = (socket.data as { user: { id: string } }).user.id;
	const [actor, ref] = await Promise.all([loadActor(db, userId), resolveRcpSession(db, sessionId, userId)]);
	if (!ref) return null;
	const a = rcpAccess(actor, ref);
	if (a.level === 'none') return null;
	return { actor, ref, access: a, ms: ref.microstructure };
}

/** Does this person have another participant connection to the session (in any process)? */
async function otherParticipantConnection(io: Server, sessionId: string, userId: string, exceptSocketId: string): Promise<boolean> {
	for (const s of await io.in(room(sessionId)).fetchSockets()) {
		const data = s.data as { user?: { id: string }; rcp?: RcpMemberships };
		if (s.id !== exceptSocketId && data.user?.id === userId && data.rcp?.[sessionId]?.mode === 'participant') return true;
	}
	return false;
}

export function registerRcpHandlers(io: Server, socket: Socket, onAny: Handler): void {
	const user = (socket.data as { user: { id: string; name: string; profession: string } }).user;
	// A page's actions apply in the order it sent them, each once the one before is done: a
	// decision clicked while the page's join is still being recorded waits for it, and so counts its
	// author present (without this, the decision could find them not seen yet).
	let previous: Promise<unknown> = Promise.resolve();
	const on: Handler = (s, event, schema, handler) =>
		onAny(s, event, schema, (payload) => {
			const run = previous.then(() => handler(payload));
			previous = run.catch(() => undefined);
			return run;
		});
	const ctx = () => ({ actorId: user.id, ip: socket.handshake.address });

	/** This connection stops taking part in the session (left, turned observer, disconnected). */
	async function leftAsParticipant(sessionId: string) {
		const stillThere = await otherParticipantConnection(io, sessionId, user.id, socket.id);
		if (await markLeft(getDb(), sessionId, user.id, stillThere)) await broadcastRcp(io, sessionId);
	}

	// Each participant connection is seen again regularly, so that its time adds up in the database.
	let heartbeat: ReturnType<typeof setInterval> | null = null;
	function beat() {
		heartbeat ??= setInterval(async () => {
			for (const [sessionId, m] of Object.entries(memberships(socket))) {
				// Out of the room (access withdrawn meanwhile): no longer taking part.
				if (m.mode !== 'participant' || !socket.rooms.has(room(sessionId))) continue;
				try {
					if (await markPresent(getDb(), sessionId, user.id, m.place)) await broadcastRcp(io, sessionId);
				} catch (error) {
					log('error', 'rcp: presence not recorded', { error: String(error) });
				}
			}
		}, PRESENCE_HEARTBEAT_SECONDS * 1000);
	}
	socket.on('disconnecting', () => {
		if (heartbeat) clearInterval(heartbeat);
		const left = Object.entries(memberships(socket)).filter(([, m]) => m.mode === 'participant').map(([sessionId]) => sessionId);
		for (const sessionId of left) leftAsParticipant(sessionId).catch((error) => log('error', 'rcp: departure not recorded', { error: String(error) }));
	});

	on(socket, 'rcp:join', join, async ({ sessionId, mode, place }) => {
		const a = await access(socket, sessionId);
		if (!a) return NOT_FOUND;
		const team = a.access.level === 'team';
		await socket.join([room(sessionId), team ? teamRoom(sessionId) : guestRoom(sessionId, user.id)]);
		const previous = memberships(socket)[sessionId];
		memberships(socket)[sessionId] = { mode, place };
		// On the sheet as soon as they open the live session; their time counts while they take part.
		if (mode === 'participant') {
			await markPresent(getDb(), sessionId, user.id, place);
			beat();
		} else {
			await markJoined(getDb(), sessionId, user.id);
			if (previous?.mode === 'participant') await leftAsParticipant(sessionId);
		}
		const state = await liveState(getDb(), sessionId);
		if (!state) return NOT_FOUND;
		// A guest reads only the cases they are invited to: only those are audited as read.
		const visible = stateFor(state, a.ref, team);
		await auditRead(user.id, socket.handshake.address, a.ref, visible.items.map((i) => i.patientId));
		await broadcastRcp(io, sessionId);
		return { ok: true, state: visible, online: await announceRcpPresence(io, sessionId) };
	});

	on(socket, 'rcp:leave', session, async ({ sessionId }) => {
		const was = memberships(socket)[sessionId];
		for (const r of [...socket.rooms]) if (rcpRoomSession(r) === sessionId) await socket.leave(r);
		delete memberships(socket)[sessionId];
		if (was?.mode === 'participant') await leftAsParticipant(sessionId);
		await announceRcpPresence(io, sessionId);
		return { ok: true };
	});

	on(socket, 'rcp:animate', session, async ({ sessionId }) => {
		const a = await access(socket, sessionId);
		if (!a || !socket.rooms.has(room(sessionId))) return NOT_FOUND;
		if (a.access.level !== 'team' || a.access.readOnly) return { ok: false, error: "Vous ne pouvez pas animer cette RCP." };
		if (!(await takeAnimation(getDb(), sessionId, user.id))) return { ok: false, error: "La RCP n'est pas en cours." };
		await broadcastRcp(io, sessionId);
		return { ok: true };
	});

	on(socket, 'rcp:pointer', pointer, async ({ sessionId, itemId }) => {
		const a = await access(socket, sessionId);
		if (!a || !socket.rooms.has(room(sessionId))) return NOT_FOUND;
		if (a.access.level !== 'team') return { ok: false, error: "Vous ne pouvez pas animer cette RCP." };
		const moved = await movePointer(getDb(), sessionId, user.id, itemId);
		if (!moved.ok) return moved;
		io.to(teamRoom(sessionId)).emit('rcp:pointer', { sessionId, itemId, since: moved.since, serverNow: new Date().toISOString(), discussed: moved.discussed });
		for (const g of moved.guests) {
			io.to(guestRoom(sessionId, g.userId)).emit('rcp:pointer', {
				sessionId,
				itemId: g.itemIds.includes(itemId) ? itemId : null,
				since: moved.since,
				serverNow: new Date().toISOString(),
				discussed: moved.discussed.filter((d) => g.itemIds.includes(d.id))
			});
		}
		return { ok: true, since: moved.since };
	});

	on(socket, 'rcp:attendance', attendance, async (p) => {
		const a = await access(socket, p.sessionId);
		if (!a || !socket.rooms.has(room(p.sessionId))) return NOT_FOUND;
		if (a.access.level !== 'team' || a.access.readOnly) return { ok: false, error: 'Vous ne pouvez pas modifier la feuille de présence.' };
		if (!(await setAttendance(getDb(), p.sessionId, p.userId, p.attendance, user.id))) return { ok: false, error: 'Participant introuvable ou RCP non commencée.' };
		await broadcastRcp(io, p.sessionId);
		return { ok: true };
	});

	on(socket, 'rcp:decide', decide, async ({ sessionId, itemId, decision }) => {
		const a = await access(socket, sessionId);
		if (!a || !socket.rooms.has(room(sessionId))) return NOT_FOUND;
		if (a.access.level !== 'team' || a.access.readOnly) return { ok: false, error: 'Vous ne pouvez pas décider dans cette RCP.' };
		const result = await recordDecision(getDb(), ctx(), a.ms, sessionId, itemId, decision, user.name);
		if (!result.ok) return result;
		// Those there when it was taken now count as present on the sheet.
		if (result.attendanceChanged) await broadcastRcp(io, sessionId);
		// The change alone, at once; guests only when the case is one of theirs.
		io.to(teamRoom(sessionId)).emit('rcp:decision', { sessionId, item: result.change });
		const guests = await getDb().selectFrom('rcp_participant').select('user_id').where('session_id', '=', sessionId).where('kind', '=', 'invite').where(sql<boolean>`${itemId}::uuid = any(item_ids)`).execute();
		for (const g of guests) io.to(guestRoom(sessionId, g.user_id)).emit('rcp:decision', { sessionId, item: result.change });
		return { ok: true };
	});
}

/** Reading a session's agenda reads its patients: one audit line per patient. */
async function auditRead(userId: string, ip: string, ref: RcpSessionRef, patientIds: (string | null)[]) {
	const ms = ref.microstructure;
	await auditAll(
		getDb(),
		{ actorId: userId, ip },
		patientIds.filter((id): id is string => id !== null).map((id) => ({ action: 'patient.read', targetType: 'patient', targetId: id, microstructureId: ms.id, networkId: ms.networkId, details: { purpose: 'rcp' } }))
	);
}

/**
 * Sends the session's state to everyone in it: the team in full, each guest their items. In order
 * (see latest.ts), so a slower read never overwrites a newer state on the screens.
 */
export function broadcastRcp(io: Server, sessionId: string): Promise<void> {
	return latest(`rcp-state:${sessionId}`, async () => {
		const state = await liveState(getDb(), sessionId);
		if (!state) return;
		io.to(teamRoom(sessionId)).emit('rcp:state', { sessionId, state });
		for (const p of state.participants) {
			if (p.kind === 'invite') io.to(guestRoom(sessionId, p.userId)).emit('rcp:state', { sessionId, state: stateForGuest(state, p.itemIds) });
		}
	});
}

/** Tells a session's room who is connected now (in order: see latest.ts); returns that list. */
export function announceRcpPresence(io: Server, sessionId: string): Promise<RcpPresence[]> {
	return latest(`rcp-presence:${sessionId}`, async () => {
		const online = await rcpPresence(io, sessionId);
		io.to(room(sessionId)).emit('rcp:presence', { sessionId, online });
		return online;
	});
}

/** Who is connected to a session, once per person (a participant tab wins over an observer tab). */
export async function rcpPresence(io: Server, sessionId: string): Promise<RcpPresence[]> {
	const sockets = await io.in(room(sessionId)).fetchSockets();
	const people = new Map<string, RcpPresence>();
	for (const s of sockets) {
		const data = s.data as { user?: { id: string; name: string; profession: string }; rcp?: RcpMemberships };
		const m = data.rcp?.[sessionId];
		if (!data.user || !m) continue;
		const previous = people.get(data.user.id);
		if (previous?.mode === 'participant') continue;
		people.set(data.user.id, { userId: data.user.id, name: data.user.name, profession: data.user.profession, mode: m.mode, place: m.place });
	}
	return [...people.values()].sort((a, b) => a.name.localeCompare(b.name, 'fr'));
}

/**
 * At the start of a session, everyone already in it goes on the sheet and the time of those taking
 * part starts to count.
 */
export async function markConnectedPresent(io: Server, sessionId: string): Promise<void> {
	for (const s of await io.in(room(sessionId)).fetchSockets()) {
		const data = s.data as { user?: { id: string }; rcp?: RcpMemberships };
		const m = data.rcp?.[sessionId];
		if (!data.user || !m) continue;
		await markJoined(getDb(), sessionId, data.user.id);
		if (m.mode === 'participant') await markPresent(getDb(), sessionId, data.user.id, m.place);
	}
}
