// Messaging over real sockets: the app's socket.io server (attachRealtime) on a real http.Server and a
// real database, socket.io clients signed in with real sessions. Each person may have several tabs.
// What is checked is what the issue promises: a message is acknowledged after its commit and reaches
// every tab of exactly the people who may read the conversation; a client id is posted once whatever
// the concurrency; the order is the server's and every client sees it; catching up after a
// reconnection; read positions that only move forward and exact unread counts across devices; bad
// input refused in French with nothing stored; corrections within 15 minutes with the original in
// the audit trail; a care-team change taking the thread away live.
process.env.LOG_LEVEL = 'silent';

import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { sessionCookie, startRealtimeServer, stopRealtimeServer, waitUntil, withTimeout } from '../helpers/realtime.ts';
import { createPractice, createPatient, createUser, type Practice } from '../helpers/booking-fixture.ts';
import type { Realtime } from '../../src/lib/server/realtime/attach.ts';
import { addMembership, endMembership } from '../../src/lib/server/org/memberships.ts';
import { patientThreadId, teamConversationId } from '../../src/lib/server/messaging/conversations.ts';
import { setCareTeam } from '../../src/lib/server/patients/patients.ts';
import { reauthorizeUser } from '../../src/lib/server/live.ts';
import { settleNotifications } from '../../src/lib/server/messaging/notify.ts';
import { config } from '../../src/lib/server/config.ts';
import { EVENTS_RUNNING_PER_PERSON, EVENTS_WAITING_PER_PERSON } from '../../src/lib/server/realtime/socket.ts';
import { TOO_MANY_EVENTS } from '../../src/lib/realtime/limits.ts';
import { linkTarget, parseShareRequest, shareable } from '../../src/lib/server/messaging/links.ts';
import { loadActor } from '../../src/lib/server/access/policy.ts';
import type { MessagePayload } from '../../src/lib/server/messaging/messages.ts';
import type { Profession, MembershipRole } from '../../src/lib/server/db/schema.ts';

let t: TestDb;
let server: Server;
let realtime: Realtime;
let httpBase: string;
const sockets: ClientSocket[] = [];

// People of microstructure A (network 1): the patient's care team (gp, psy, ts), a GP outside it,
// the secretariat, A's coordination; the network's medical coordinator; a clinician of C (network 2).
const PEOPLE = {
	gp: { profession: 'medecin_generaliste', last: 'Haddad', in: 'A', role: 'soignant' },
	gp2: { profession: 'medecin_generaliste', last: 'Schmitt', in: 'A', role: 'soignant' },
	psy: { profession: 'psychologue', last: 'Durand', in: 'A', role: 'soignant' },
	ts: { profession: 'travailleur_social', last: 'Mansouri', in: 'A', role: 'soignant' },
	secr: { profession: 'secretariat', last: 'Benali', in: 'A', role: 'secretariat' },
	coord: { profession: 'medecin_generaliste', last: 'Weber', in: 'A', role: 'coordination' },
	netCoord: { profession: 'medecin_generaliste', last: 'Klein', in: 'NET1', role: 'coordination_medicale' },
	outsider: { profession: 'medecin_generaliste', last: 'Hoffmann', in: 'C', role: 'soignant' }
} satisfies Record<string, { profession: Profession; last: string; in: 'A' | 'C' | 'NET1'; role: MembershipRole }>;
type Who = keyof typeof PEOPLE;

const users = {} as Record<Who, string>;
const cookies = {} as Record<Who, string>;
let A: Practice;
let C: { networkId: string; microstructureId: string };
let patient: string;
let closedPatient: string;
/** Conversations: the patient's thread, A's team, C's team, a closed patient's thread. */
const conv = { thread: '', teamA: '', teamC: '', closed: '' };

beforeAll(async () => {
	t = await createSharedTestDb();
	const a = await createPractice(t.db, 'A');
	A = a;
	const c = await createPractice(t.db, 'C');
	C = c;
	for (const [who, p] of Object.entries(PEOPLE) as [Who, (typeof PEOPLE)[Who]][]) {
		users[who] = (await createUser(t.db, p.profession, p.last, who)).id;
		if (p.in === 'NET1') await addMembership(t.db, { userId: users[who], networkId: a.networkId, role: p.role, createdBy: null });
		else await addMembership(t.db, { userId: users[who], microstructureId: (p.in === 'A' ? a : c).microstructureId, role: p.role, createdBy: null });
		cookies[who] = await sessionCookie(t.db, users[who]);
	}
	patient = (await createPatient(t.db, a, { lastName: 'Lefebvre', firstName: 'Josiane' })).id;
	await t.db.insertInto('patient_team_member').values(['gp', 'psy', 'ts'].map((w) => ({ patient_id: patient, user_id: users[w as Who] }))).execute();
	closedPatient = (await createPatient(t.db, a, { lastName: 'Sortie', firstName: 'Ada' })).id;
	await t.db.updateTable('patient').set({ state: 'sorti', exited_on: '2026-02-01', exit_reason: 'amelioration' } as never).where('id', '=', closedPatient).execute();
	await t.db.insertInto('patient_team_member').values({ patient_id: closedPatient, user_id: users.gp }).execute();
	conv.thread = await patientThreadId(t.db, patient, a.microstructureId);
	conv.closed = await patientThreadId(t.db, closedPatient, a.microstructureId);
	conv.teamA = await teamConversationId(t.db, a.microstructureId);
	conv.teamC = await teamConversationId(t.db, c.microstructureId);
	let port: number;
	({ server, realtime, port } = await startRealtimeServer());
	httpBase = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
	for (const s of sockets) s.disconnect();
	await settleNotifications();
	await stopRealtimeServer(realtime, server);
	await t?.close();
});

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

