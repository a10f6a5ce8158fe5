// Yjs documents across app processes (REDIS_URL): two realtime layers on two http servers are two
// processes as far as Redis is concerned; a third runs as a child process so that it can be killed
// with SIGKILL. Edits cross processes both ways and are stored once; a process that opens a
// document late sees what the others hold but have not stored; HTTP reads see what others stored;
// a process killed before storing an edit loses nothing; and while Redis is away a process refuses
// live connections instead of serving a document that may diverge.
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'silent';
process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import type WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import {
	addGoal,
	closeCodes,
	onStored,
	sessionCookie,
	startRealtimeServer,
	TEST_REDIS_PREFIX,
	stopRealtimeServer,
	upgradeStatus,
	waitUntil,
	withTimeout,
	yjsProvider
} from '../helpers/realtime.ts';
import { databaseUrlFor } from '../helpers/global-setup.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import { attachRealtime, type Realtime } from '../../src/lib/server/realtime/attach.ts';
import { appendUpdate, loadDoc, loadUpdates } from '../../src/lib/server/realtime/yjs-store.ts';
import { includeTestPatient } from '../helpers/patients.ts';
import { rememberPeersAcrossReconnections } from '../../src/lib/realtime/peers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TEAM = ['ines.haddad', 'paul.schmitt'];

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
const servers: { server: Server; realtime: Realtime; base: string }[] = [];
const providers: WebsocketProvider[] = [];
const children: ChildProcess[] = [];
let cookie: string;

const goals = (doc: Y.Doc) => doc.getXmlFragment('goals').toString();

