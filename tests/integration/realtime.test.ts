// socket.io and the Yjs websocket on a real http.Server, a real database and real clients.
process.env.LOG_LEVEL = 'silent';

import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { barrier, closeCodes, destroy, rawYjs as rawYjsAt, syncMessage, sessionCookie, startRealtimeServer, stopRealtimeServer, upgradeStatus as upgradeStatusAt, waitUntil, withTimeout, yjsProvider } from '../helpers/realtime.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import { createSession, generateSessionToken } from '../../src/lib/server/auth/session.ts';
import { attachRealtime, type Realtime } from '../../src/lib/server/realtime/attach.ts';
import { disconnectUser, reauthorizeUser } from '../../src/lib/server/live.ts';
import { countUpdates, loadDoc } from '../../src/lib/server/realtime/yjs-store.ts';
import { addMembership, endMembership } from '../../src/lib/server/org/memberships.ts';
import { createUser } from '../../src/lib/server/org/users.ts';

const MAX_MESSAGE_BYTES = 1024 * 1024;

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
let server: Server;
let realtime: Realtime;
let httpBase: string;
let wsBase: string;

const sockets: ClientSocket[] = [];
const providers: WebsocketProvider[] = [];
const rawSockets: WebSocket[] = [];

beforeAll(async () => {
	t = await createSharedTestDb();
	ids = await seedDemo(t.db);
	let port: number;
	({ server, realtime, port } = await startRealtimeServer());
	httpBase = `http://127.0.0.1:${port}`;
	wsBase = `ws://127.0.0.1:${port}`;
});