interface Tab {
	who: Who;
	socket: ClientSocket;
	received: MessagePayload[];
	updated: MessagePayload[];
	unread: { conversationId: string; total: number }[];
	reads: { conversationId: string; userId: string; seq: number }[];
	access: number;
}

type Ack = { ok: true; [key: string]: unknown } | { ok: false; error: string };

async function tab(who: Who): Promise<Tab> {
	const socket = ioClient(httpBase, { transports: ['websocket'], extraHeaders: { Cookie: cookies[who] }, reconnection: false, forceNew: true, timeout: 5000 });
	sockets.push(socket);
	const t: Tab = { who, socket, received: [], updated: [], unread: [], reads: [], access: 0 };
	socket.on('msg:new', (m: MessagePayload) => t.received.push(m));
	socket.on('msg:updated', (m: MessagePayload) => t.updated.push(m));
	socket.on('msg:unread', (u: Tab['unread'][number]) => t.unread.push(u));
	socket.on('msg:read', (r: Tab['reads'][number]) => t.reads.push(r));
	socket.on('msg:access', () => t.access++);
	await withTimeout(
		new Promise<void>((resolve, reject) => {
			socket.once('connect', () => resolve());
			socket.once('connect_error', reject);
		}),
		`${who} connected`
	);
	return t;
}

async function call(tab: Tab, event: string, payload: unknown): Promise<Ack> {
	return (await tab.socket.timeout(10_000).emitWithAck(event, payload)) as Ack;
}

const send = (from: Tab, conversationId: string, body: string, extra: Record<string, unknown> = {}) => call(from, 'msg:send', { conversationId, clientId: randomUUID(), body, ...extra });

function sent(ack: Ack): MessagePayload {
	if (!ack.ok) throw new Error(`refused: ${ack.error}`);
	return ack.message as MessagePayload;
}

const countMessages = async (conversationId?: string) =>
	Number(
		(
			await t.db
				.selectFrom('message')
				.select(sql<string>`count(*)`.as('n'))
				.$if(conversationId !== undefined, (q) => q.where('conversation_id', '=', conversationId!))
				.executeTakeFirstOrThrow()
		).n
	);

/**
 * Everything the server sent to `tab` before now has arrived: `tab`'s person posts in a
 * conversation of their own and waits for its msg:new (emits to one socket arrive in order).
 */
async function barrier(tab: Tab): Promise<void> {
	const own = tab.who === 'outsider' ? conv.teamC : conv.teamA;
	const m = sent(await send(tab, own, `barrière ${randomUUID()}`));
	await waitUntil(() => tab.received.some((r) => r.id === m.id), `${tab.who}: barrier`);
}

