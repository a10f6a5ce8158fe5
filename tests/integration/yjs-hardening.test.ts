// The shared documents under attack and faults, on a real http server, a real database and real
// y-websocket clients: the schema and limits enforced on every update, the truthful "stored"
// acknowledgement (deletions and formatting included), bounded awareness, and live connections
// that end with their session.
process.env.LOG_LEVEL = 'silent';
process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { addGoal, barrier, destroy, rawYjs as rawYjsAt, sessionCookie, startRealtimeServer, TEST_REDIS_PREFIX, stopRealtimeServer, waitUntil, withTimeout, yjsProvider } from '../helpers/realtime.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import { attachRealtime, type Realtime } from '../../src/lib/server/realtime/attach.ts';
import { YjsServer } from '../../src/lib/server/realtime/yjs-server.ts';
import { loadDoc } from '../../src/lib/server/realtime/yjs-store.ts';
import { endSessions } from '../../src/lib/server/live.ts';
import { createPatient, setCareTeam } from '../../src/lib/server/patients/patients.ts';
import { ppsDocName } from '../../src/lib/server/pps/pps.ts';
import { sessionIdFromToken } from '../../src/lib/server/auth/session.ts';
import type { MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import { LIMITS, list, meta, newItem, project } from '../../src/lib/pps/model.ts';
import { NOTES_LIMITS } from '../../src/lib/notes.ts';
import { MESSAGE_REFUSED, MESSAGE_STORED, trackSaves } from '../../src/lib/realtime/save-state.ts';
import type { DocSchema } from '../../src/lib/realtime/doc-schema.ts';

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
let tanneurs: MicrostructureRef;
let server: Server;
let realtime: Realtime;
let wsBase: string;
let httpBase: string;

const providers: WebsocketProvider[] = [];
const rawSockets: WebSocket[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
	t = await createSharedTestDb();
	ids = await seedDemo(t.db);
	const ms = await t.db.selectFrom('microstructure').select(['id', 'network_id']).where('id', '=', ids.microstructures.tanneurs).executeTakeFirstOrThrow();
	tanneurs = { id: ms.id, networkId: ms.network_id };
	let port: number;
	({ server, realtime, port } = await startRealtimeServer());
	wsBase = `ws://127.0.0.1:${port}`;
	httpBase = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
	for (const s of sockets) s.disconnect();
	for (const p of providers) p.destroy();
	for (const ws of rawSockets) ws.terminate();
	await stopRealtimeServer(realtime, server);
	await new Promise((resolve) => setTimeout(resolve, 1200));
	await t?.close();
});

// Helpers ------------------------------------------------------------------------------------------

const user = (login: string) => ids.users[login];
const ctx = (login: string) => ({ actorId: user(login), ip: '127.0.0.1', userAgent: 'vitest' });

let patientCount = 0;
async function newPatient(team: string[]): Promise<string> {
	const r = await createPatient(
		t.db,
		ctx('ines.haddad'),
		tanneurs,
		{
			identity: { lastName: `Limite${++patientCount}`, firstName: 'Alex', birthDate: '1985-05-05', sex: 'X', phone: null, email: null },
			programme: 'MSMA',
			motif: 'addiction',
			orientationOrigin: null,
			medecinTraitant: null,
			start: { kind: 'include', on: '2026-01-15', orientation: 'psychologue', consent: { on: '2026-01-15', method: 'oral_atteste' } }
		},
		'2026-11-24'
	);
	if (!r.ok) throw new Error(r.error);
	await setCareTeam(t.db, ctx('ines.haddad'), tanneurs, r.id, team.map(user));
	return ppsDocName(r.id);
}

interface Client {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** The reasons of every refusal received (message 101). */
	refusals: string[];
	closes: number[];
}

