// kill -9 while messages are in flight. The realtime server runs as a child process
// (messaging-crash-server.ts) on a real database: the embedded PGlite directory, or a dedicated
// PostgreSQL database when DATABASE_URL is set. Three senders post continuously to one conversation,
// each through an in-memory outbox that works the way the browser's does: every message gets its
// client id when it is written, the outbox sends its messages one at a time in the order they were
// written, and after a reconnection it sends again, in order, everything not yet acknowledged. A
// fourth person reads, catching up with msg:after after each reconnection. The server is killed
// with SIGKILL ten times mid-flight and started again on the same data. At the end, read straight
// from the database: every message written is stored exactly once (acknowledged before a crash or
// resent after it), each acknowledgement named the message that is stored, each sender's messages
// are in the order they were written, the sequence has no hole, and the reader saw exactly the
// stored list in that order.
process.env.LOG_LEVEL = 'silent';

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { createDb, startEmbedded } from '../../src/lib/server/db/index.ts';
import { databaseUrlFor } from '../helpers/global-setup.ts';
import { waitUntil as waitUntilWithin, withTimeout as withTimeoutWithin } from '../helpers/realtime.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BASE_URL = process.env.DATABASE_URL;
const MODE = BASE_URL ? 'postgresql' : 'embedded';
const SENDERS = 3;
const CYCLES = 10;

let dataDir: string | undefined;
let dbName: string | undefined;
let dbUrl: string | undefined;
const children: ChildProcess[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
	if (BASE_URL) {
		dbName = `msh_msgcrash_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
		const admin = new pg.Client({ connectionString: BASE_URL });
		await admin.connect();
		await admin.query(`create database ${dbName}`);
		await admin.end();
		dbUrl = databaseUrlFor(BASE_URL, dbName);
	} else {
		dataDir = mkdtempSync(join(tmpdir(), 'msh-msgcrash-'));
	}
});

afterAll(async () => {
	for (const s of sockets) s.disconnect();
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
		// pg's Pool.end() resolves before its clients have disconnected (see tests/helpers/db.ts).
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

const waitUntil = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => waitUntilWithin(condition, what, timeoutMs);
const withTimeout = <T>(promise: Promise<T>, what: string, timeoutMs = 30_000) => withTimeoutWithin(promise, what, timeoutMs);

// ---------------------------------------------------------------------------------------------
// The child server
// ---------------------------------------------------------------------------------------------

interface Running {
	pid: number;
	port: number;
	conversationId: string;
	senders: { userId: string; cookie: string }[];
	exited: Promise<void>;
}

function start(port = 0): Promise<Running> {
	const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', PORT: String(port), SENDERS: String(SENDERS + 1) };
	if (dbUrl) env.DATABASE_URL = dbUrl;
	else {
		delete env.DATABASE_URL;
		env.DATA_DIR = dataDir;
	}
	// node --import tsx (not npx tsx): one process to kill, and a second less per restart.
	const child = spawn(process.execPath, ['--import', 'tsx', 'tests/integration/messaging-crash-server.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	children.push(child);
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	let stdout = '';
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	return new Promise<Running>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`messaging-crash-server not ready after 90 s\n${stdout}\n${stderr}`)), 90_000);
		child.stdout!.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
			const line = stdout.split('\n').find((l) => l.startsWith('READY '));
			if (!line) return;
			clearTimeout(timer);
			child.stdout!.removeAllListeners('data');
			child.stdout!.resume();
			resolve({ ...(JSON.parse(line.slice('READY '.length)) as Omit<Running, 'exited'>), exited });
		});
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			reject(new Error(`messaging-crash-server exited before being ready (${code ?? signal})\n${stdout}\n${stderr}`));
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

async function kill(server: Running): Promise<void> {
	process.kill(server.pid, 'SIGKILL');
	await withTimeout(server.exited, 'the killed server to exit');
	await waitUntil(() => !alive(server.pid), 'the server process to disappear');
}

/** The stored messages of the conversation, in order, read straight from the database while no server runs. */
async function storedMessages(conversationId: string): Promise<{ id: string; seq: number; sender_id: string; client_id: string; body: string }[]> {
	const query = `select id, seq::int as seq, sender_id, client_id, body from message where conversation_id = $1 order by seq`;
	if (dbUrl) {
		const client = new pg.Client({ connectionString: dbUrl });
		await client.connect();
		try {
			return (await client.query(query, [conversationId])).rows;
		} finally {
			await client.end();
		}
	}
	const embedded = await startEmbedded(dataDir);
	const db = createDb(embedded.pool);
	try {
		return (await embedded.pool.query(query, [conversationId])).rows;
	} finally {
		await db.destroy();
		await embedded.close();
	}
}

// ---------------------------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------------------------

function connect(port: number, cookie: string): ClientSocket {
	// Reconnects by itself, quickly, to the server restarted on the same port (the session survives in the database).
	const socket = ioClient(`http://127.0.0.1:${port}`, {
		transports: ['websocket'],
		extraHeaders: { Cookie: cookie },
		reconnectionDelay: 50,
		reconnectionDelayMax: 200,
		randomizationFactor: 0.3,
		timeout: 5000
	});
	sockets.push(socket);
	return socket;
}