/** A group conversation of these people, written straight in the database (starting groups is tested elsewhere). */
async function group(members: Who[]): Promise<string> {
	const row = await t.db.insertInto('conversation').values({ kind: 'group', title: 'Groupe de test', created_by: users[members[0]] }).returning('id').executeTakeFirstOrThrow();
	await t.db.insertInto('conversation_member').values(members.map((w) => ({ conversation_id: row.id, user_id: users[w] }))).execute();
	return row.id;
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

describe('delivery', () => {
	test('acknowledged after the commit, delivered to every tab of every reader and to nobody else', async () => {
		const [gp, psy1, psy2, ts, coord, netCoord, secr, gp2, outsider] = await Promise.all(
			(['gp', 'psy', 'psy', 'ts', 'coord', 'netCoord', 'secr', 'gp2', 'outsider'] as Who[]).map((w) => tab(w))
		);
		const gpOtherTab = await tab('gp');
		const ack = await send(gp, conv.thread, 'Mme Lefebvre a rappelé : rendez-vous avancé à jeudi.');
		const m = sent(ack);
		// The acknowledgement comes after the commit: the row is there the moment it is received.
		const stored = await t.db.selectFrom('message').selectAll().where('id', '=', m.id).executeTakeFirst();
		expect(stored?.body).toBe('Mme Lefebvre a rappelé : rendez-vous avancé à jeudi.');
		expect(stored?.sender_id).toBe(users.gp);
		expect(m).toMatchObject({ conversationId: conv.thread, senderId: users.gp, seq: Number(stored!.seq), body: stored!.body, deletedAt: null });
		expect(ack).toMatchObject({ ok: true, duplicate: false });

		for (const reader of [gp, gpOtherTab, psy1, psy2, ts, coord, netCoord]) {
			await waitUntil(() => reader.received.some((r) => r.id === m.id), `${reader.who} receives the message`);
			expect(reader.received.filter((r) => r.id === m.id)).toHaveLength(1);
		}
		// The secretariat, a GP of A outside the care team and a stranger: nothing, even after a barrier.
		for (const other of [secr, gp2, outsider]) {
			await barrier(other);
			expect(other.received.some((r) => r.conversationId === conv.thread), other.who).toBe(false);
		}
	});

	test('the same client id sent 20 times at once: one message, every acknowledgement the same', async () => {
		const [gp, psy] = await Promise.all([tab('gp'), tab('psy')]);
		const before = await countMessages(conv.thread);
		const clientId = randomUUID();
		const acks = await Promise.all(Array.from({ length: 20 }, () => call(gp, 'msg:send', { conversationId: conv.thread, clientId, body: 'Envoyé une seule fois.' })));
		expect(acks.every((a) => a.ok)).toBe(true);
		const ids = new Set(acks.map((a) => sent(a).id));
		expect(ids.size).toBe(1);
		expect(acks.filter((a) => a.ok && a.duplicate === false)).toHaveLength(1);
		expect(await countMessages(conv.thread)).toBe(before + 1);
		const rows = await t.db.selectFrom('message').select(['id']).where('sender_id', '=', users.gp).where('client_id', '=', clientId).execute();
		expect(rows.map((r) => r.id)).toEqual([...ids]);
		// Delivered once.
		await barrier(psy);
		expect(psy.received.filter((r) => r.clientId === clientId)).toHaveLength(1);
		// And the sequence has no hole where the refused inserts were.
		const seqs = (await t.db.selectFrom('message').select('seq').where('conversation_id', '=', conv.thread).orderBy('seq').execute()).map((r) => Number(r.seq));
		expect(seqs).toEqual(seqs.map((_, i) => i + 1));
	});

	test('50 sends at once from 5 people: sequence 1..50 without a hole, every client the same order', async () => {
		const who: Who[] = ['gp', 'psy', 'ts', 'coord', 'netCoord'];
		const id = await group(who);
		const tabs = await Promise.all(who.map((w) => tab(w)));
		const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => send(tabs[i % 5], id, `message ${i}`)));
		expect(acks.every((a) => a.ok)).toBe(true);
		const seqs = acks.map((a) => sent(a).seq).sort((x, y) => x - y);
		expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
		const rows = await t.db.selectFrom('message').select(['id', 'seq']).where('conversation_id', '=', id).orderBy('seq').execute();
		expect(rows.map((r) => Number(r.seq))).toEqual(seqs);
		for (const tb of tabs) await waitUntil(() => tb.received.filter((r) => r.conversationId === id).length === 50, `${tb.who} receives 50`);
		// Shown in the server's order, the same list everywhere; received in the same order too.
		const shown = (tb: Tab) => tb.received.filter((r) => r.conversationId === id).sort((x, y) => x.seq - y.seq).map((r) => r.id);
		const arrival = (tb: Tab) => tb.received.filter((r) => r.conversationId === id).map((r) => r.id);
		for (const tb of tabs) {
			expect(shown(tb)).toEqual(rows.map((r) => r.id));
			expect(arrival(tb)).toEqual(arrival(tabs[0]));
		}
		const conversation = await t.db.selectFrom('conversation').select('last_seq').where('id', '=', id).executeTakeFirstOrThrow();
		expect(Number(conversation.last_seq)).toBe(50);
	});

	test('msg:after returns what was missed during a disconnection, in order', async () => {
		const gp = await tab('gp');
		let ts = await tab('ts');
		const last = sent(await send(gp, conv.thread, 'Avant la coupure.'));
		await waitUntil(() => ts.received.some((r) => r.id === last.id), 'ts sees the last message');
		const seen = Math.max(...ts.received.filter((r) => r.conversationId === conv.thread).map((r) => r.seq));
		ts.socket.disconnect();
		const missed: MessagePayload[] = [];
		for (let i = 0; i < 5; i++) missed.push(sent(await send(gp, conv.thread, `Pendant la coupure ${i}.`)));
		ts = await tab('ts');
		const after = await call(ts, 'msg:after', { conversationId: conv.thread, afterSeq: seen });
		expect(after.ok).toBe(true);
		const got = after.ok ? (after.messages as MessagePayload[]) : [];
		expect(got.map((m) => m.id)).toEqual(missed.map((m) => m.id));
		expect(got.map((m) => m.seq)).toEqual(missed.map((m) => m.seq));
		expect(got.map((m) => m.body)).toEqual(missed.map((m) => m.body));
		// Nothing after the last one.
		const none = await call(ts, 'msg:after', { conversationId: conv.thread, afterSeq: missed.at(-1)!.seq });
		expect(none).toEqual({ ok: true, messages: [] });
	});
});

// ---------------------------------------------------------------------------------------------
// Read positions and unread counts
// ---------------------------------------------------------------------------------------------