// Several processes share PostgreSQL (never the embedded database) and Redis.
describe.runIf(Boolean(process.env.REDIS_URL && process.env.DATABASE_URL))('Yjs across processes', () => {
	beforeAll(async () => {
		t = await createSharedTestDb();
		ids = await seedDemo(t.db);
		for (let i = 0; i < 2; i++) {
			const { server, realtime, port } = await startRealtimeServer();
			servers.push({ server, realtime, base: `ws://127.0.0.1:${port}` });
		}
		cookie = await sessionCookie(t.db, ids.users['ines.haddad']);
	});

	afterAll(async () => {
		for (const p of providers) p.destroy();
		for (const child of children) {
			if (child.pid && child.exitCode === null && child.signalCode === null) {
				try {
					process.kill(-child.pid, 'SIGKILL');
				} catch {
					// already gone
				}
			}
		}
		for (const s of servers) await stopRealtimeServer(s.realtime, s.server);
		await new Promise((resolve) => setTimeout(resolve, 1200)); // pending projection timers
		await t?.close();
	});

	async function newPps(): Promise<string> {
		const tanneurs = await t.db.selectFrom('microstructure').select(['id', 'network_id']).where('id', '=', ids.microstructures.tanneurs).executeTakeFirstOrThrow();
		const ms = { id: tanneurs.id, networkId: tanneurs.network_id };
		return (await includeTestPatient(t.db, ms, ids.users['ines.haddad'], 'Relais', TEAM.map((l) => ids.users[l]))).docName;
	}

	interface Client {
		doc: Y.Doc;
		provider: WebsocketProvider;
		/** Highest clock of this client's own edits the server said were stored. */
		acked(): number;
	}

	async function connect(base: string, docName: string, doc = new Y.Doc()): Promise<Client> {
		const provider = yjsProvider(base, docName, doc, { Cookie: cookie }, 200);
		providers.push(provider);
		// As the editor does (a state at clock 0, the initial one, is never applied by peers).
		provider.awareness.setLocalStateField('user', { name: `Éditeur ${doc.clientID}` });
		let acked = 0;
		onStored(provider, (stored) => {
			acked = Math.max(acked, stored.sv.get(doc.clientID) ?? 0);
		});
		await waitUntil(() => provider.synced, 'client synced');
		return { doc, provider, acked: () => acked };
	}
	const clock = (c: Client) => Y.getState(c.doc.store, c.doc.clientID);

	/** Every (client, clock) range of the stored rows: an update stored twice would overlap. */
	async function storedRanges(docName: string): Promise<string[]> {
		const { updates } = await loadUpdates(t.db, docName);
		const ranges: string[] = [];
		for (const u of updates) {
			for (const s of Y.decodeUpdate(u).structs) {
				if (s instanceof Y.Item || s.constructor.name === 'GC') ranges.push(`${s.id.client}:${s.id.clock}+${s.length}`);
			}
		}
		return ranges;
	}

	test('edits cross processes both ways, are acknowledged by the process that received them, and stored once', async () => {
		const docName = await newPps();
		const [a, b] = servers;
		const onA = await connect(a.base, docName);
		const onB = await connect(b.base, docName);
		// Who is here crosses processes too.
		await waitUntil(() => onB.provider.awareness.getStates().has(onA.doc.clientID) && onA.provider.awareness.getStates().has(onB.doc.clientID), 'each editor sees the other in awareness');

		addGoal(onA.doc, 'Écrit sur le processus A');
		await waitUntil(() => goals(onB.doc).includes('Écrit sur le processus A'), 'A’s edit on B');
		addGoal(onB.doc, 'Écrit sur le processus B');
		await waitUntil(() => goals(onA.doc).includes('Écrit sur le processus B'), 'B’s edit on A');
		await waitUntil(() => onA.acked() >= clock(onA) && onB.acked() >= clock(onB), 'both edits acknowledged');

		await Promise.all(servers.map((s) => s.realtime.yjs.flushAll()));
		const stored = await loadDoc(t.db, docName);
		expect(goals(stored)).toContain('Écrit sur le processus A');
		expect(goals(stored)).toContain('Écrit sur le processus B');
		// Written once, whichever process received it: no struct range appears in two rows.
		const ranges = await storedRanges(docName);
		expect(new Set(ranges).size).toBe(ranges.length);
	});

	test('an editor whose connection dropped sees the others again as soon as it reconnects, not at their next renewal', async () => {
		const docName = await newPps();
		const [a, b] = servers;
		const onA = await connect(a.base, docName);
		const onB = await connect(b.base, docName);
		rememberPeersAcrossReconnections(onB.provider);
		await waitUntil(() => onB.provider.awareness.getStates().has(onA.doc.clientID), 'A seen from B');
		(onB.provider.ws as unknown as { close(): void }).close();
		await waitUntil(() => !onB.provider.awareness.getStates().has(onA.doc.clientID), 'peers forgotten on disconnect');
		await waitUntil(() => onB.provider.awareness.getStates().has(onA.doc.clientID), 'A seen again after reconnecting', 3000);
	});

	test('a process that opens a document late gets what the others hold and have not stored yet', async () => {
		const docName = await newPps();
		const [a, b] = servers;
		const onB = await connect(b.base, docName);
		addGoal(onB.doc, 'Pas encore enregistré');
		// At once, before B's group commit (250 ms): A loads the document now and asks B for the rest.
		const late = await connect(a.base, docName);
		await waitUntil(() => goals(late.doc).includes('Pas encore enregistré'), 'the unstored edit on the late process', 3000);
		// And it keeps following: a later edit on B arrives too.
		addGoal(onB.doc, 'Et ensuite');
		await waitUntil(() => goals(late.doc).includes('Et ensuite'), 'the next edit on the late process');
	});

	test('an HTTP read on one process sees what another process stored, even if its relay message was lost', async () => {
		const docName = await newPps();
		const [a] = servers;
		const onA = await connect(a.base, docName);
		// A row another process committed, whose relayed update never reached A (Redis dropped it).
		const elsewhere = new Y.Doc();
		addGoal(elsewhere, 'Stocké par un autre processus');
		await appendUpdate(t.db, docName, Y.encodeStateAsUpdate(elsewhere));
		const read = await a.realtime.yjs.withDoc(docName, (doc) => goals(doc));
		expect(read).toContain('Stocké par un autre processus');
		// The editors connected to A get it as well.
		await waitUntil(() => goals(onA.doc).includes('Stocké par un autre processus'), 'caught-up row on A’s client');
	});

	test('kill -9 of the process that received an edit before it stored it: another process stores it and acknowledges it', async () => {
		const [a] = servers;
		const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.db);
		const child = await startChild(databaseUrlFor(process.env.DATABASE_URL!, rows[0].name));
		cookie = child.cookie;
		const onChild = await connect(`ws://127.0.0.1:${child.port}`, child.docName);
		const onA = await connect(a.base, child.docName);
		await waitUntil(() => onA.provider.awareness.getStates().has(onChild.doc.clientID), 'the editor on the child seen from A');

		addGoal(onChild.doc, 'Tapé juste avant la panne');
		const typed = clock(onChild);
		await waitUntil(() => goals(onA.doc).includes('Tapé juste avant la panne'), 'the edit relayed to A', 3000);
		// Killed as soon as the edit is relayed: well before its group commit.
		process.kill(-child.process.pid!, 'SIGKILL');
		const ackedBeforeKill = onChild.acked() >= typed;
		onChild.provider.destroy();
		// Its editor is out of "who is here" on the other process within seconds (not after 30 s).
		await waitUntil(() => !onA.provider.awareness.getStates().has(onChild.doc.clientID), 'the dead process’s editor gone from awareness on A', 8000);

		// The editor reconnects to the surviving process with its own replica, as the browser does.
		const back = await connect(a.base, child.docName, onChild.doc);
		await waitUntil(() => back.acked() >= typed, 'the edit acknowledged by the surviving process', 15_000);
		const stored = await loadDoc(t.db, child.docName);
		expect(goals(stored)).toContain('Tapé juste avant la panne');
		// The point of the test is an edit the dead process never stored.
		expect(ackedBeforeKill).toBe(false);
	}, 60_000);

	test('while Redis is away a process refuses live connections, and serves again when it returns', async () => {
		const port = await freePort();
		const redis = await startRedis(port);
		const { createServer } = await import('node:http');
		const server = createServer((_req, res) => {
			res.statusCode = 404;
			res.end();
		});
		const realtime = await attachRealtime(server, { redisUrl: `redis://127.0.0.1:${port}`, redisPrefix: TEST_REDIS_PREFIX });
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
		const track: WebSocket[] = [];
		let redisAgain: ChildProcess | undefined;
		let client: Client | undefined;
		try {
			const docName = await newPps();
			const editor = await connect(base, docName);
			client = editor;
			const closes = closeCodes(editor.provider);
			addGoal(editor.doc, 'Avant la coupure');
			await waitUntil(() => editor.acked() >= clock(editor), 'first edit stored');

			redis.kill('SIGKILL');
			await waitUntil(() => !realtime.yjs.available, 'Redis seen as lost');
			await waitUntil(() => closes.includes(1012), 'the open document closed');
			expect(await upgradeStatus(base, track, docName, { Cookie: cookie })).toBe(503);
			// The editor keeps typing offline meanwhile.
			addGoal(editor.doc, 'Pendant la coupure');

			redisAgain = await startRedis(port);
			await waitUntil(() => realtime.yjs.available, 'Redis back', 15_000);
			await waitUntil(() => editor.provider.synced && editor.acked() >= clock(editor), 'offline edit stored after Redis returned', 15_000);
			const stored = await loadDoc(t.db, docName);
			expect(goals(stored)).toContain('Avant la coupure');
			expect(goals(stored)).toContain('Pendant la coupure');
		} finally {
			for (const ws of track) ws.terminate();
			// Its connection open, the http server would wait for it to close.
			client?.provider.destroy();
			await stopRealtimeServer(realtime, server);
			redis.kill('SIGKILL');
			redisAgain?.kill('SIGKILL');
		}
	}, 60_000);
});