afterAll(async () => {
	for (const s of sockets) s.disconnect();
	for (const p of providers) p.destroy();
	for (const ws of rawSockets) ws.terminate();
	await stopRealtimeServer(realtime, server);
	await t?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A real session for a demo user, as the login page would create it; returns the Cookie header. */
async function cookieFor(login: string, opts: { twoFactorVerified?: boolean } = {}): Promise<string> {
	return sessionCookie(t.db, ids.users[login], opts.twoFactorVerified ?? true);
}

const notes = (ms: string) => `ms-notes:${ms}`;

// socket.io ----------------------------------------------------------------------------------

function connectSocket(headers: Record<string, string> = {}): ClientSocket {
	const socket = ioClient(httpBase, {
		transports: ['websocket'],
		extraHeaders: headers,
		reconnection: false,
		forceNew: true,
		timeout: 5000
	});
	sockets.push(socket);
	return socket;
}

function connected(socket: ClientSocket): Promise<void> {
	return withTimeout(
		new Promise<void>((resolve, reject) => {
			if (socket.connected) return resolve();
			socket.once('connect', () => resolve());
			socket.once('connect_error', (error) => reject(error));
		}),
		'socket.io connection'
	);
}

function connectError(socket: ClientSocket): Promise<Error> {
	return withTimeout(
		new Promise<Error>((resolve, reject) => {
			socket.once('connect', () => reject(new Error('unexpectedly connected')));
			socket.once('connect_error', (error) => resolve(error));
		}),
		'socket.io connect_error'
	);
}

async function signedInSocket(login: string): Promise<ClientSocket> {
	const socket = connectSocket({ Cookie: await cookieFor(login) });
	await connected(socket);
	return socket;
}

interface PresenceUser {
	id: string;
	name: string;
	profession: string;
}
type Reply = { ok: boolean; online?: PresenceUser[]; error?: string };

async function call(socket: ClientSocket, event: string, ...args: unknown[]): Promise<Reply> {
	try {
		return (await socket.timeout(5000).emitWithAck(event, ...args)) as Reply;
	} catch (error) {
		const shown = args.map((a) => JSON.stringify(a)?.slice(0, 60)).join(', ');
		throw new Error(`no acknowledgement for ${event.slice(0, 40)}(${shown}): ${String(error)}`);
	}
}

/** The next event matching `predicate`; listen before causing it. */
function nextEvent<T>(socket: ClientSocket, event: string, predicate: (payload: T) => boolean = () => true): Promise<T> {
	return withTimeout(
		new Promise<T>((resolve) => {
			const listener = (payload: T) => {
				if (!predicate(payload)) return;
				socket.off(event, listener);
				resolve(payload);
			};
			socket.on(event, listener);
		}),
		`socket.io event ${event}`
	);
}

const onlineIds = (online: PresenceUser[] | undefined) => (online ?? []).map((u) => u.id).sort();

// Yjs ----------------------------------------------------------------------------------------

interface Client {
	doc: Y.Doc;
	text: Y.Text;
	provider: WebsocketProvider;
	closes: number[];
}

function yjsClient(docName: string, headers: Record<string, string>): Client {
	const doc = new Y.Doc();
	const provider = yjsProvider(wsBase, docName, doc, headers, 300);
	providers.push(provider);
	return { doc, text: doc.getText('notes'), provider, closes: closeCodes(provider) };
}

async function syncedClient(docName: string, login: string, extraHeaders: Record<string, string> = {}): Promise<Client> {
	const client = yjsClient(docName, { Cookie: await cookieFor(login), ...extraHeaders });
	await waitUntil(() => client.provider.synced, `${login} synced on ${docName}`);
	return client;
}

const upgradeStatus = (docName: string, headers: Record<string, string>) => upgradeStatusAt(wsBase, rawSockets, docName, headers);
const rawYjs = (docName: string, cookie: string) => rawYjsAt(wsBase, rawSockets, docName, cookie);

/** Edits on one client reach the other through the server. */
async function expectSync(from: Client, to: Client, marker: string): Promise<void> {
	from.text.insert(from.text.length, marker);
	await waitUntil(() => to.text.toString().includes(marker), `"${marker}" to propagate`);
}

// ---------------------------------------------------------------------------------------------
// socket.io
// ---------------------------------------------------------------------------------------------

describe('socket.io', () => {
	test('refuses connections without a valid, fully signed-in session', async () => {
		const noCookie = await connectError(connectSocket());
		expect(noCookie.message).toBe('Non authentifié');
		expect((await connectError(connectSocket({ Cookie: 'session=not-a-token' }))).message).toBe('Non authentifié');
		expect((await connectError(connectSocket({ Cookie: `session=${generateSessionToken()}` }))).message).toBe('Non authentifié');
		// A coordinator must use two-factor authentication: a session that still owes it is not enough.
		const owed = await cookieFor('marc.weber', { twoFactorVerified: false });
		expect((await connectError(connectSocket({ Cookie: owed }))).message).toBe('Non authentifié');
		// A user who does not need two-factor authentication is in with a password-only session.
		await connected(connectSocket({ Cookie: await cookieFor('paul.schmitt', { twoFactorVerified: false }) }));
	});

	test('refuses a handshake from a foreign Origin', async () => {
		const cookie = await cookieFor('ines.haddad');
		await connectError(connectSocket({ Cookie: cookie, Origin: 'https://evil.example' }));
		await connected(connectSocket({ Cookie: cookie, Origin: httpBase }));
	});

	test('joining one’s own microstructure returns the presence list', async () => {
		const ines = await signedInSocket('ines.haddad');
		const presence = nextEvent<{ microstructureId: string; online: PresenceUser[] }>(ines, 'ms:presence');
		const reply = await call(ines, 'ms:join', { microstructureId: ids.microstructures.tanneurs });
		expect(reply).toEqual({
			ok: true,
			online: [{ id: ids.users['ines.haddad'], name: 'Inès Haddad', profession: 'medecin_generaliste' }]
		});
		expect(await presence).toEqual({ microstructureId: ids.microstructures.tanneurs, online: reply.ok ? reply.online : [] });
		expect((await call(ines, 'ms:leave', { microstructureId: ids.microstructures.tanneurs })).ok).toBe(true);
	});

	test('joining a microstructure one may not see is refused, in French, like a missing one', async () => {
		const ines = await signedInSocket('ines.haddad');
		const refused = { ok: false, error: 'Microstructure introuvable.' };
		expect(await call(ines, 'ms:join', { microstructureId: ids.microstructures.ilenantes })).toEqual(refused);
		expect(await call(ines, 'ms:join', { microstructureId: ids.microstructures.neuhof })).toEqual(refused);
		expect(await call(ines, 'ms:join', { microstructureId: '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b' })).toEqual(refused);
		// Nobody else was told anything, and the socket is in no microstructure room.
		const rooms = (await realtime.io.in(`user:${ids.users['ines.haddad']}`).fetchSockets()).flatMap((s) => [...s.rooms]);
		expect(rooms.filter((r) => r.startsWith('ms:'))).toEqual([]);
	});

	test('network roles and the platform administrator join according to the policy', async () => {
		const marc = await signedInSocket('marc.weber');
		expect((await call(marc, 'ms:join', { microstructureId: ids.microstructures.haguenau })).ok).toBe(true);
		expect((await call(marc, 'ms:join', { microstructureId: ids.microstructures.reze })).ok).toBe(false);
		const admin = await signedInSocket('admin');
		expect((await call(admin, 'ms:join', { microstructureId: ids.microstructures.reze })).ok).toBe(true);
		const nadia = await signedInSocket('nadia.benali');
		expect((await call(nadia, 'ms:join', { microstructureId: ids.microstructures.tanneurs })).ok).toBe(true);
		expect((await call(nadia, 'ms:join', { microstructureId: ids.microstructures.neuhof })).ok).toBe(false);
	});

	test('presence follows a second user joining, leaving and disconnecting', async () => {
		const ms = ids.microstructures.neuhof;
		const claire = await signedInSocket('claire.muller');
		const thomas = await signedInSocket('thomas.roth');
		const claireId = ids.users['claire.muller'];
		const thomasId = ids.users['thomas.roth'];
		expect(onlineIds((await call(claire, 'ms:join', { microstructureId: ms })).online)).toEqual([claireId]);

		const both = nextEvent<{ microstructureId: string; online: PresenceUser[] }>(claire, 'ms:presence', (p) => p.online.length === 2);
		const joined = await call(thomas, 'ms:join', { microstructureId: ms });
		expect(onlineIds(joined.ok ? joined.online : [])).toEqual([claireId, thomasId].sort());
		const p1 = await both;
		expect(p1.microstructureId).toBe(ms);
		// Sorted by name, French collation.
		expect(p1.online.map((u) => u.name)).toEqual(['Claire Muller', 'Thomas Roth']);

		const afterLeave = nextEvent<{ online: PresenceUser[] }>(claire, 'ms:presence', (p) => p.online.length === 1);
		expect(await call(thomas, 'ms:leave', { microstructureId: ms })).toEqual({ ok: true });
		expect(onlineIds((await afterLeave).online)).toEqual([claireId]);

		const back = nextEvent<{ online: PresenceUser[] }>(claire, 'ms:presence', (p) => p.online.length === 2);
		await call(thomas, 'ms:join', { microstructureId: ms });
		await back;
		const afterDisconnect = nextEvent<{ online: PresenceUser[] }>(claire, 'ms:presence', (p) => p.online.length === 1);
		thomas.disconnect();
		expect(onlineIds((await afterDisconnect).online)).toEqual([claireId]);
	});

	test('malformed payloads get {ok:false}; the socket and the server keep working', async () => {
		const ms = ids.microstructures.haguenau;
		const francois = await signedInSocket('francois.hoffmann');
		const invalid = { ok: false, error: 'Requête invalide.' };
		const payloads: unknown[] = [
			undefined,
			null,
			42,
			'ms',
			[ms],
			{},
			{ microstructureId: 42 },
			{ microstructureId: null },
			{ microstructureId: [ms] },
			{ microstructureId: { id: ms } },
			{ microstructureId: 'not-a-uuid' },
			{ microstructureId: `${ms} ` },
			{ microstructureId: ms, extra: true },
			{ microstructureId: 'a'.repeat(200_000) },
			{ ['a'.repeat(100_000)]: ms }
		];
		for (const payload of payloads) {
			expect(await call(francois, 'ms:join', payload), JSON.stringify(payload)?.slice(0, 60)).toEqual(invalid);
			expect(await call(francois, 'ms:leave', payload), JSON.stringify(payload)?.slice(0, 60)).toEqual(invalid);
		}
		// An acknowledgement alone, without payload.
		expect(await call(francois, 'ms:join')).toEqual(invalid);
		// Unknown events, with and without payload.
		const unknown = { ok: false, error: 'Événement inconnu.' };
		expect(await call(francois, 'ms:delete', { microstructureId: ms })).toEqual(unknown);
		expect(await call(francois, 'ms:presence', { microstructureId: ms, online: [] })).toEqual(unknown);
		expect(await call(francois, 'x'.repeat(10_000), 1, 2, 3)).toEqual(unknown);

		// Without an acknowledgement, the error comes back as an `erreur` event.
		const errors: unknown[] = [];
		francois.on('erreur', (e) => errors.push(e));
		francois.emit('ms:join', { microstructureId: 'nope' });
		francois.emit('ms:leave');
		francois.emit('ms:join', ids.microstructures.ilenantes);
		await waitUntil(() => errors.length === 3, 'three erreur events');
		expect(errors).toEqual([
			{ event: 'ms:join', error: 'Requête invalide.' },
			{ event: 'ms:leave', error: 'Requête invalide.' },
			{ event: 'ms:join', error: 'Requête invalide.' }
		]);
		// A refusal without acknowledgement is reported the same way.
		francois.emit('ms:join', { microstructureId: ids.microstructures.ilenantes });
		await waitUntil(() => errors.length === 4, 'a fourth erreur event');
		expect(errors[3]).toEqual({ event: 'ms:join', error: 'Microstructure introuvable.' });

		// Still connected and served, and so are the others.
		expect(francois.connected).toBe(true);
		expect((await call(francois, 'ms:join', { microstructureId: ms })).ok).toBe(true);
		const emilie = await signedInSocket('emilie.wagner');
		const reply = await call(emilie, 'ms:join', { microstructureId: ms });
		expect(onlineIds(reply.ok ? reply.online : [])).toEqual(
			expect.arrayContaining([ids.users['emilie.wagner'], ids.users['francois.hoffmann']])
		);
	});

	test('a message above the size limit disconnects that socket only', async () => {
		const lea = await signedInSocket('lea.fischer');
		const other = await signedInSocket('emilie.wagner');
		const disconnected = withTimeout(new Promise<string>((resolve) => lea.once('disconnect', (reason) => resolve(reason))), 'disconnect');
		lea.emit('ms:join', { microstructureId: 'a'.repeat(MAX_MESSAGE_BYTES + 10) });
		expect(await disconnected).toMatch(/transport (close|error)/);
		expect(other.connected).toBe(true);
		expect((await call(other, 'ms:join', { microstructureId: ids.microstructures.haguenau })).ok).toBe(true);
	});
});

// ---------------------------------------------------------------------------------------------
// Yjs
// ---------------------------------------------------------------------------------------------

describe('Yjs websocket', () => {
	test('upgrades are refused without a session (401), for another’s document (404), from a foreign Origin (403)', async () => {
		const tanneurs = notes(ids.microstructures.tanneurs);
		const ines = await cookieFor('ines.haddad');
		expect(await upgradeStatus(tanneurs, {})).toBe(401);
		expect(await upgradeStatus(tanneurs, { Cookie: 'session=junk' })).toBe(401);
		expect(await upgradeStatus(tanneurs, { Cookie: `session=${generateSessionToken()}` })).toBe(401);
		expect(await upgradeStatus(tanneurs, { Cookie: await cookieFor('marc.weber', { twoFactorVerified: false }) })).toBe(401);

		expect(await upgradeStatus(notes(ids.microstructures.neuhof), { Cookie: ines })).toBe(404);
		expect(await upgradeStatus(notes(ids.microstructures.ilenantes), { Cookie: ines })).toBe(404);
		expect(await upgradeStatus(notes('3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b'), { Cookie: ines })).toBe(404);
		expect(await upgradeStatus(`pps:${ids.microstructures.tanneurs}`, { Cookie: ines })).toBe(404);
		expect(await upgradeStatus('%E0%A4%A', { Cookie: ines })).toBe(400);

		expect(await upgradeStatus(tanneurs, { Cookie: ines, Origin: 'https://evil.example' })).toBe(403);
		expect(await upgradeStatus(tanneurs, { Cookie: ines, Origin: `http://127.0.0.1:1` })).toBe(403);
		expect(await upgradeStatus(tanneurs, { Cookie: ines, Origin: httpBase })).toBe(101);
		expect(await upgradeStatus(tanneurs, { Cookie: ines })).toBe(101);
	});

	test('two read-write clients load the stored notes and converge', async () => {
		const name = notes(ids.microstructures.tanneurs);
		const ines = await syncedClient(name, 'ines.haddad', { Origin: httpBase });
		const camille = await syncedClient(name, 'camille.durand');
		expect(ines.text.toString()).toMatch(/^Notes d'équipe — Cabinet des Tanneurs/);
		expect(camille.text.toString()).toBe(ines.text.toString());

		// Concurrent edits at both ends.
		ines.text.insert(0, '[Inès] ');
		camille.text.insert(camille.text.length, '[Camille]');
		ines.text.insert(ines.text.length, '[Inès 2]');
		await waitUntil(
			() => ines.text.toString() === camille.text.toString() && camille.text.toString().includes('[Inès 2]') && ines.text.toString().includes('[Camille]'),
			'convergence'
		);
		expect(ines.text.toString().startsWith('[Inès] ')).toBe(true);
		destroy(ines);
		destroy(camille);
	});

	test('an update reaches every other connection, not back to its author (it has it)', async () => {
		const name = notes(ids.microstructures.tanneurs);
		const camille = await syncedClient(name, 'camille.durand');
		const author = await rawYjs(name, await cookieFor('ines.haddad'));
		const received: number[][] = [];
		author.ws.on('message', (data: Buffer) => received.push([...new Uint8Array(data).subarray(0, 2)]));

		const source = new Y.Doc();
		source.getText('notes').insert(0, '[envoyé sans écho]');
		author.ws.send(syncMessage((encoder) => syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(source))));
		await waitUntil(() => camille.text.toString().includes('[envoyé sans écho]'), 'the update to reach Camille');
		// A sync step 1 is answered in order after the update: whatever the server sent the author
		// about her update is in by the time its step 2 arrives.
		author.ws.send(syncMessage((encoder) => syncProtocol.writeSyncStep1(encoder, new Y.Doc())));
		await waitUntil(() => received.some(([type, sync]) => type === 0 && sync === 1), 'the sync step 2 answer');
		expect(received.filter(([type, sync]) => type === 0 && sync === 2)).toEqual([]);
		destroy(camille);
	});

	test('an update that releases one held back for a missing dependency reaches its author too', async () => {
		const name = notes(ids.microstructures.tanneurs);
		// Two updates of one editor, the second depending on the first.
		const source = new Y.Doc();
		const text = source.getText('notes');
		text.insert(0, '«A');
		const first = Y.encodeStateAsUpdate(source);
		const afterFirst = Y.encodeStateVector(source);
		text.insert(2, 'B»');
		const second = Y.encodeStateAsUpdate(source, afterFirst);

		// Camille is connected before the second arrives (a sync would hand her what is held back).
		const camille = await syncedClient(name, 'camille.durand');
		// The second arrives first: the server holds it back until what it depends on is there.
		const early = await rawYjs(name, await cookieFor('ines.haddad'));
		const processed = new Promise<void>((resolve) =>
			early.ws.on('message', (data: Buffer) => data[0] === 0 && data[1] === syncProtocol.messageYjsSyncStep2 && resolve())
		);
		early.ws.send(syncMessage((encoder) => syncProtocol.writeUpdate(encoder, second)));
		early.ws.send(syncMessage((encoder) => syncProtocol.writeSyncStep1(encoder, new Y.Doc())));
		await withTimeout(processed, 'the server to process the early update');
		// (No sync barrier for Camille here: its answer would hand her what is held back.)
		expect(camille.doc.store.pendingStructs).toBeNull();
		expect(camille.text.toString()).not.toContain('«A');
		// Camille brings the first (a copy of it): applying it releases the second, which she lacks.
		Y.applyUpdate(camille.doc, first);
		await waitUntil(() => camille.text.toString().includes('«AB»'), 'the released update to reach its author');
		const paul = await syncedClient(name, 'paul.schmitt');
		expect(paul.text.toString()).toContain('«AB»');
		destroy(camille, paul);
	});

	test('a read-only (secretariat) client receives updates, its own edits are dropped by the server', async () => {
		const name = notes(ids.microstructures.tanneurs);
		const ines = await syncedClient(name, 'ines.haddad');
		const nadia = await syncedClient(name, 'nadia.benali');
		expect(nadia.text.toString()).toBe(ines.text.toString());

		await expectSync(ines, nadia, '[vu par le secrétariat]');

		nadia.text.insert(0, 'SECRETARIAT-EDIT ');
		nadia.text.insert(nadia.text.length, ' SECRETARIAT-EDIT-2');
		// Once the server has handled nadia's edits (barrier on her connection) and ines has received
		// everything the server sent her until then (barrier on hers), nothing of it reached ines.
		await barrier(nadia);
		await barrier(ines);
		expect(ines.text.toString()).not.toContain('SECRETARIAT-EDIT');
		// The connection stays open and keeps receiving.
		await expectSync(ines, nadia, '[après]');
		expect(ines.text.toString()).not.toContain('SECRETARIAT-EDIT');

		// A fresh load, and the database, do not have it either.
		const reload = await syncedClient(name, 'camille.durand');
		expect(reload.text.toString()).toContain('[après]');
		expect(reload.text.toString()).not.toContain('SECRETARIAT-EDIT');
		await realtime.yjs.flushAll();
		const stored = (await loadDoc(t.db, name)).getText('notes').toString();
		expect(stored).toContain('[après]');
		expect(stored).not.toContain('SECRETARIAT-EDIT');

		// Administrators who do not coordinate are read-only too: a network admin, the platform admin.
		const networkAdmin = await createUser(t.db, {
			email: 'admin.only@example.org',
			firstName: 'Admin',
			lastName: 'Réseau',
			profession: 'autre',
			password: 'a-long-enough-password'
		});
		await addMembership(t.db, { userId: networkAdmin, networkId: ids.networks.est, role: 'admin', createdBy: null });
		const token = generateSessionToken();
		await createSession(t.db, token, networkAdmin, { twoFactorVerified: true });
		const readers = [yjsClient(name, { Cookie: `session=${token}` }), await syncedClient(name, 'admin')];
		await waitUntil(() => readers[0].provider.synced, 'network admin synced');
		for (const [i, reader] of readers.entries()) {
			expect(reader.text.toString()).toContain('[après]');
			reader.text.insert(0, `ADMIN-EDIT-${i} `);
			await barrier(reader);
		}
		await barrier(ines);
		expect(ines.text.toString()).not.toContain('ADMIN-EDIT');
		// Whereas network coordinators write (Sophie is coordinator and administrator).
		const marc = await syncedClient(name, 'marc.weber');
		await expectSync(marc, ines, '[coordination médicale]');
		const sophie = await syncedClient(name, 'sophie.klein');
		await expectSync(sophie, ines, '[coordination administrative]');
		for (const c of [ines, nadia, reload, ...readers, marc, sophie]) destroy(c);
	});

	test('a malformed message closes that connection only (1003); the others keep syncing', async () => {
		const name = notes(ids.microstructures.neuhof);
		const thomas = await syncedClient(name, 'thomas.roth');
		const yasmine = await syncedClient(name, 'yasmine.belkacem');
		const claireCookie = await cookieFor('claire.muller');
		const malformed: [string, Uint8Array][] = [
			['update with a length beyond the message', new Uint8Array([0, 2, 200, 1, 2])],
			['sync step 1 with a truncated state vector', new Uint8Array([0, 0, 5, 1])],
			['unknown sync message', new Uint8Array([0, 9, 0])],
			['unknown message type', new Uint8Array([42])],
			['empty message', new Uint8Array([])],
			['awareness that is not JSON', new Uint8Array([1, 5, 1, 7, 1, 1, 0x7b])],
			['text frame', new TextEncoder().encode('hello')]
		];
		for (const [label, bytes] of malformed) {
			const bad = await rawYjs(name, claireCookie);
			if (label === 'text frame') bad.ws.send('hello');
			else bad.ws.send(bytes);
			expect(await withTimeout(bad.closed, label), label).toBe(1003);
		}
		await expectSync(thomas, yasmine, '[toujours là]');
		await expectSync(yasmine, thomas, '[moi aussi]');
		// The malicious user can still open a normal connection afterwards.
		const claire = await syncedClient(name, 'claire.muller');
		expect(claire.text.toString()).toContain('[moi aussi]');
		for (const c of [thomas, yasmine, claire]) destroy(c);
	});

	test('a message above 1 MiB closes that connection with 1009', async () => {
		const name = notes(ids.microstructures.neuhof);
		const thomas = await syncedClient(name, 'thomas.roth');
		const yasmine = await syncedClient(name, 'yasmine.belkacem');
		const big = await rawYjs(name, await cookieFor('claire.muller'));
		big.ws.send(new Uint8Array(MAX_MESSAGE_BYTES + 1));
		expect(await withTimeout(big.closed, 'close after an oversized message')).toBe(1009);
		await expectSync(thomas, yasmine, '[après le gros message]');
		// Exactly at the limit is allowed (and here malformed, hence 1003, not 1009).
		const atLimit = await rawYjs(name, await cookieFor('claire.muller'));
		atLimit.ws.send(new Uint8Array(MAX_MESSAGE_BYTES).fill(42));
		expect(await withTimeout(atLimit.closed, 'close after a malformed message')).toBe(1003);
		destroy(thomas);
		destroy(yasmine);
	});

	test('content persists in the database', async () => {
		const name = notes(ids.microstructures.haguenau);
		const francois = await syncedClient(name, 'francois.hoffmann');
		const lea = await syncedClient(name, 'lea.fischer');
		francois.text.insert(francois.text.length, '\nRCP du 12 : dossier à reprendre.');
		lea.text.insert(0, '[Léa] ');
		await waitUntil(() => francois.text.toString() === lea.text.toString() && francois.text.toString().includes('[Léa]'), 'convergence');
		const expected = francois.text.toString();
		await barrier(francois);
		await barrier(lea);
		destroy(francois);
		destroy(lea);
		await realtime.yjs.flushAll();
		const stored = await loadDoc(t.db, name);
		expect(stored.getText('notes').toString()).toBe(expected);
		expect(expected).toContain('RCP du 12 : dossier à reprendre.');
		// And a new client gets it from the server.
		const emilie = await syncedClient(name, 'emilie.wagner');
		expect(emilie.text.toString()).toBe(expected);
		destroy(emilie);
	});

	test('a burst of edits is stored as a few grouped rows, losing nothing', async () => {
		const name = notes(ids.microstructures.haguenau);
		const francois = await syncedClient(name, 'francois.hoffmann');
		const emilie = await syncedClient(name, 'emilie.wagner');
		const before = await countUpdates(t.db, name);
		for (let i = 0; i < 120; i++) francois.text.insert(francois.text.length, `${i % 10}`);
		await barrier(francois);
		await realtime.yjs.flush(name);
		const rows = (await countUpdates(t.db, name)) - before;
		expect(rows).toBeGreaterThan(0);
		expect(rows).toBeLessThan(120);
		await waitUntil(() => emilie.text.toString() === francois.text.toString(), 'emilie up to date');
		expect((await loadDoc(t.db, name)).getText('notes').toString()).toBe(francois.text.toString());
		destroy(francois);
		destroy(emilie);
	});

	test('more than 200 updates are compacted', async () => {
		const name = notes(ids.microstructures.ilenantes);
		const jean = await syncedClient(name, 'jean.leroux');
		const maelle = await syncedClient(name, 'maelle.guillou');
		const before = await countUpdates(t.db, name);
		expect(before).toBe(1);
		// Each insert waits for its write, so that it is stored as its own row (a burst would be
		// grouped into fewer rows by the server's group commit).
		const typeAndStore = async (i: number) => {
			jean.text.insert(jean.text.length, `${i % 10}`);
			await barrier(jean);
			await realtime.yjs.flush(name);
		};
		for (let i = 0; i < 150; i++) await typeAndStore(i);
		const midway = await countUpdates(t.db, name);
		expect(midway).toBe(151);
		for (let i = 150; i < 260; i++) await typeAndStore(i);
		const after = await countUpdates(t.db, name);
		expect(after).toBeLessThan(midway);
		expect(after).toBeLessThanOrEqual(61);
		await waitUntil(() => maelle.text.toString() === jean.text.toString(), 'maelle up to date');
		expect((await loadDoc(t.db, name)).getText('notes').toString()).toBe(jean.text.toString());
		destroy(jean);
		destroy(maelle);
	});

	test('ending a membership closes that user’s connections at once; a downgrade makes them read-only', async () => {
		const ms = ids.microstructures.herblain;
		const name = notes(ms);
		const antoine = await syncedClient(name, 'antoine.bernard');
		const sarah = await syncedClient(name, 'sarah.cohen');
		const manon = await syncedClient(name, 'manon.robin');
		const antoineSocket = await signedInSocket('antoine.bernard');
		expect((await call(antoineSocket, 'ms:join', { microstructureId: ms })).ok).toBe(true);

		const membership = async (login: string) =>
			(await t.db
				.selectFrom('membership')
				.select('id')
				.where('user_id', '=', ids.users[login])
				.where('microstructure_id', '=', ms)
				.executeTakeFirstOrThrow()).id;
		expect(await endMembership(t.db, await membership('antoine.bernard'), ids.users['julie.morel'])).toBe(true);
		// Nothing happens until the change is applied to live connections.
		await barrier(antoine);
		expect(antoine.provider.wsconnected).toBe(true);
		await reauthorizeUser(ids.users['antoine.bernard']);
		await waitUntil(() => antoine.closes.includes(4403), 'antoine closed with 4403');
		// 44xx is final: the provider does not come back, and a new upgrade is refused.
		expect(antoine.provider.shouldConnect).toBe(false);
		expect(await upgradeStatus(name, { Cookie: await cookieFor('antoine.bernard') })).toBe(404);
		// The socket left the microstructure room, but stays connected.
		const socketRooms = (await realtime.io.in(`user:${ids.users['antoine.bernard']}`).fetchSockets()).flatMap((s) => [...s.rooms]);
		expect(socketRooms).not.toContain(`ms:${ms}`);
		expect(antoineSocket.connected).toBe(true);
		expect(await call(antoineSocket, 'ms:join', { microstructureId: ms })).toEqual({ ok: false, error: 'Microstructure introuvable.' });

		// Manon becomes secretariat: still connected, but read-only.
		const manonId = ids.users['manon.robin'];
		expect(await endMembership(t.db, await membership('manon.robin'), ids.users['julie.morel'])).toBe(true);
		await addMembership(t.db, { userId: manonId, microstructureId: ms, role: 'secretariat', createdBy: ids.users['julie.morel'] });
		await reauthorizeUser(manonId);
		manon.text.insert(0, 'DOWNGRADED-EDIT ');
		await barrier(manon);
		await barrier(sarah);
		expect(sarah.text.toString()).not.toContain('DOWNGRADED-EDIT');
		expect(manon.provider.wsconnected).toBe(true);
		expect(manon.closes).toEqual([]);
		// The others are untouched.
		await expectSync(sarah, manon, '[Sarah]');
		for (const c of [antoine, sarah, manon]) destroy(c);
	});

	test('disconnectUser closes every socket and Yjs connection of that user only', async () => {
		const ms = ids.microstructures.reze;
		const name = notes(ms);
		const luc = await syncedClient(name, 'luc.martin');
		const luc2 = await syncedClient(name, 'luc.martin');
		const aicha = await syncedClient(name, 'aicha.diallo');
		const lucSocket = await signedInSocket('luc.martin');
		const aichaSocket = await signedInSocket('aicha.diallo');
		const reason = withTimeout(new Promise<string>((resolve) => lucSocket.once('disconnect', (r) => resolve(r))), 'luc disconnected');

		await disconnectUser(ids.users['luc.martin']);
		expect(await reason).toBe('io server disconnect');
		await waitUntil(() => luc.closes.includes(4401) && luc2.closes.includes(4401), 'luc’s Yjs connections closed with 4401');
		expect(luc.provider.shouldConnect).toBe(false);

		expect(aichaSocket.connected).toBe(true);
		expect((await call(aichaSocket, 'ms:join', { microstructureId: ms })).ok).toBe(true);
		expect(aicha.closes).toEqual([]);
		aicha.text.insert(0, '[Aïcha] ');
		await barrier(aicha);
		expect(aicha.provider.wsconnected).toBe(true);
		for (const c of [luc, luc2, aicha]) destroy(c);
	});
	test("awareness: a client cannot overwrite another's presence, and echoes of peers do not cut it off", async () => {
		const name = notes(ids.microstructures.reze);
		const antoine = await syncedClient(name, 'nicolas.garnier');
		const sarah = await syncedClient(name, 'hugo.lambert');
		const manon = await syncedClient(name, 'elodie.petit');
		antoine.provider.awareness.setLocalStateField('user', { name: 'Antoine' });
		sarah.provider.awareness.setLocalStateField('user', { name: 'Sarah' });
		const antoineId = antoine.doc.clientID;
		await waitUntil(() => (manon.provider.awareness.getStates().get(antoineId) as { user?: { name: string } } | undefined)?.user?.name === 'Antoine', 'Antoine visible to Manon');
		await waitUntil(() => manon.provider.awareness.getStates().has(sarah.doc.clientID), 'Sarah visible to Manon');

		// Sarah's connection claims Antoine's id with a newer clock.
		const forged = new (await import('y-protocols/awareness')).Awareness(new Y.Doc());
		forged.clientID = antoineId;
		forged.setLocalState({ user: { name: 'Usurpateur' } });
		(forged.meta.get(antoineId) as { clock: number }).clock = 1000;
		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, 1);
		encoding.writeVarUint8Array(encoder, (await import('y-protocols/awareness')).encodeAwarenessUpdate(forged, [antoineId]));
		(sarah.provider.ws as unknown as WebSocket).send(encoding.toUint8Array(encoder));
		await barrier(sarah);
		await barrier(manon);

		expect((manon.provider.awareness.getStates().get(antoineId) as { user: { name: string } }).user.name).toBe('Antoine');
		expect(sarah.closes).toEqual([]);
		expect(sarah.provider.wsconnected).toBe(true);
		// Sarah still speaks for herself.
		sarah.provider.awareness.setLocalStateField('user', { name: 'Sarah C.' });
		await waitUntil(() => (manon.provider.awareness.getStates().get(sarah.doc.clientID) as { user: { name: string } }).user.name === 'Sarah C.', 'Sarah renamed');
		for (const c of [antoine, sarah, manon]) destroy(c);
	});
});