describe('read positions', () => {
	test('only move forward: concurrent msg:read with different seqs, the highest wins', async () => {
		const id = await group(['gp', 'psy', 'ts']);
		const gp = await tab('gp');
		const [psy1, psy2] = await Promise.all([tab('psy'), tab('psy')]);
		for (let i = 1; i <= 12; i++) sent(await send(gp, id, `Point ${i}`));
		const seqs = [3, 9, 1, 12, 7, 5, 11, 2, 8, 10, 4, 6];
		const acks = await Promise.all(seqs.map((seq, i) => call(i % 2 ? psy1 : psy2, 'msg:read', { conversationId: id, seq })));
		expect(acks.every((a) => a.ok)).toBe(true);
		const row = await t.db.selectFrom('conversation_read').select('last_read_seq').where('conversation_id', '=', id).where('user_id', '=', users.psy).executeTakeFirstOrThrow();
		expect(Number(row.last_read_seq)).toBe(12);
		// Going back is refused silently: the position stays.
		expect(await call(psy1, 'msg:read', { conversationId: id, seq: 4 })).toEqual({ ok: true, seq: 12 });
		// Beyond the last message: capped at the last message.
		expect(await call(psy1, 'msg:read', { conversationId: id, seq: 1000 })).toEqual({ ok: true, seq: 12 });
		// The sender sees the receipt.
		await waitUntil(() => gp.reads.some((r) => r.conversationId === id && r.userId === users.psy && r.seq === 12), 'receipt at 12');
	});

	test('the unread total is exact on both devices of a person', async () => {
		const id = await group(['gp', 'ts', 'netCoord']);
		const gp = await tab('gp');
		const [n1, n2] = await Promise.all([tab('netCoord'), tab('netCoord')]);
		// Start from zero: read everything the coordinator reads.
		const list = await call(n1, 'msg:list', {});
		expect(list.ok).toBe(true);
		for (const c of (list.ok ? list.conversations : []) as { id: string; lastSeq: number }[]) {
			if (c.lastSeq > 0) expect((await call(n1, 'msg:read', { conversationId: c.id, seq: c.lastSeq })).ok).toBe(true);
		}
		expect(await call(n2, 'msg:list', {})).toMatchObject({ ok: true, total: 0 });
		const m = [];
		for (let i = 0; i < 4; i++) m.push(sent(await send(gp, id, `À lire ${i}`)));
		await waitUntil(() => n2.received.filter((r) => r.conversationId === id).length === 4, 'both devices get 4');
		expect(await call(n1, 'msg:list', {})).toMatchObject({ ok: true, total: 4 });

		const marks = n1.unread.length;
		const marks2 = n2.unread.length;
		expect((await call(n1, 'msg:read', { conversationId: id, seq: m[1].seq })).ok).toBe(true);
		await waitUntil(() => n1.unread.length > marks && n2.unread.length > marks2, 'both devices told');
		expect(n1.unread.at(-1)).toEqual({ conversationId: id, total: 2 });
		expect(n2.unread.at(-1)).toEqual({ conversationId: id, total: 2 });
		expect((await call(n2, 'msg:read', { conversationId: id, seq: m[3].seq })).ok).toBe(true);
		await waitUntil(() => n1.unread.at(-1)?.total === 0 && n2.unread.at(-1)?.total === 0, 'both devices at zero');
		const listed = await call(n1, 'msg:list', {});
		expect(listed).toMatchObject({ ok: true, total: 0 });
		expect(((listed.ok ? listed.conversations : []) as { id: string; unread: number }[]).find((c) => c.id === id)?.unread).toBe(0);
		// One's own messages are never unread.
		sent(await send(n1, id, 'Lu, merci.'));
		expect(await call(n2, 'msg:list', {})).toMatchObject({ ok: true, total: 0 });
	});
});

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