type SendAck = { ok: true; message: { id: string; seq: number; clientId: string }; duplicate: boolean } | { ok: false; error: string };

interface Entry {
	clientId: string;
	body: string;
	ack: { id: string; seq: number } | null;
	/** The acknowledgement said it was stored before (a resend of a message committed before a crash). */
	duplicate: boolean;
}

/**
 * The browser's outbox, in memory: messages in the order they were written, each with its client id
 * from the start; one send at a time, the next after the acknowledgement; after a reconnection,
 * the first unacknowledged message is sent again, then the others in order.
 */
class Outbox {
	readonly entries: Entry[] = [];
	readonly errors: string[] = [];
	private inFlight: Entry | null = null;
	private connection = 0;
	sends = 0;

	constructor(
		readonly socket: ClientSocket,
		readonly conversationId: string,
		readonly name: string
	) {
		socket.on('connect', () => this.pump());
		socket.on('disconnect', () => {
			// Whatever was in flight is unknown: it is sent again on the next connection.
			this.connection++;
			this.inFlight = null;
		});
	}

	write(body: string): void {
		this.entries.push({ clientId: randomUUID(), body, ack: null, duplicate: false });
		this.pump();
	}

	get pending(): number {
		return this.entries.filter((e) => !e.ack).length;
	}

	private pump(): void {
		if (this.inFlight || !this.socket.connected) return;
		const next = this.entries.find((e) => !e.ack);
		if (!next) return;
		this.inFlight = next;
		const connection = this.connection;
		this.sends++;
		this.socket.emit('msg:send', { conversationId: this.conversationId, clientId: next.clientId, body: next.body }, (ack: SendAck) => {
			if (connection !== this.connection) return;
			this.inFlight = null;
			if (!ack.ok) {
				this.errors.push(`${this.name}: ${ack.error}`);
				return;
			}
			if (ack.message.clientId !== next.clientId) this.errors.push(`${this.name}: acknowledged the wrong message`);
			next.ack = { id: ack.message.id, seq: ack.message.seq };
			next.duplicate = ack.duplicate;
			this.pump();
		});
	}
}

/** A reader, as the conversation page: takes msg:new in order, and catches up with msg:after after a gap or a reconnection. */
class Reader {
	readonly bySeq = new Map<number, string>();
	readonly conflicts: string[] = [];
	last = 0;
	private catchingUp = false;

	constructor(
		readonly socket: ClientSocket,
		readonly conversationId: string
	) {
		socket.on('connect', () => void this.catchUp());
		socket.on('msg:new', (m: { conversationId: string; seq: number; id: string }) => {
			if (m.conversationId !== conversationId) return;
			if (m.seq === this.last + 1) this.add(m);
			else if (m.seq > this.last + 1) void this.catchUp();
			else this.add(m);
		});
	}

	private add(m: { seq: number; id: string }): void {
		const known = this.bySeq.get(m.seq);
		if (known && known !== m.id) this.conflicts.push(`seq ${m.seq}: ${known} then ${m.id}`);
		this.bySeq.set(m.seq, m.id);
		while (this.bySeq.has(this.last + 1)) this.last++;
	}