function client(base: string, docName: string, cookie: string): Client {
	const doc = new Y.Doc();
	const provider = yjsProvider(base, docName, doc, { Cookie: cookie }, 300);
	providers.push(provider);
	const refusals: string[] = [];
	provider.messageHandlers[MESSAGE_STORED] = () => {};
	provider.messageHandlers[MESSAGE_REFUSED] = (_encoder, decoder) => {
		refusals.push(decoding.readVarString(decoder));
	};
	const closes: number[] = [];
	provider.on('connection-close', (event) => {
		if (event) closes.push(event.code);
	});
	return { doc, provider, refusals, closes };
}

async function synced(docName: string, login: string, base = wsBase): Promise<Client> {
	const c = client(base, docName, await sessionCookie(t.db, user(login)));
	await waitUntil(() => c.provider.synced, `${login} synced`);
	return c;
}

/** The server's own copy, once everything received is stored. */
async function stored(docName: string): Promise<Y.Doc> {
	await realtime.yjs.flush(docName);
	return loadDoc(t.db, docName);
}

// ---------------------------------------------------------------------------------------------
// The schema, enforced on every update
// ---------------------------------------------------------------------------------------------

describe('limits and shape of the PPS, checked by the server', () => {
	test('a field one character over the limit is refused as a whole: the author is told in French and becomes read-only, the others see nothing', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const ines = await synced(docName, 'ines.haddad');
		const camille = await synced(docName, 'camille.durand');
		meta(ines.doc).set('evaluation', new Y.Text('x'.repeat(LIMITS.field)));
		await barrier(ines);
		await waitUntil(() => project(camille.doc).evaluation.length === LIMITS.field, 'the 2,000 characters reach Camille');
		expect(ines.refusals).toEqual([]);

		// One more character: the update is refused, nothing of it reaches anyone or storage.
		(meta(ines.doc).get('evaluation') as Y.Text).insert(0, 'y');
		await barrier(ines);
		expect(ines.refusals).toHaveLength(1);
		expect(ines.refusals[0]).toMatch(/^Texte trop long \(2\s000 caractères au plus\)\.$/);
		await barrier(camille);
		expect(project(camille.doc).evaluation).toBe('x'.repeat(LIMITS.field));
		expect(project(await stored(docName)).evaluation).toBe('x'.repeat(LIMITS.field));

		// Read-only until it connects again: a valid edit on the same connection is dropped.
		addGoal(ines.doc, 'Perdu : la connexion est en lecture seule.');
		await barrier(ines);
		await barrier(camille);
		expect(project(camille.doc).goals).toBe('');

		// A fresh replica (what the editor does after a refusal) writes again.
		const again = await synced(docName, 'ines.haddad');
		addGoal(again.doc, 'Après rechargement.');
		await waitUntil(() => project(camille.doc).goals === 'Après rechargement.', 'the new edit reaches Camille');
		destroy(ines, camille, again);
	});

	// Each hostile edit on a fresh connection of a care-team member: refused, nothing changes.
	const hostile: [string, (doc: Y.Doc) => void][] = [
		['an unknown root type', (doc) => doc.getMap('cache').set('blob', 'x'.repeat(100))],
		['a hundred and first action', (doc) => list(doc, 'actions').push(Array.from({ length: LIMITS.items + 1 }, () => newItem('actions', { what: 'a' })))],
		['an unknown action status', (doc) => list(doc, 'actions').push([newItem('actions', { what: 'a', status: 'pirate' })])],
		['an impossible due date', (doc) => list(doc, 'actions').push([newItem('actions', { what: 'a', due: '2027-02-30' })])],
		['an unknown field on an item', (doc) => list(doc, 'objectives').push([(() => { const m = newItem('objectives', { text: 'a' }); m.set('script', 'x'); return m; })()])],
		['a nested map in a text field', (doc) => meta(doc).set('evaluation', new Y.Map() as unknown as Y.Text)],
		['a raw value in a list', (doc) => (doc.getArray('problems') as Y.Array<unknown>).push(['pas un élément'])],
		['an over-long item id', (doc) => list(doc, 'problems').push([(() => { const m = newItem('problems', { text: 'a' }); m.set('id', 'i'.repeat(500)); return m; })()])],
		['an unknown rich-text node', (doc) => doc.getXmlFragment('goals').insert(0, [new Y.XmlElement('script')])],
		['goals over 20,000 characters', (doc) => addGoal(doc, 'g'.repeat(LIMITS.prose + 1))],
		['a frequency over 200 characters', (doc) => list(doc, 'entretiens').push([newItem('entretiens', { frequency: 'f'.repeat(LIMITS.short + 1) })])]
	];
	test.each(hostile)('refused: %s', async (_name, edit) => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const setup = await synced(docName, 'ines.haddad');
		list(setup.doc, 'actions').push([newItem('actions', { what: 'Déjà là', status: 'a_faire' })]);
		addGoal(setup.doc, 'Objectif existant.');
		await barrier(setup);
		const before = Y.encodeStateVector(await stored(docName));

		const attacker = await synced(docName, 'camille.durand');
		edit(attacker.doc);
		await barrier(attacker);
		expect(attacker.refusals).toHaveLength(1);
		expect(attacker.refusals[0]).toMatch(/[a-zà-ü]/i);
		const after = await stored(docName);
		expect(Y.encodeStateVector(after)).toEqual(before);
		expect(project(after).actions.map((a) => a.what)).toEqual(['Déjà là']);
		expect(project(after).goals).toBe('Objectif existant.');
		await barrier(setup);
		expect(project(setup.doc)).toEqual(project(after));
		destroy(setup, attacker);
	});

	test('team notes over their limit are refused; up to it they are kept', async () => {
		const docName = `ms-notes:${ids.microstructures.tanneurs}`;
		const ines = await synced(docName, 'ines.haddad');
		const text = ines.doc.getText('notes');
		const room = NOTES_LIMITS.team - text.length;
		text.insert(text.length, 'n'.repeat(room));
		await barrier(ines);
		expect(ines.refusals).toEqual([]);
		text.insert(0, '!');
		await barrier(ines);
		expect(ines.refusals).toHaveLength(1);
		expect((await stored(docName)).getText('notes').length).toBe(NOTES_LIMITS.team);
		destroy(ines);
		// Leave the demo notes as they were for the other tests.
		const fix = await synced(docName, 'ines.haddad');
		fix.doc.getText('notes').delete(fix.doc.getText('notes').length - room, room);
		await barrier(fix);
		destroy(fix);
	});

	test('a document that would grow past its maximum size is refused, whatever it holds', async () => {
		// A server of its own with a tiny document budget, on the same database.
		const schema: DocSchema = { roots: { notes: { kind: 'text', max: 1_000_000 } }, maxBytes: 20_000 };
		const yjs = new YjsServer({
			db: () => t.db,
			maxMessageBytes: 1024 * 1024,
			compactEvery: 200,
			schema: () => schema,
			authorize: async () => ({ userId: user('ines.haddad'), sessionId: 'test', access: 'rw' }),
			reauthorize: async () => 'rw'
		});
		const http = createServer();
		http.on('upgrade', (req, socket, head) => void yjs.handleUpgrade(req, socket, head, decodeURIComponent((req.url ?? '').slice('/yjs/'.length))));
		await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
		const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
		try {
			const c = client(base, 'bytes:test', 'none');
			await waitUntil(() => c.provider.synced, 'synced');
			const notes = c.doc.getText('notes');
			for (let i = 0; i < 30 && c.refusals.length === 0; i++) {
				notes.insert(notes.length, String(i % 10).repeat(1000));
				await barrier(c);
			}
			expect(c.refusals).toEqual(['Document trop volumineux.']);
			await yjs.flushAll();
			const kept = await loadDoc(t.db, 'bytes:test');
			expect(Y.encodeStateAsUpdate(kept).byteLength).toBeLessThanOrEqual(schema.maxBytes);
			expect(kept.getText('notes').length).toBeGreaterThan(10_000);
			destroy(c);
		} finally {
			await yjs.close();
			http.close();
		}
	});
});

