// kill -9: the realtime server runs as a child process (crash-server.ts) on a real database, the
// embedded PGlite directory or a dedicated PostgreSQL database when DATABASE_URL is set. A client
// edits its PPS; as soon as the server says "stored" (message 100) the server is killed with
// SIGKILL and started again on the same data: everything acknowledged must still be there.
process.env.LOG_LEVEL = 'silent';

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { createDb, startEmbedded } from '../../src/lib/server/db/index.ts';
import { loadDoc } from '../../src/lib/server/realtime/yjs-store.ts';
import { list, meta, newItem, project, type PpsProjection } from '../../src/lib/pps/model.ts';
import { trackSaves } from '../../src/lib/realtime/save-state.ts';
import { databaseUrlFor } from '../helpers/global-setup.ts';
import { addGoal, destroy, onStored, waitUntil as waitUntilWithin, withTimeout as withTimeoutWithin, yjsProvider } from '../helpers/realtime.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BASE_URL = process.env.DATABASE_URL;
const MODE = BASE_URL ? 'postgresql' : 'embedded';

let dataDir: string | undefined;
let dbName: string | undefined;
let dbUrl: string | undefined;
const children: ChildProcess[] = [];
const providers: WebsocketProvider[] = [];

beforeAll(async () => {
	if (BASE_URL) {
		dbName = `msh_crash_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
		const admin = new pg.Client({ connectionString: BASE_URL });
		await admin.connect();
		await admin.query(`create database ${dbName}`);
		await admin.end();
		dbUrl = databaseUrlFor(BASE_URL, dbName);
	} else {
		dataDir = mkdtempSync(join(tmpdir(), 'msh-crash-'));
	}
});

afterAll(async () => {
	for (const p of providers) p.destroy();
	for (const child of children) {
		// Each server was started in its own process group: end that group, and only it.
		if (child.exitCode === null && child.signalCode === null && child.pid) {
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				// already gone
			}
		}
	}
	if (dbName && BASE_URL) {
		const admin = new pg.Client({ connectionString: BASE_URL });
		await admin.connect();
		// pg's Pool.end() resolves before its clients have disconnected (see tests/helpers/db.ts):
		// wait until they are gone, or the forced drop kills a closing client (an unhandled error).
		const deadline = Date.now() + 10_000;
		while (Date.now() < deadline) {
			const r = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [dbName]);
			if (r.rows[0].n === 0) break;
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		await admin.query(`drop database if exists ${dbName} with (force)`);
		await admin.end();
	}
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The child server
// ---------------------------------------------------------------------------------------------

interface Running {
	/** The server process itself (npx and tsx are wrappers around it). */
	pid: number;
	port: number;
	cookie: string;
	docName: string;
	/** Resolves when the spawned process tree has exited. */
	exited: Promise<void>;
}

function start(port = 0, extraEnv: NodeJS.ProcessEnv = {}): Promise<Running> {
	const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', PORT: String(port), LOGIN: 'ines.haddad', ...extraEnv };
	if (dbUrl) env.DATABASE_URL = dbUrl;
	else {
		delete env.DATABASE_URL;
		env.DATA_DIR = dataDir;
	}
	const child = spawn('npx', ['tsx', 'tests/integration/crash-server.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	children.push(child);
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	let stdout = '';
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	return new Promise<Running>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`crash-server not ready after 45 s\n${stdout}\n${stderr}`)), 45_000);
		child.stdout!.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
			const line = stdout.split('\n').find((l) => l.startsWith('READY '));
			if (!line) return;
			clearTimeout(timer);
			child.stdout!.removeAllListeners('data');
			child.stdout!.resume();
			const info = JSON.parse(line.slice('READY '.length)) as Omit<Running, 'exited'>;
			resolve({ ...info, exited });
		});
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			reject(new Error(`crash-server exited before being ready (${code ?? signal})\n${stdout}\n${stderr}`));
		});
	});
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** Waits until the killed server and its wrappers are gone (the data may then be reopened). */
async function gone(server: Running): Promise<void> {
	await withTimeout(server.exited, 'the killed server’s process tree to exit');
	await waitUntil(() => !alive(server.pid), 'the server process to disappear');
}

/** The stored document, read straight from the database while no server runs. */
async function storedDoc(docName: string): Promise<Y.Doc> {
	if (dbUrl) {
		const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
		const db = createDb(pool);
		try {
			return await loadDoc(db, docName);
		} finally {
			await db.destroy();
		}
	}
	const embedded = await startEmbedded(dataDir);
	const db = createDb(embedded.pool);
	try {
		return await loadDoc(db, docName);
	} finally {
		await db.destroy();
		await embedded.close();
	}
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

const waitUntil = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) => waitUntilWithin(condition, what, timeoutMs);
const withTimeout = <T>(promise: Promise<T>, what: string, timeoutMs = 15_000) => withTimeoutWithin(promise, what, timeoutMs);

interface Client {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** Highest clock of this client's own edits that the server said were stored. */
	acked(): number;
	/** Called on every acknowledgement, synchronously, as it is received. */
	onAck?: () => void;
}

async function connect(server: Running): Promise<Client> {
	const headers = { Cookie: server.cookie };
	const doc = new Y.Doc();
	const provider = yjsProvider(`ws://127.0.0.1:${server.port}`, server.docName, doc, headers, 200);
	providers.push(provider);
	let acked = 0;
	const client: Client = { doc, provider, acked: () => acked };
	onStored(provider, (stored) => {
		acked = Math.max(acked, stored.sv.get(doc.clientID) ?? 0);
		client.onAck?.();
	});
	await waitUntil(() => provider.synced, 'client synced');
	return client;
}


const clock = (client: Client) => Y.getState(client.doc.store, client.doc.clientID);
/** The names of every item of the lists the tests write to. */
const actionNames = (p: PpsProjection) => [...p.actions.map((a) => a.what), ...p.objectives.map((o) => o.text), ...p.problems.map((o) => o.text)];
function pushItem(doc: Y.Doc, round: number, name: string): void {
	if (round === 1) list(doc, 'actions').push([newItem('actions', { what: name, status: 'en_cours' })]);
	else if (round === 2) list(doc, 'objectives').push([newItem('objectives', { text: name })]);
	else list(doc, 'problems').push([newItem('problems', { text: name })]);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

let server: Running;

test(`an acknowledged edit survives kill -9 of the server (${MODE})`, async () => {
	server = await start();
	const client = await connect(server);
	expect(project(client.doc).goals).toBe('');

	// Kill the server the moment it says the edit is stored, before anything else can happen.
	let killedAt = -1;
	client.onAck = () => {
		if (killedAt < 0 && client.acked() >= clock(client)) {
			killedAt = client.acked();
			process.kill(server.pid, 'SIGKILL');
		}
	};
	addGoal(client.doc, 'Acquitté juste avant le crash.');
	const target = clock(client);
	expect(target).toBeGreaterThan(0);
	await waitUntil(() => killedAt >= 0, 'acknowledgement, then kill');
	expect(killedAt).toBeGreaterThanOrEqual(target);
	client.provider.disconnect();
	await gone(server);

	// The database has it, read directly with no server running...
	const stored = await storedDoc(server.docName);
	expect(project(stored).goals).toBe('Acquitté juste avant le crash.');
	expect(Y.getState(stored.store, client.doc.clientID)).toBe(target);

	// ...and a restarted server serves it to a fresh client.
	server = await start();
	const fresh = await connect(server);
	expect(project(fresh.doc).goals).toBe('Acquitté juste avant le crash.');
	expect(Y.getState(fresh.doc.store, client.doc.clientID)).toBe(target);
	destroy(client);
	destroy(fresh);
});

test(`several quick edits, killed mid-stream three times: every acknowledged edit survives (${MODE})`, async () => {
	const EDITS = 40;
	let previous = await connect(server);
	const before = actionNames(project(previous.doc));
	destroy(previous);
	const survivors: string[] = [];
	let lastWriter: Client | undefined;

	for (let round = 1; round <= 3; round++) {
		const client = await connect(server);
		const killAfter = [8, 20, 33][round - 1];
		const clockAfterEdit: number[] = [];
		let killed = false;
		client.onAck = () => {
			if (!killed && clockAfterEdit.length > killAfter && client.acked() >= clockAfterEdit[killAfter]) {
				killed = true;
				process.kill(server.pid, 'SIGKILL');
			}
		};
		// Quick edits, most of them without waiting: many are in flight when the server dies.
		for (let i = 0; i < EDITS && !killed; i++) {
			const name = `r${round}-e${i}`;
			// One list per round: a PPS list holds at most 100 items, which the server enforces.
			if (i % 4 === 3) client.doc.transact(() => {
				pushItem(client.doc, round, name);
				addGoal(client.doc, name);
			});
			else pushItem(client.doc, round, name);
			clockAfterEdit.push(clock(client));
			if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 1));
			else await new Promise((resolve) => setImmediate(resolve));
		}
		await waitUntil(() => killed, `round ${round}: acknowledgement of edit ${killAfter}, then kill`);
		client.provider.disconnect(); // no reconnection to the restarted server (yet)
		await gone(server);
		// Acknowledgements already on their way when the server died count too: they were true.
		const acked = client.acked();
		const made = clockAfterEdit.length;
		const ackedEdits = clockAfterEdit.filter((c) => c <= acked).length;
		expect(ackedEdits).toBeGreaterThan(killAfter);

		server = await start(server.port);
		const fresh = await connect(server);
		const names = actionNames(project(fresh.doc));
		for (let i = 0; i < ackedEdits; i++) expect(names, `round ${round}: acknowledged edit ${i} of ${made}`).toContain(`r${round}-e${i}`);
		for (const name of [...before, ...survivors]) expect(names).toContain(name);
		expect(Y.getState(fresh.doc.store, client.doc.clientID)).toBeGreaterThanOrEqual(acked);
		// What the server loaded is whole: nothing waits for a missing update.
		expect(fresh.doc.store.pendingStructs).toBeNull();
		expect(fresh.doc.store.pendingDs).toBeNull();
		console.info(`crash round ${round} (${MODE}): ${made} edits made, ${ackedEdits} acknowledged, ${names.filter((n) => n.startsWith(`r${round}-`)).length} on the restarted server`);

		// The writer still has every edit; reconnected, it hands the unacknowledged ones over.
		client.provider.connect();
		await waitUntil(() => actionNames(project(fresh.doc)).filter((n) => n.startsWith(`r${round}-`)).length === made, `round ${round}: the writer's unacknowledged edits merged back`);
		await waitUntil(() => client.acked() >= clock(client), `round ${round}: everything acknowledged after reconnection`);
		for (let i = 0; i < made; i++) survivors.push(`r${round}-e${i}`);
		destroy(fresh);
		lastWriter?.provider.destroy();
		lastWriter = client;
	}

	// A last kill with nothing in flight: the full history is on disk.
	const final = await connect(server);
	const expected = project(final.doc);
	expect(actionNames(expected)).toEqual(expect.arrayContaining([...before, ...survivors]));
	process.kill(server.pid, 'SIGKILL');
	final.provider.disconnect();
	lastWriter?.provider.disconnect();
	await gone(server);
	const stored = await storedDoc(server.docName);
	expect(project(stored)).toEqual(expected);
	destroy(final);
	if (lastWriter) destroy(lastWriter);
});

test(`a deletion shown as "Enregistré" survives kill -9, ten times over (${MODE})`, async () => {
	// The issue this guards: the acknowledgement compared state vectors, which deletions do not
	// change, so "Enregistré" stayed on after a deletion and a crash brought the text back.
	const KEEP = 'Texte à garder. ';
	const GONE = 'Seize caractères';
	let killedSaved = 0;
	if (!server || !alive(server.pid)) server = await start(server?.port ?? 0);
	for (let round = 1; round <= 10; round++) {
		const client = await connect(server);
		const saves = trackSaves(client.doc, client.provider, () => {});
		meta(client.doc).set('evaluation', new Y.Text(`${KEEP}${GONE}`));
		await waitUntil(() => saves.saved, `round ${round}: the text stored`);

		const evaluation = meta(client.doc).get('evaluation') as Y.Text;
		evaluation.delete(KEEP.length, GONE.length);
		expect(saves.saved, `round ${round}: a deletion is not yet saved`).toBe(false);
		// Kill at once when the server says it is stored, or at some point before (odd rounds).
		let savedAtKill = false;
		if (round % 2 === 0) {
			await waitUntil(() => saves.saved, `round ${round}: the deletion stored`);
			savedAtKill = true;
			process.kill(server.pid, 'SIGKILL');
		} else {
			await new Promise((resolve) => setTimeout(resolve, 20 * round));
			savedAtKill = saves.saved;
			process.kill(server.pid, 'SIGKILL');
		}
		client.provider.disconnect();
		await gone(server);
		const stored = project(await storedDoc(server.docName)).evaluation;
		if (savedAtKill) {
			killedSaved++;
			expect(stored, `round ${round}: the deletion was shown as saved`).toBe(KEEP);
		} else expect([KEEP, `${KEEP}${GONE}`], `round ${round}`).toContain(stored);
		saves.destroy();
		destroy(client);
		server = await start(server.port);
	}
	expect(killedSaved).toBeGreaterThanOrEqual(5);
}, 240_000);

test.runIf(Boolean(BASE_URL))('two processes writing and compacting one document lose nothing either acknowledged', async () => {
	// Compaction every 4 rows, so that both processes compact many times while both write.
	if (server && alive(server.pid)) process.kill(server.pid, 'SIGKILL');
	if (server) await gone(server);
	const first = await start(server?.port ?? 0, { YJS_COMPACT_EVERY: '4' });
	const second = await start(0, { YJS_COMPACT_EVERY: '4' });
	try {
		const a = await connect(first);
		const b = await connect(second);
		const EDITS = 45;
		const made: { client: Client; name: string; clock: number }[] = [];
		for (let i = 0; i < EDITS; i++) {
			for (const [client, tag] of [[a, 'p1'], [b, 'p2']] as const) {
				const name = `${tag}-${i}`;
				list(client.doc, 'entretiens').push([newItem('entretiens', { frequency: name })]);
				made.push({ client, name, clock: clock(client) });
			}
			await new Promise((resolve) => setTimeout(resolve, 40));
		}
		await waitUntil(() => a.acked() >= clock(a) && b.acked() >= clock(b), 'both processes acknowledged everything', 30_000);
		for (const c of [a, b]) c.provider.disconnect();
		for (const s of [first, second]) process.kill(s.pid, 'SIGKILL');
		await gone(first);
		await gone(second);
		const names = project(await storedDoc(first.docName)).entretiens.map((e) => e.frequency);
		for (const m of made) expect(names, `${m.name} was acknowledged`).toContain(m.name);
		destroy(a);
		destroy(b);
	} finally {
		server = await start(first.port);
	}
}, 120_000);