	async catchUp(): Promise<void> {
		if (this.catchingUp) return;
		this.catchingUp = true;
		try {
			for (;;) {
				if (!this.socket.connected) return;
				const reply = (await this.socket.timeout(5000).emitWithAck('msg:after', { conversationId: this.conversationId, afterSeq: this.last })) as
					| { ok: true; messages: { seq: number; id: string }[] }
					| { ok: false; error: string };
				if (!reply.ok || reply.messages.length === 0) return;
				for (const m of reply.messages) this.add(m);
			}
		} catch {
			// The server died meanwhile: the next connection catches up again.
		} finally {
			this.catchingUp = false;
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

test(`messages in flight survive kill -9 of the server ${CYCLES} times: each stored exactly once, in order (${MODE})`, async () => {
	let server = await start();
	const { conversationId } = server;
	const outboxes = server.senders.slice(0, SENDERS).map((s, i) => new Outbox(connect(server.port, s.cookie), conversationId, `sender ${i}`));
	const reader = new Reader(connect(server.port, server.senders[SENDERS].cookie), conversationId);

	// Everyone writes continuously, online or not (offline writes wait in the outbox), each at its own pace.
	let writing = true;
	let written = 0;
	const writers = outboxes.map((outbox, i) =>
		(async () => {
			while (writing) {
				// A person writes a few messages ahead of the network at most (a long backlog only slows the test).
				if (outbox.pending >= 12) {
					await new Promise((resolve) => setTimeout(resolve, 20));
					continue;
				}
				outbox.write(`Message ${written++} de ${outbox.name} — suivi de Mme Lefèvre, étape ${outbox.entries.length}`);
				await new Promise((resolve) => setTimeout(resolve, 70 + ((i * 7 + outbox.entries.length) % 50)));
			}
		})()
	);

	const acked = () => outboxes.reduce((n, o) => n + o.entries.filter((e) => e.ack).length, 0);
	const killedWith: { acked: number; pending: number }[] = [];
	for (let cycle = 0; cycle < CYCLES; cycle++) {
		await waitUntil(() => outboxes.every((o) => o.socket.connected) && reader.socket.connected, `cycle ${cycle}: everyone reconnected`);
		// Let traffic flow: some acknowledgements in this cycle, then a kill at a moment that varies.
		const target = acked() + 8 + ((cycle * 7) % 15);
		await waitUntil(() => acked() >= target, `cycle ${cycle}: acknowledgements flowing`);
		await new Promise((resolve) => setTimeout(resolve, (cycle * 17) % 40));
		killedWith.push({ acked: acked(), pending: outboxes.reduce((n, o) => n + o.pending, 0) });
		await kill(server);
		server = await start(server.port);
	}

	// Stop writing; everything written is eventually acknowledged by the last server.
	writing = false;
	await Promise.all(writers);
	await waitUntil(() => outboxes.every((o) => o.pending === 0), 'every message acknowledged after the last restart').catch((error) => {
		throw new Error(`${error}: ${outboxes.map((o) => `${o.name} ${o.pending} pending, connected ${o.socket.connected}, errors ${o.errors.join(' | ')}`).join('; ')}`);
	});
	await reader.catchUp();
	const total = outboxes.reduce((n, o) => n + o.entries.length, 0);
	await waitUntil(async () => {
		await reader.catchUp();
		return reader.last === total;
	}, 'the reader has caught up');
	for (const o of outboxes) o.socket.disconnect();
	reader.socket.disconnect();
	await kill(server);

	for (const o of outboxes) expect(o.errors).toEqual([]);
	const stored = await storedMessages(conversationId);
	// The sequence: 1..n without a hole, one row per message written, no more.
	expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
	expect(stored).toHaveLength(total);
	for (const [i, outbox] of outboxes.entries()) {
		const mine = stored.filter((m) => m.sender_id === server.senders[i].userId);
		// Exactly once each, in the order written (the server's order respects each sender's order).
		expect(mine.map((m) => m.client_id), outbox.name).toEqual(outbox.entries.map((e) => e.clientId));
		expect(mine.map((m) => m.body)).toEqual(outbox.entries.map((e) => e.body));
		// Every acknowledgement named the row that is stored: an acknowledged message was durable.
		expect(mine.map((m) => ({ id: m.id, seq: m.seq }))).toEqual(outbox.entries.map((e) => e.ack));
	}
	// The reader saw exactly the stored list, in the server's order, with no conflicting message at any position.
	expect(reader.conflicts).toEqual([]);
	expect([...reader.bySeq.entries()].sort((a, b) => a[0] - b[0]).map(([, id]) => id)).toEqual(stored.map((m) => m.id));

	const resentStored = outboxes.reduce((n, o) => n + o.entries.filter((e) => e.duplicate).length, 0);
	const sends = outboxes.reduce((n, o) => n + o.sends, 0);
	console.info(
		`messaging crash (${MODE}): ${CYCLES} kills, ${total} messages written, ${sends} sends, ${sends - total} resent after a crash of which ${resentStored} had been stored before it; ` +
			`at each kill: ${killedWith.map((k) => `${k.acked} acked/${k.pending} pending`).join(', ')}`
	);
	// Kills left messages unacknowledged, which then arrived once.
	expect(killedWith.some((k) => k.pending > 0)).toBe(true);
}, 240_000);