// ---------------------------------------------------------------------------------------------
// "Enregistré": deletions and formatting too
// ---------------------------------------------------------------------------------------------

describe('the stored acknowledgement covers every kind of edit', () => {
	test('a deletion after "Enregistré" is unsaved until the server has committed it, then stored', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const ines = await synced(docName, 'ines.haddad');
		const changes: boolean[] = [];
		const saves = trackSaves(ines.doc, ines.provider, () => changes.push(saves.saved));
		meta(ines.doc).set('evaluation', new Y.Text('Texte gardé. À effacer, seize'));
		expect(saves.saved).toBe(false);
		await waitUntil(() => saves.saved, 'the typing stored');

		const evaluation = meta(ines.doc).get('evaluation') as Y.Text;
		evaluation.delete(evaluation.length - 16, 16);
		// Deleting adds nothing to the state vector: the old check would still say "Enregistré".
		expect(saves.saved).toBe(false);
		await waitUntil(() => saves.saved, 'the deletion stored');
		expect(project(await loadDoc(t.db, docName)).evaluation).toBe('Texte gardé. ');

		// Formatting (a bold mark in the goals) is an edit too.
		addGoal(ines.doc, 'Gras');
		await waitUntil(() => saves.saved, 'goal stored');
		const text = (ines.doc.getXmlFragment('goals').get(0) as Y.XmlElement).get(0) as Y.XmlText;
		text.format(0, 4, { bold: true });
		expect(saves.saved).toBe(false);
		await waitUntil(() => saves.saved, 'formatting stored');
		const storedText = ((await loadDoc(t.db, docName)).getXmlFragment('goals').get(0) as Y.XmlElement).get(0) as Y.XmlText;
		expect(storedText.toDelta()).toEqual([{ insert: 'Gras', attributes: { bold: true } }]);
		saves.destroy();
		destroy(ines);
	});

	test('someone who only receives others\' edits is never left waiting', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const ines = await synced(docName, 'ines.haddad');
		const camille = await synced(docName, 'camille.durand');
		const camilleSaves = trackSaves(camille.doc, camille.provider, () => {});
		addGoal(ines.doc, 'De la part d’Inès.');
		await waitUntil(() => project(camille.doc).goals === 'De la part d’Inès.', 'edit received');
		expect(camilleSaves.saved).toBe(true);
		camilleSaves.destroy();
		destroy(ines, camille);
	});
});