describe('bad input', () => {
	test('is refused in French, stores nothing, and leaves the others unaffected', async () => {
		const gp = await tab('gp');
		const psy = await tab('psy');
		const secr = await tab('secr');
		const before = await countMessages();
		const auditBefore = Number((await t.db.selectFrom('audit_event').select(sql<string>`count(*)`.as('n')).where('action', '=', 'message.posted').executeTakeFirstOrThrow()).n);
		const ok = () => ({ conversationId: conv.thread, clientId: randomUUID(), body: 'Texte correct.' });
		const replayed = sent(await send(gp, conv.thread, 'Premier envoi.'));
		const cases: [string, unknown, string][] = [
			['empty', { ...ok(), body: '' }, 'Le message est vide.'],
			['blank', { ...ok(), body: ' \n\t ' }, 'Le message est vide.'],
			['4001 characters', { ...ok(), body: 'é'.repeat(4001) }, 'Le message dépasse 4000 caractères.'],
			['NUL', { ...ok(), body: 'avant\u0000après' }, 'Requête invalide.'],
			['control character', { ...ok(), body: 'sonnerie\u0007' }, 'Requête invalide.'],
			['lone surrogate', { ...ok(), body: 'a\ud800b' }, 'Requête invalide.'],
			['non-uuid conversation', { ...ok(), conversationId: 'abc' }, 'Requête invalide.'],
			['non-uuid client id', { ...ok(), clientId: '1' }, 'Requête invalide.'],
			['body not a string', { ...ok(), body: 42 }, 'Requête invalide.'],
			['unknown conversation', { ...ok(), conversationId: randomUUID() }, 'Conversation introuvable.'],
			['conversation of another microstructure', { ...ok(), conversationId: conv.teamC }, 'Conversation introuvable.'],
			['extra field', { ...ok(), priority: 'urgent' }, 'Requête invalide.'],
			['forged sender', { ...ok(), senderId: users.psy }, 'Requête invalide.'],
			['huge body', { ...ok(), body: 'x'.repeat(200_000) }, 'Requête invalide.'],
			['too many mentions', { ...ok(), mentions: Array.from({ length: 51 }, () => randomUUID()) }, 'Requête invalide.'],
			['a link of an unknown type', { ...ok(), link: { type: 'javascript', id: randomUUID() } }, 'Requête invalide.'],
			['null payload', null, 'Requête invalide.'],
			['array payload', [ok()], 'Requête invalide.'],
			['replayed client id into another conversation', { conversationId: conv.teamA, clientId: replayed.clientId, body: 'Rejoué ailleurs.' }, 'Ce message a déjà été envoyé ailleurs.'],
			['closed patient’s thread', { ...ok(), conversationId: conv.closed }, 'Cette conversation est en lecture seule.']
		];
		const afterReplay = await countMessages();
		expect(afterReplay).toBe(before + 1);
		for (const [what, payload, error] of cases) {
			expect(await call(gp, 'msg:send', payload), what).toEqual({ ok: false, error });
		}
		// The secretariat writing into a patient's thread it may not see: the same answer as "no such conversation".
		expect(await call(secr, 'msg:send', ok())).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await call(secr, 'msg:open', { conversationId: conv.thread })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		// Other events, malformed.
		expect(await call(gp, 'msg:open', { conversationId: conv.thread, extra: 1 })).toEqual({ ok: false, error: 'Requête invalide.' });
		expect(await call(gp, 'msg:after', { conversationId: conv.thread, afterSeq: -1 })).toEqual({ ok: false, error: 'Requête invalide.' });
		expect(await call(gp, 'msg:after', { conversationId: conv.teamC, afterSeq: 0 })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await call(gp, 'msg:read', { conversationId: conv.thread, seq: 1.5 })).toEqual({ ok: false, error: 'Requête invalide.' });
		expect(await call(gp, 'msg:read', { conversationId: conv.teamC, seq: 1 })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await call(gp, 'msg:edit', { conversationId: conv.thread, messageId: 'x', body: 'a' })).toEqual({ ok: false, error: 'Requête invalide.' });
		expect(await call(gp, 'msg:typing', { conversationId: conv.teamC })).toEqual({ ok: false, error: 'Conversation introuvable.' });

		expect(await countMessages()).toBe(afterReplay);
		const auditAfter = Number((await t.db.selectFrom('audit_event').select(sql<string>`count(*)`.as('n')).where('action', '=', 'message.posted').executeTakeFirstOrThrow()).n);
		expect(auditAfter).toBe(auditBefore + 1);
		// A conversation's sequence did not move for the refused sends.
		const lastSeq = await t.db.selectFrom('conversation').select('last_seq').where('id', '=', conv.thread).executeTakeFirstOrThrow();
		const maxSeq = await t.db.selectFrom('message').select(sql<string>`max(seq)`.as('m')).where('conversation_id', '=', conv.thread).executeTakeFirstOrThrow();
		expect(lastSeq.last_seq).toBe(maxSeq.m);

		// Exactly 4000 characters is accepted; mentions of people who do not read the thread are dropped.
		const full = sent(await call(gp, 'msg:send', { ...ok(), body: 'a'.repeat(4000), mentions: [users.outsider, users.secr, users.psy] }));
		expect(full.body).toHaveLength(4000);
		expect(full.mentions).toEqual([users.psy]);

		// The same socket and the others still work.
		const fine = sent(await send(gp, conv.thread, 'Toujours là.'));
		await waitUntil(() => psy.received.some((r) => r.id === fine.id), 'psy still receives');
	});

	test('a payload over the size limit closes only the sender’s socket; nothing stored, others unaffected', async () => {
		const gp = await tab('gp');
		const psy = await tab('psy');
		expect(config.maxMessageBytes).toBeLessThan(64 * 1024 * 1024);
		const before = await countMessages();
		const closed = new Promise<string>((resolve) => gp.socket.once('disconnect', (reason) => resolve(reason)));
		gp.socket.emit('msg:send', { conversationId: conv.thread, clientId: randomUUID(), body: 'x'.repeat(config.maxMessageBytes + 10) }, () => {});
		expect(await withTimeout(closed, 'the oversized sender disconnected')).toBe('transport close');
		expect(await countMessages()).toBe(before);
		const still = sent(await send(psy, conv.thread, 'Rien de cassé.'));
		expect(still.seq).toBeGreaterThan(0);
	});
});

// ---------------------------------------------------------------------------------------------
// Corrections
// ---------------------------------------------------------------------------------------------