async function freePort(): Promise<number> {
	const probe = createNetServer();
	await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
	const { port } = probe.address() as AddressInfo;
	await new Promise((resolve) => probe.close(resolve));
	return port;
}

/** A private redis-server (Debian's, as on the machine) that the test may stop. */
async function startRedis(port: number): Promise<ChildProcess> {
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
	children.push(child);
	const { createClient } = await import('redis');
	await waitUntil(async () => {
		const probe = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
		probe.on('error', () => {});
		try {
			await probe.connect();
			await probe.close();
			return true;
		} catch {
			return false;
		}
	}, 'redis-server up');
	return child;
}

/** The realtime server as a child process (crash-server.ts), on this test's database and Redis. */
function startChild(databaseUrl: string): Promise<{ process: ChildProcess; port: number; cookie: string; docName: string }> {
	const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', PORT: '0', LOGIN: 'ines.haddad', DATABASE_URL: databaseUrl, REDIS_PREFIX: TEST_REDIS_PREFIX };
	const child = spawn('npx', ['tsx', 'tests/integration/crash-server.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	children.push(child);
	let stdout = '';
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	return withTimeout(
		new Promise((resolve, reject) => {
			child.stdout!.on('data', (chunk: Buffer) => {
				stdout += chunk.toString();
				const line = stdout.split('\n').find((l) => l.startsWith('READY '));
				if (!line) return;
				child.stdout!.removeAllListeners('data');
				child.stdout!.resume();
				const info = JSON.parse(line.slice('READY '.length));
				resolve({ process: child, port: info.port, cookie: info.cookie, docName: info.docName });
			});
			child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal})\n${stdout}\n${stderr}`)));
		}),
		'child realtime server ready',
		45_000
	);
}