// ---------------------------------------------------------------------------------------------
// Awareness: one client id per connection, bounded states, a rate limit
// ---------------------------------------------------------------------------------------------

function awarenessMessage(entries: { id: number; clock: number; state: string }[]): Uint8Array {
	const inner = encoding.createEncoder();
	encoding.writeVarUint(inner, entries.length);
	for (const e of entries) {
		encoding.writeVarUint(inner, e.id);
		encoding.writeVarUint(inner, e.clock);
		encoding.writeVarString(inner, e.state);
	}
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, 1);
	encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner));
	return encoding.toUint8Array(encoder);
}

/** Counts what a raw connection receives as awareness: messages, bytes and distinct client ids. */
function awarenessReceived(ws: WebSocket) {
	const seen = { messages: 0, bytes: 0, ids: new Set<number>() };
	ws.on('message', (data: Buffer) => {
		const bytes = new Uint8Array(data);
		const decoder = decoding.createDecoder(bytes);
		if (decoding.readVarUint(decoder) !== 1) return;
		seen.messages++;
		seen.bytes += bytes.byteLength;
		const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
		const count = decoding.readVarUint(update);
		for (let i = 0; i < count; i++) {
			seen.ids.add(decoding.readVarUint(update));
			decoding.readVarUint(update);
			decoding.readVarString(update);
		}
	});
	return seen;
}