describe('links shared into a thread', () => {
	test("a version of the thread's patient's PPS is shared; a link to anything else, or outside a patient's thread, is refused", async () => {
		const gp = await tab('gp');
		const other = (await createPatient(t.db, A, { lastName: 'Autre', firstName: 'Patient' })).id;
		const versionOf = async (patientId: string) =>
			(
				await t.db
					.insertInto('pps_version')
					.values({ patient_id: patientId, number: 1, snapshot: new Uint8Array([0, 0]), projection: '{}', created_by: users.gp })
					.returning('id')
					.executeTakeFirstOrThrow()
			).id;
		const mine = await versionOf(patient);
		const theirs = await versionOf(other);
		const before = await countMessages();
		const refused: [string, unknown, string][] = [
			['unknown version', { type: 'pps_version', id: randomUUID() }, 'Ce lien ne concerne pas ce patient.'],
			["another patient's version", { type: 'pps_version', id: theirs }, 'Ce lien ne concerne pas ce patient.'],
			['a compte-rendu of no RCP', { type: 'rcp_report', id: randomUUID() }, 'Ce lien ne concerne pas ce patient.']
		];
		for (const [what, link, error] of refused) expect(await send(gp, conv.thread, '', { link }), what).toEqual({ ok: false, error });
		expect(await send(gp, conv.teamA, '', { link: { type: 'pps_version', id: mine } })).toEqual({ ok: false, error: 'Un compte rendu ou une version du PPS se partage dans le fil du patient.' });
		expect(await countMessages()).toBe(before);
		const shared = sent(await send(gp, conv.thread, 'La nouvelle version.', { link: { type: 'pps_version', id: mine } }));
		expect(shared.link).toEqual({ type: 'pps_version', id: mine });
		// The same shared link resent 30 times at once (a flaky connection): stored once, same message each time.
		const clientId = randomUUID();
		const burst = await Promise.all(Array.from({ length: 30 }, () => call(gp, 'msg:send', { conversationId: conv.thread, clientId, body: '', link: { type: 'pps_version', id: mine } })));
		expect(new Set(burst.map((a) => sent(a).id)).size).toBe(1);
		expect(Number((await t.db.selectFrom('message').select(sql<string>`count(*)`.as('n')).where('client_id', '=', clientId).executeTakeFirstOrThrow()).n)).toBe(1);

		// What "Partager dans le fil de l'équipe" hands to the thread, and where a shared link leads.
		expect(parseShareRequest('pps:1')).toEqual({ type: 'pps_version', number: 1 });
		for (const bad of ['pps:0', 'pps:1e3', 'pps:', 'rcp:nope', 'autre:1', '', null]) expect(parseShareRequest(bad), String(bad)).toBeNull();
		expect(await shareable(t.db, patient, { type: 'pps_version', number: 1 })).toEqual({ type: 'pps_version', number: 1, link: { type: 'pps_version', id: mine } });
		expect(await shareable(t.db, patient, { type: 'pps_version', number: 2 })).toBeNull();
		expect(await shareable(t.db, patient, { type: 'rcp_report', sessionId: randomUUID() })).toBeNull();
		const [gpActor, secrActor, outsiderActor] = await Promise.all([loadActor(t.db, users.gp), loadActor(t.db, users.secr), loadActor(t.db, users.outsider)]);
		expect(await linkTarget(t.db, gpActor, 'pps_version', mine)).toBe(`/ms/${A.microstructureId}/patients/${patient}/pps/versions/1`);
		// Whoever may not read the patient's thread gets nothing, as for a link that does not exist.
		expect(await linkTarget(t.db, secrActor, 'pps_version', mine)).toBeNull();
		expect(await linkTarget(t.db, outsiderActor, 'pps_version', mine)).toBeNull();
		expect(await linkTarget(t.db, gpActor, 'pps_version', randomUUID())).toBeNull();
		expect(await linkTarget(t.db, gpActor, 'rcp_report', randomUUID())).toBeNull();
		expect(await linkTarget(t.db, gpActor, 'autre', mine)).toBeNull();
		expect(await linkTarget(t.db, gpActor, 'pps_version', 'pas-un-uuid')).toBeNull();
	});
});

describe('a flood of events from one person', () => {
	test('runs a few at a time, refuses beyond the waiting line at once, and leaves the others served', async () => {
		const gp = await tab('gp');
		const psy = await tab('psy');
		// Sent without waiting: they reach the server together, far more than run and wait.
		const FLOOD = 1000;
		const answers = Array.from({ length: FLOOD }, () => call(gp, 'msg:list', {}));
		// Another person, during the flood: answered (their turns are their own).
		const other = await call(psy, 'msg:list', {});
		expect(other.ok).toBe(true);
		const all = await Promise.all(answers);
		const refused = all.filter((a) => !a.ok);
		expect(refused.length).toBeGreaterThan(0);
		for (const r of refused) expect(r).toEqual({ ok: false, error: TOO_MANY_EVENTS });
		// At least the running ones and the waiting line were served, each with a real answer.
		const served = all.filter((a) => a.ok);
		expect(served.length).toBeGreaterThanOrEqual(EVENTS_RUNNING_PER_PERSON + EVENTS_WAITING_PER_PERSON);
		for (const a of served) expect(a).toMatchObject({ ok: true, conversations: expect.any(Array) });
		// Once the flood is over, the person is served as before.
		expect(await call(gp, 'msg:list', {})).toMatchObject({ ok: true });
	});
});

