// Randomized convergence of the server's document handling: several y-websocket clients edit one
// PPS concurrently (prose, list, meta), some of them going offline and coming back, driven by a
// seeded PRNG. In the end every client, the server's live document and the stored document (what
// a restart would load) must agree.
process.env.LOG_LEVEL = 'silent';
process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;

import type { Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { barrier, onStored, sessionCookie, startRealtimeServer, stopRealtimeServer, waitUntil as waitUntilWithin, yjsProvider } from '../helpers/realtime.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import type { Realtime } from '../../src/lib/server/realtime/attach.ts';
import { loadDoc } from '../../src/lib/server/realtime/yjs-store.ts';
import { includeTestPatient } from '../helpers/patients.ts';
import { ACTION_STATUSES, list, meta, newItem, project, type PpsProjection } from '../../src/lib/pps/model.ts';

const SEED = Number(process.env.CONVERGENCE_SEED ?? 20261124);
const OPERATIONS = 400;
const TEAM = ['ines.haddad', 'paul.schmitt', 'camille.durand', 'karim.mansouri'];

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
let server: Server;
let realtime: Realtime;
let wsBase: string;
let tanneurs: { id: string; networkId: string };
const providers: WebsocketProvider[] = [];

beforeAll(async () => {
	t = await createSharedTestDb();
	ids = await seedDemo(t.db);
	const ms = await t.db.selectFrom('microstructure').select(['id', 'network_id']).where('id', '=', ids.microstructures.tanneurs).executeTakeFirstOrThrow();
	tanneurs = { id: ms.id, networkId: ms.network_id };
	let port: number;
	({ server, realtime, port } = await startRealtimeServer());
	wsBase = `ws://127.0.0.1:${port}`;
});

afterAll(async () => {
	for (const p of providers) p.destroy();
	await stopRealtimeServer(realtime, server);
	await new Promise((resolve) => setTimeout(resolve, 1200)); // pending projection timer
	await t?.close();
});

/** A new patient of the Cabinet des Tanneurs whose care team is TEAM; returns its PPS document name. */
async function newPps(): Promise<string> {
	return (await includeTestPatient(t.db, tanneurs, ids.users['ines.haddad'], 'Convergence', TEAM.map((l) => ids.users[l]))).docName;
}

/** mulberry32: small, fast, good enough to drive a test, and reproducible from its seed. */
function prng(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let r = Math.imul(a ^ (a >>> 15), 1 | a);
		r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
		return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
	};
	return {
		next,
		int: (n: number) => Math.floor(next() * n),
		pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
		word: () => {
			const letters = 'abcdefghijklmnopqrstuvwxyzéèàç ';
			let s = '';
			for (let i = 1 + Math.floor(next() * 6); i > 0; i--) s += letters[Math.floor(next() * letters.length)];
			return s;
		}
	};
}

const waitUntil = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => waitUntilWithin(condition, what, timeoutMs);

interface Client {
	doc: Y.Doc;
	provider: WebsocketProvider;
	stored: Map<number, number>;
}

async function connect(docName: string, login: string): Promise<Client> {
	const headers = { Cookie: await sessionCookie(t.db, ids.users[login]) };
	const doc = new Y.Doc();
	const provider = yjsProvider(wsBase, docName, doc, headers, 200);
	providers.push(provider);
	const stored = new Map<number, number>();
	onStored(provider, (snapshot) => {
		for (const [client, clock] of snapshot.sv) stored.set(client, Math.max(stored.get(client) ?? 0, clock));
	});
	await waitUntil(() => provider.synced, `${login} synced`);
	return { doc, provider, stored };
}

type Rng = ReturnType<typeof prng>;

/** One random edit, of the kinds the PPS editor makes. Returns its kind, for the statistics. */
function randomEdit(doc: Y.Doc, rng: Rng): string {
	const goals = doc.getXmlFragment('goals');
	const texts = goals.toArray().filter((n): n is Y.XmlText => n instanceof Y.XmlText);
	const actions = list(doc, 'actions');
	const roll = rng.next();
	if (roll < 0.08 || texts.length === 0) {
		goals.insert(rng.int(goals.length + 1), [new Y.XmlText(rng.word())]);
		return 'goals: new text node';
	}
	if (roll < 0.35) {
		const text = rng.pick(texts);
		text.insert(rng.int(text.length + 1), rng.word());
		return 'goals: insert';
	}
	if (roll < 0.48) {
		const text = rng.pick(texts);
		if (text.length === 0) {
			if (rng.next() < 0.5) goals.delete(goals.toArray().indexOf(text), 1);
			return 'goals: delete node';
		}
		const at = rng.int(text.length);
		text.delete(at, 1 + rng.int(Math.min(5, text.length - at)));
		return 'goals: delete';
	}
	if (roll < 0.62) {
		actions.push([newItem('actions', { what: rng.word(), status: rng.pick(ACTION_STATUSES) })]);
		return 'actions: push';
	}
	if (roll < 0.66) {
		actions.insert(rng.int(actions.length + 1), [newItem('actions', { what: rng.word(), due: '2027-01-01' })]);
		return 'actions: insert';
	}
	if (roll < 0.74) {
		if (actions.length === 0) return 'actions: nothing to delete';
		actions.delete(rng.int(actions.length), 1);
		return 'actions: delete';
	}
	if (roll < 0.88) {
		if (actions.length === 0) return 'actions: nothing to set';
		const item = actions.get(rng.int(actions.length));
		if (rng.next() < 0.5) item.set('status', rng.pick(ACTION_STATUSES));
		else item.set('what', rng.word());
		return 'actions: set';
	}
	if (roll < 0.95) {
		meta(doc).set('reviewDate', `2027-${String(1 + rng.int(12)).padStart(2, '0')}-${String(1 + rng.int(28)).padStart(2, '0')}`);
		return 'meta: reviewDate';
	}
	// Several edits in one transaction, as a paste or a restore would.
	doc.transact(() => {
		for (let i = 0; i < 3; i++) randomEdit(doc, rng);
	});
	return 'transaction';
}