describe('awareness is bounded', () => {
	test('forged client ids and a huge state are not relayed; newcomers get one small state per connection', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const peer = await rawYjsAt(wsBase, rawSockets, docName, await sessionCookie(t.db, user('ines.haddad')));
		const seen = awarenessReceived(peer.ws);
		const attacker = await rawYjsAt(wsBase, rawSockets, docName, await sessionCookie(t.db, user('camille.durand')));

		attacker.ws.send(awarenessMessage([{ id: 4242, clock: 1, state: JSON.stringify({ user: { name: 'Camille' } }) }]));
		attacker.ws.send(awarenessMessage(Array.from({ length: 20_000 }, (_, i) => ({ id: 100_000 + i, clock: 1, state: '{"user":{"name":"faux"}}' }))));
		attacker.ws.send(awarenessMessage([{ id: 4242, clock: 2, state: JSON.stringify({ user: { name: 'x'.repeat(900_000) } }) }]));
		await new Promise((resolve) => setTimeout(resolve, 300));

		expect([...seen.ids]).toEqual([4242]);
		expect(seen.bytes).toBeLessThan(2_000);
		const newcomer = await rawYjsAt(wsBase, rawSockets, docName, await sessionCookie(t.db, user('ines.haddad')));
		const late = awarenessReceived(newcomer.ws);
		newcomer.ws.send(new Uint8Array([3])); // query awareness
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect([...late.ids]).toEqual([4242]);
		expect(late.bytes).toBeLessThan(2_000);
	});

	test('a burst of awareness updates is rate-limited per connection', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const peer = await rawYjsAt(wsBase, rawSockets, docName, await sessionCookie(t.db, user('ines.haddad')));
		const seen = awarenessReceived(peer.ws);
		const chatty = await rawYjsAt(wsBase, rawSockets, docName, await sessionCookie(t.db, user('camille.durand')));
		for (let clock = 1; clock <= 500; clock++) chatty.ws.send(awarenessMessage([{ id: 77, clock, state: `{"cursor":${clock}}` }]));
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(seen.messages).toBeGreaterThan(0);
		expect(seen.messages).toBeLessThanOrEqual(50);
	});

	test('the y-websocket client\'s own awareness still works, and leaves with its connection', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const ines = await synced(docName, 'ines.haddad');
		const camille = await synced(docName, 'camille.durand');
		ines.provider.awareness.setLocalStateField('user', { id: user('ines.haddad'), name: 'Inès Haddad' });
		await waitUntil(() => camille.provider.awareness.getStates().has(ines.doc.clientID), 'Inès present for Camille');
		ines.provider.destroy();
		await waitUntil(() => !camille.provider.awareness.getStates().has(ines.doc.clientID), 'Inès gone for Camille');
		destroy(camille);
		ines.doc.destroy();
	});
});

// ---------------------------------------------------------------------------------------------
// Live connections end with their session
// ---------------------------------------------------------------------------------------------

function socketWith(cookie: string, base = httpBase): Promise<ClientSocket> {
	const socket = ioClient(base, { path: '/socket.io', transports: ['websocket'], extraHeaders: { Cookie: cookie }, reconnection: false, forceNew: true });
	sockets.push(socket);
	return withTimeout(
		new Promise<ClientSocket>((resolve, reject) => {
			socket.once('connect', () => resolve(socket));
			socket.once('connect_error', reject);
		}),
		'socket connected'
	);
}

const sessionOf = (cookie: string) => sessionIdFromToken(cookie.slice('session='.length));