describe('edit and delete', () => {
	test('one’s own message, within 15 minutes; the original goes to the audit trail; readers are told', async () => {
		const gp = await tab('gp');
		const psy = await tab('psy');
		const m = sent(await send(gp, conv.thread, 'Rendez-vous mardi.'));
		// Someone else's message: refused.
		expect(await call(psy, 'msg:edit', { conversationId: conv.thread, messageId: m.id, body: 'Piraté.' })).toEqual({ ok: false, error: 'Vous ne pouvez corriger que vos propres messages.' });
		expect(await call(psy, 'msg:delete', { conversationId: conv.thread, messageId: m.id })).toEqual({ ok: false, error: 'Vous ne pouvez corriger que vos propres messages.' });
		// A message id of another conversation: not found there.
		expect(await call(gp, 'msg:edit', { conversationId: conv.teamA, messageId: m.id, body: 'Ailleurs.' })).toEqual({ ok: false, error: 'Message introuvable.' });
		expect(await call(gp, 'msg:edit', { conversationId: conv.thread, messageId: m.id, body: ' ' })).toEqual({ ok: false, error: 'Le message est vide.' });

		const edited = await call(gp, 'msg:edit', { conversationId: conv.thread, messageId: m.id, body: 'Rendez-vous mercredi.' });
		expect(edited).toMatchObject({ ok: true, message: { id: m.id, body: 'Rendez-vous mercredi.' } });
		expect((edited.ok && (edited.message as MessagePayload).editedAt) || null).not.toBeNull();
		await waitUntil(() => psy.updated.some((u) => u.id === m.id && u.body === 'Rendez-vous mercredi.'), 'psy told of the edit');
		const editAudit = await t.db.selectFrom('audit_event').select(['details', 'actor_id', 'target_type', 'target_id']).where('action', '=', 'message.edited').execute();
		const e = editAudit.find((a) => (a.details as { message?: string }).message === m.id);
		expect(e).toMatchObject({ actor_id: users.gp, target_type: 'patient', target_id: patient });
		expect(e!.details).toMatchObject({ previous: 'Rendez-vous mardi.', conversation: conv.thread });

		const deleted = await call(gp, 'msg:delete', { conversationId: conv.thread, messageId: m.id });
		expect(deleted).toMatchObject({ ok: true, message: { id: m.id, body: '' } });
		await waitUntil(() => psy.updated.some((u) => u.id === m.id && u.deletedAt !== null && u.body === ''), 'psy told of the deletion');
		const row = await t.db.selectFrom('message').select(['body', 'deleted_at']).where('id', '=', m.id).executeTakeFirstOrThrow();
		expect(row.body).toBe('');
		expect(row.deleted_at).not.toBeNull();
		const del = (await t.db.selectFrom('audit_event').select('details').where('action', '=', 'message.deleted').execute()).find(
			(a) => (a.details as { message?: string }).message === m.id
		);
		expect(del!.details).toMatchObject({ previous: 'Rendez-vous mercredi.' });
		expect(await call(gp, 'msg:edit', { conversationId: conv.thread, messageId: m.id, body: 'Ressuscité.' })).toEqual({ ok: false, error: 'Ce message a été supprimé.' });
		// A deleted message reads as deleted when catching up too.
		const after = await call(psy, 'msg:after', { conversationId: conv.thread, afterSeq: m.seq - 1 });
		expect(after.ok && (after.messages as MessagePayload[])[0]).toMatchObject({ id: m.id, body: '', deletedAt: expect.any(String) });
	});

	test('after 15 minutes, neither edit nor delete', async () => {
		const gp = await tab('gp');
		const m = sent(await send(gp, conv.teamA, 'Réunion à 14 h.'));
		await t.db.updateTable('message').set({ created_at: sql`now() - interval '15 minutes 5 seconds'` }).where('id', '=', m.id).execute();
		const late = 'Un message se corrige dans les 15 minutes après son envoi.';
		expect(await call(gp, 'msg:edit', { conversationId: conv.teamA, messageId: m.id, body: 'Réunion à 15 h.' })).toEqual({ ok: false, error: late });
		expect(await call(gp, 'msg:delete', { conversationId: conv.teamA, messageId: m.id })).toEqual({ ok: false, error: late });
		expect((await t.db.selectFrom('message').select('body').where('id', '=', m.id).executeTakeFirstOrThrow()).body).toBe('Réunion à 14 h.');
		// Just inside the window it still works.
		const m2 = sent(await send(gp, conv.teamA, 'Salle 2.'));
		await t.db.updateTable('message').set({ created_at: sql`now() - interval '14 minutes 50 seconds'` }).where('id', '=', m2.id).execute();
		expect(await call(gp, 'msg:edit', { conversationId: conv.teamA, messageId: m2.id, body: 'Salle 3.' })).toMatchObject({ ok: true });
	});
});

// ---------------------------------------------------------------------------------------------
// Who reads what
// ---------------------------------------------------------------------------------------------