test.each([
	[SEED, 6],
	[SEED + 1, 7],
	[SEED + 2, 8]
])(`seed %i, %i clients, ${OPERATIONS} random concurrent edits: clients, server and storage converge`, async (seed, count) => {
	const docName = await newPps();
	const rng = prng(seed);
	const clients: Client[] = [];
	for (let i = 0; i < count; i++) clients.push(await connect(docName, TEAM[i % TEAM.length]));
	// A reader (network coordinator, read-only) who only watches: the same document reaches them.
	const reader = await connect(docName, 'marc.weber');

	const kinds = new Map<string, number>();
	let offlineEdits = 0;
	for (let op = 0; op < OPERATIONS; op++) {
		const client = rng.pick(clients);
		// Now and then a client drops off or comes back; edits made offline merge on reconnection.
		if (rng.next() < 0.02) {
			if (client.provider.shouldConnect) client.provider.disconnect();
			else client.provider.connect();
		}
		const kind = randomEdit(client.doc, rng);
		kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
		if (!client.provider.wsconnected) offlineEdits++;
		// Bursts without yielding (true concurrency: nobody has seen the others' edits) and short pauses.
		const pause = rng.next();
		if (pause < 0.3) await new Promise((resolve) => setTimeout(resolve, rng.int(8)));
		else if (pause < 0.5) await new Promise((resolve) => setImmediate(resolve));
	}
	for (const c of clients) if (!c.provider.shouldConnect) c.provider.connect();
	expect(kinds.get('goals: insert')).toBeGreaterThan(20);
	expect(kinds.get('actions: delete')).toBeGreaterThan(5);
	expect(kinds.get('actions: set')).toBeGreaterThan(10);

	// Every client ends up with the same state, and the same projection.
	const states = () => clients.map((c) => Y.decodeStateVector(Y.encodeStateVector(c.doc)));
	await waitUntil(() => clients.every((c) => c.provider.synced && c.provider.wsconnected), 'everyone connected and synced');
	await waitUntil(() => states().every((s) => isDeepStrictEqual(s, states()[0])), 'state vectors converge');
	for (const c of clients) await barrier(c);
	const expected: PpsProjection = project(clients[0].doc);
	const expectedVector = Y.encodeStateVector(clients[0].doc);
	for (const [i, c] of clients.entries()) {
		expect(project(c.doc), `client ${i}`).toEqual(expected);
		expect(Y.encodeStateVector(c.doc), `client ${i}`).toEqual(expectedVector);
		// No pending (undecodable) structs left anywhere.
		expect(c.doc.store.pendingStructs, `client ${i}`).toBeNull();
		expect(c.doc.store.pendingDs, `client ${i}`).toBeNull();
	}
	// Everyone edited: the document holds each client's changes.
	expect(new Set(Y.decodeStateVector(expectedVector).keys())).toEqual(new Set(clients.map((c) => c.doc.clientID)));
	// The final document is not trivial.
	expect(expected.actions.length + expected.goals.length).toBeGreaterThan(10);

	// The server's live document.
	const live = await realtime.yjs.withDoc(docName, (doc) => ({ projection: project(doc), vector: Y.encodeStateVector(doc), pending: doc.store.pendingStructs }));
	expect(live.projection).toEqual(expected);
	expect(live.vector).toEqual(expectedVector);
	expect(live.pending).toBeNull();

	// What is stored, as a restarted server would load it.
	await realtime.yjs.flushAll();
	const stored = await loadDoc(t.db, docName);
	expect(project(stored)).toEqual(expected);
	expect(Y.encodeStateVector(stored)).toEqual(expectedVector);
	expect(stored.store.pendingStructs).toBeNull();

	// And every client has been told that all of its own edits are stored.
	await waitUntil(
		() => clients.every((c) => (c.stored.get(c.doc.clientID) ?? 0) >= Y.getState(c.doc.store, c.doc.clientID)),
		'every client’s edits acknowledged as stored'
	);
	// A late joiner loads the same document.
	await barrier(reader);
	expect(project(reader.doc)).toEqual(expected);
	expect(Y.encodeStateVector(reader.doc)).toEqual(expectedVector);
	const late = await connect(docName, 'ines.haddad');
	expect(project(late.doc)).toEqual(expected);
	expect(Y.encodeStateVector(late.doc)).toEqual(expectedVector);
	for (const c of [...clients, reader, late]) {
		c.provider.destroy();
		c.doc.destroy();
	}
	console.info(`convergence (seed ${seed}, ${count} clients): ${OPERATIONS} operations (${offlineEdits} offline), ${expected.actions.length} actions, ${expected.goals.length} characters of goals`);
});