describe('signing out ends the live connections of that session', () => {
	test('ending a session closes its socket.io and Yjs connections at once, and a write sent then reaches nobody; the user\'s other session stays', async () => {
		const docName = await newPatient(['ines.haddad', 'camille.durand']);
		const phone = await sessionCookie(t.db, user('ines.haddad'));
		const desk = await sessionCookie(t.db, user('ines.haddad'));
		const camille = await synced(docName, 'camille.durand');
		const phoneYjs = await rawYjsAt(wsBase, rawSockets, docName, phone);
		const phoneSocket = await socketWith(phone);
		const deskSocket = await socketWith(desk);
		const deskYjs = client(wsBase, docName, desk);
		await waitUntil(() => deskYjs.provider.synced, 'desk synced');
		const phoneDisconnected = new Promise<string>((resolve) => phoneSocket.once('disconnect', (reason) => resolve(reason)));

		await endSessions([sessionOf(phone)]);
		expect(await withTimeout(phoneYjs.closed, 'phone Yjs closed')).toBe(4401);
		expect(await withTimeout(phoneDisconnected, 'phone socket disconnected')).toBe('io server disconnect');

		// What the phone's socket still sends is not applied.
		const doc = new Y.Doc();
		addGoal(doc, 'Après la déconnexion.');
		if (phoneYjs.ws.readyState === WebSocket.OPEN) phoneYjs.ws.send(new Uint8Array([0, 2, ...encodeVar(Y.encodeStateAsUpdate(doc))]));
		await barrier(camille);
		expect(project(camille.doc).goals).toBe('');

		expect(deskSocket.connected).toBe(true);
		expect(deskYjs.provider.wsconnected).toBe(true);
		destroy(camille, deskYjs);
	});

	test('the periodic check ends the connections of an expired session and of a disabled user', async () => {
		const docName = `ms-notes:${ids.microstructures.tanneurs}`;
		const expired = await sessionCookie(t.db, user('ines.haddad'));
		const expiredYjs = await rawYjsAt(wsBase, rawSockets, docName, expired);
		const expiredSocket = await socketWith(expired);
		const disabledCookie = await sessionCookie(t.db, user('paul.schmitt'));
		const disabledYjs = await rawYjsAt(wsBase, rawSockets, `ms-notes:${ids.microstructures.tanneurs}`, disabledCookie);
		const fine = await sessionCookie(t.db, user('camille.durand'));
		const fineYjs = await rawYjsAt(wsBase, rawSockets, docName, fine);

		await t.db.updateTable('user_session').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', sessionOf(expired)).execute();
		await t.db.updateTable('app_user').set({ disabled_at: new Date() }).where('id', '=', user('paul.schmitt')).execute();
		try {
			await realtime.checkSessions();
			expect(await withTimeout(expiredYjs.closed, 'expired Yjs closed')).toBe(4401);
			expect(await withTimeout(disabledYjs.closed, 'disabled Yjs closed')).toBe(4401);
			await waitUntil(() => !expiredSocket.connected, 'expired socket disconnected');
			expect(fineYjs.ws.readyState).toBe(WebSocket.OPEN);
		} finally {
			await t.db.updateTable('app_user').set({ disabled_at: null }).where('id', '=', user('paul.schmitt')).execute();
		}
	});

	test.runIf(Boolean(process.env.REDIS_URL))('with Redis, ending a session closes its Yjs connections in another process', async () => {
		// A second realtime layer on its own http server: another app process, as far as Redis is concerned.
		const other = createServer();
		const otherRealtime = await attachRealtime(other, { redisPrefix: TEST_REDIS_PREFIX });
		await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
		const otherBase = `ws://127.0.0.1:${(other.address() as AddressInfo).port}`;
		try {
			const docName = `ms-notes:${ids.microstructures.tanneurs}`;
			const cookie = await sessionCookie(t.db, user('ines.haddad'));
			const onFirst = await rawYjsAt(wsBase, rawSockets, docName, cookie);
			const onOther = await rawYjsAt(otherBase, rawSockets, docName, cookie);
			// The live layer now is the second one's: the first process learns it through Redis.
			await endSessions([sessionOf(cookie)]);
			expect(await withTimeout(onOther.closed, 'closed on the process that ended it')).toBe(4401);
			expect(await withTimeout(onFirst.closed, 'closed on the other process')).toBe(4401);
		} finally {
			await stopRealtimeServer(otherRealtime, other);
		}
	});
});

function encodeVar(bytes: Uint8Array): number[] {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint8Array(encoder, bytes);
	return [...encoding.toUint8Array(encoder)];
}