describe('audience', () => {
	test('opening and posting in a patient’s thread are audited as patient data; a team conversation is not a patient read', async () => {
		const psy = await tab('psy');
		const count = async (action: string) =>
			Number(
				(
					await t.db
						.selectFrom('audit_event')
						.select(sql<string>`count(*)`.as('n'))
						.where('action', '=', action)
						.where('actor_id', '=', users.psy)
						.where('target_type', '=', 'patient')
						.where('target_id', '=', patient)
						.executeTakeFirstOrThrow()
				).n
			);
		const reads = await count('patient.read');
		const opened = await call(psy, 'msg:open', { conversationId: conv.thread });
		expect(opened.ok).toBe(true);
		expect(await count('patient.read')).toBe(reads + 1);
		const last = await t.db.selectFrom('audit_event').select(['details', 'microstructure_id', 'network_id']).where('action', '=', 'patient.read').where('actor_id', '=', users.psy).orderBy('at', 'desc').executeTakeFirstOrThrow();
		expect(last).toMatchObject({ microstructure_id: A.microstructureId, network_id: A.networkId, details: { purpose: 'messages', conversation: conv.thread } });
		const posts = await count('message.posted');
		sent(await send(psy, conv.thread, 'Vu ce matin.'));
		expect(await count('message.posted')).toBe(posts + 1);
		const allReads = async () => Number((await t.db.selectFrom('audit_event').select(sql<string>`count(*)`.as('n')).where('action', '=', 'patient.read').where('actor_id', '=', users.psy).executeTakeFirstOrThrow()).n);
		const n = await allReads();
		expect((await call(psy, 'msg:open', { conversationId: conv.teamA })).ok).toBe(true);
		expect(await allReads()).toBe(n);
	});

	test('the team conversation includes the secretariat; the patient’s thread excludes it and the GP outside the care team', async () => {
		const [secr, gp2, gp] = await Promise.all([tab('secr'), tab('gp2'), tab('gp')]);
		const team = await call(secr, 'msg:open', { conversationId: conv.teamA });
		expect(team.ok).toBe(true);
		const teamReaders = ((team.ok ? team.readers : []) as { userId: string }[]).map((r) => r.userId).sort();
		expect(teamReaders).toEqual([users.gp, users.gp2, users.psy, users.ts, users.secr, users.coord, users.netCoord].sort());
		const m = sent(await send(gp, conv.teamA, 'Qui ferme ce soir ?'));
		await waitUntil(() => secr.received.some((r) => r.id === m.id) && gp2.received.some((r) => r.id === m.id), 'the team conversation reaches the secretariat');
		const reply = sent(await send(secr, conv.teamA, 'Moi, à 19 h.'));
		await waitUntil(() => gp.received.some((r) => r.id === reply.id), 'the secretariat writes to the team');

		const thread = await call(gp, 'msg:open', { conversationId: conv.thread });
		const threadReaders = ((thread.ok ? thread.readers : []) as { userId: string }[]).map((r) => r.userId).sort();
		expect(threadReaders).toEqual([users.gp, users.psy, users.ts, users.coord, users.netCoord].sort());
		expect(await call(gp2, 'msg:open', { conversationId: conv.thread })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		// The conversation lists: the thread is not even listed for them.
		for (const other of [secr, gp2]) {
			const list = await call(other, 'msg:list', {});
			const ids = ((list.ok ? list.conversations : []) as { id: string }[]).map((c) => c.id);
			expect(ids, other.who).toContain(conv.teamA);
			expect(ids, other.who).not.toContain(conv.thread);
		}
	});

	test('leaving the microstructure: its team conversation is gone at once, although each process keeps team audiences between messages', async () => {
		const [gp, gp2] = await Promise.all([tab('gp'), tab('gp2')]);
		const pair = await group(['gp', 'gp2', 'psy']);
		// gp2's own message in the group: everything sent to gp2 before it has arrived.
		const groupBarrier = async () => {
			const m = sent(await send(gp2, pair, `barrière ${randomUUID()}`));
			await waitUntil(() => gp2.received.some((r) => r.id === m.id), 'gp2: barrier');
		};
		const before = sent(await send(gp, conv.teamA, 'Tout le monde est là ?'));
		await waitUntil(() => gp2.received.some((r) => r.id === before.id), 'gp2 reads the team conversation');

		// As the members page does: end the membership, then re-check the person's live connections.
		const membership = await t.db.selectFrom('membership').select('id').where('user_id', '=', users.gp2).where('microstructure_id', '=', A.microstructureId).where('ends_on', 'is', null).executeTakeFirstOrThrow();
		expect(await endMembership(t.db, membership.id, users.coord)).toBe(true);
		await reauthorizeUser(users.gp2);
		try {
			expect(await send(gp2, conv.teamA, 'Je suis encore là ?')).toEqual({ ok: false, error: 'Conversation introuvable.' });
			const after = sent(await send(gp, conv.teamA, 'Sans le docteur Schmitt désormais.'));
			await groupBarrier();
			expect(gp2.received.some((r) => r.id === after.id)).toBe(false);
		} finally {
			// Back in the microstructure: the next team message reaches them at once.
			await addMembership(t.db, { userId: users.gp2, microstructureId: A.microstructureId, role: 'soignant', createdBy: null });
			await reauthorizeUser(users.gp2);
		}
		const back = sent(await send(gp, conv.teamA, 'Bon retour !'));
		await waitUntil(() => gp2.received.some((r) => r.id === back.id), 'gp2 reads the team conversation again');
	});

	test('removed from the care team: the thread is gone at once, live sockets included', async () => {
		const [gp, ts1, ts2] = await Promise.all([tab('gp'), tab('ts'), tab('ts')]);
		expect((await call(ts1, 'msg:open', { conversationId: conv.thread })).ok).toBe(true);
		const before = sent(await send(gp, conv.thread, 'Encore pour tout le monde.'));
		await waitUntil(() => ts2.received.some((r) => r.id === before.id), 'ts receives before the change');

		// As the patient page does: change the care team, then re-check the live connections of those it changed.
		const changed = await setCareTeam(t.db, { actorId: users.coord }, { id: A.microstructureId, networkId: A.networkId }, patient, [users.gp, users.psy]);
		expect(changed).toEqual([users.ts]);
		await Promise.all(changed.map((id) => reauthorizeUser(id)));
		await waitUntil(() => ts1.access > 0 && ts2.access > 0, 'both tabs told to re-check');

		expect(await call(ts1, 'msg:open', { conversationId: conv.thread })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await call(ts2, 'msg:after', { conversationId: conv.thread, afterSeq: 0 })).toEqual({ ok: false, error: 'Conversation introuvable.' });
		expect(await send(ts1, conv.thread, 'Je suis encore là ?')).toEqual({ ok: false, error: 'Conversation introuvable.' });
		const afterChange = sent(await send(gp, conv.thread, 'Désormais sans le travailleur social.'));
		await barrier(ts1);
		await barrier(ts2);
		for (const tb of [ts1, ts2]) expect(tb.received.some((r) => r.id === afterChange.id)).toBe(false);
		const list = await call(ts1, 'msg:list', {});
		expect(((list.ok ? list.conversations : []) as { id: string }[]).map((c) => c.id)).not.toContain(conv.thread);
		// Put back: the thread is there again, history included.
		await setCareTeam(t.db, { actorId: users.coord }, { id: A.microstructureId, networkId: A.networkId }, patient, [users.gp, users.psy, users.ts]);
		await reauthorizeUser(users.ts);
		const back = await call(ts1, 'msg:after', { conversationId: conv.thread, afterSeq: before.seq });
		expect(back.ok && (back.messages as MessagePayload[]).map((m) => m.id)).toContain(afterChange.id);
	});
});
