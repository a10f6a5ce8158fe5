// Benchmark (live RCP): BENCH_RCPS (default 30) RCP sessions held at once, 8 participants each,
// against the app's realtime server (attachRealtime: socket.io RCP handlers + Yjs websocket,
// PostgreSQL, session cookies, access policy). Each participant has a socket.io connection (joined
// with `rcp:join` as participant, in the room or remote) and, like the RCP page, a Yjs document and
// y-websocket connection to the case notes `rcp-notes:<itemId>` of each case it has shown: opened the
// first time the pointer comes to the case and kept open for the rest of the session (all of them
// receive updates), the textarea switching to the already-open document when the pointer comes back.
// It types one character every 300–800 ms into the notes of the item under the pointer
// (BENCH_NOTES_REOPEN=1: the old page instead, which closed the notes and opened a fresh document
// and connection for the new item on each pointer move). The animator (participant 0)
// moves the pointer to the next item every 2–4 s (`rcp:pointer`) and records a decision on the
// current case every 4–6 s (`rcp:decide`: mostly 'poursuite', sometimes 'adaptation_pps' or
// 'a_revoir', each with a unique detail so that its arrival can be recognised).
//
// Measures, over BENCH_SECONDS (default 30) after BENCH_WARMUP_S (default 5) of warm-up:
//   - pointer propagation: the animator's emit → 'rcp:pointer' for that item at each other participant;
//   - decision propagation: the animator's emit → the first 'rcp:decision' (or 'rcp:state') carrying that decision at
//     each other participant;
//   - notes typing (bonus): a local Yjs insert → its arrival at each other participant who had the
//     document open and synced at the time of the insert (whether or not it is the one shown);
// as count, p50, p95, p99 and max, plus the animator's acknowledgement round trips, the event
// rates, the server's CPU (process.cpuUsage, % of one core) and RSS, PostgreSQL's CPU, the server's
// SQL statements per second and waits for a pool connection (counted by the benchmark's server
// around its pg pool), refused or timed-out acknowledgements, and whether the target (p99 < 100 ms
// for pointer and decision) is met.
//
//   npx tsx bench/rcp-live.ts
//
// The server (bench/rcp-live-server.ts) runs as a child process on 127.0.0.1 against a throwaway
// database `msh_bench_rcp` on DATABASE_URL's server (default: PostgreSQL on 127.0.0.1), dropped at
// the end. The 240 clients run in this process, over BENCH_CLIENT_THREADS worker threads (default
// 2); the participants of one session share a thread, so each latency is read on one clock
// (performance.now()). Not part of `npm test`. Other knobs: BENCH_RCPS, BENCH_REDIS=1 (socket.io
// Redis adapter on REDIS_URL, default redis://127.0.0.1:6379), BENCH_NOTES=0 (no case notes: the
// socket.io part alone), BENCH_NOTES_REOPEN=1 (the old close-and-reopen notes, for comparison),
// BENCH_CPU_PROF=<dir> (V8 CPU profile of the server), BENCH_QUIET_WAIT_S (default 180: how long
// to wait, at most, for other processes to quiet down before measuring), BENCH_SERVER_FLAGS (more
// Node flags for the server, which already runs with those of package.json's serve script).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { cpus } from 'node:os';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import pg from 'pg';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { io, type Socket } from 'socket.io-client';
import { cpuSeconds, machineBusySeconds, postgresCpu, postgresCpuDelta, waitForQuietMachine } from './machine.ts';
import { concat, percentile } from './figures.ts';
import { serveNodeOptions } from '../scripts/build-server.ts';

const RCPS = Number(process.env.BENCH_RCPS || 30);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S || 5);
const MEASURE_S = Number(process.env.BENCH_SECONDS || 30);
/** BENCH_NOTES=0: no case notes (no Yjs), to see what the socket.io part costs alone. */
const NOTES = process.env.BENCH_NOTES !== '0';
/** BENCH_NOTES_REOPEN=1: the old RCP page, which closed the case notes and opened the new item's on each pointer move. */
const NOTES_REOPEN = process.env.BENCH_NOTES_REOPEN === '1';
const CLIENT_THREADS = Math.max(1, Math.min(RCPS, Number(process.env.BENCH_CLIENT_THREADS || 2)));
const POINTER_MS: [number, number] = [2000, 4000];
const DECISION_MS: [number, number] = [4000, 6000];
const KEY_MS: [number, number] = [300, 800];
const ACK_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 120_000;
/** After the window, time left for the last events to arrive before misses are counted. */
const DRAIN_MS = 3000;
/** A pending move or decision not seen by everyone after this long is counted as missed. */
const PENDING_TTL_MS = 15_000;
const TARGET_P99_MS = 100;
const LOOP_RESOLUTION_MS = 5;

const PHRASE = 'Patient vu en consultation, sevrage en cours ; revoir le dossier MDPH avec l’assistante sociale. ';

interface SessionSpec {
	id: string;
	microstructureId: string;
	items: { id: string; kind: string }[];
	animator: number;
	cookies: string[];
}

interface ClientReport {
	pointer: Float64Array;
	decision: Float64Array;
	typing: Float64Array;
	pointerAck: Float64Array;
	decisionAck: Float64Array;
	pointerMoves: number;
	decisions: number;
	keystrokes: number;
	socketEvents: number;
	yjsDelivered: number;
	pointerMissed: number;
	decisionMissed: number;
	ackErrors: number;
	errorSamples: string[];
	connectErrors: number;
	disconnects: number;
	wsCloses: number;
	loopP99: number;
	loopUtilization: number;
}

type ToWorker = { type: 'go' };
type FromWorker = { type: 'ready' } | { type: 'error'; message: string } | ({ type: 'report' } & ClientReport);

const rand = ([min, max]: [number, number]) => min + Math.random() * (max - min);

// =============================================================================================
// Client thread: the participants of some sessions
// =============================================================================================

interface Pending {
	t0: number;
	measured: boolean;
	seen: Set<number>;
}

interface Recorder {
	windowStart: number;
	windowEnd: number;
	pointer: number[];
	decision: number[];
	typing: number[];
	pointerAck: number[];
	decisionAck: number[];
	pointerMoves: number;
	decisions: number;
	keystrokes: number;
	socketEvents: number;
	yjsDelivered: number;
	pointerMissed: number;
	decisionMissed: number;
	ackErrors: number;
	errorSamples: string[];
	connectErrors: number;
	disconnects: number;
	wsCloses: number;
}

const rec: Recorder = {
	windowStart: Infinity,
	windowEnd: Infinity,
	pointer: [],
	decision: [],
	typing: [],
	pointerAck: [],
	decisionAck: [],
	pointerMoves: 0,
	decisions: 0,
	keystrokes: 0,
	socketEvents: 0,
	yjsDelivered: 0,
	pointerMissed: 0,
	decisionMissed: 0,
	ackErrors: 0,
	errorSamples: [],
	connectErrors: 0,
	disconnects: 0,
	wsCloses: 0
};
const inWindow = (t: number) => t >= rec.windowStart && t < rec.windowEnd;
let active = false;

function clientError(what: string) {
	rec.ackErrors++;
	if (rec.errorSamples.length < 5) rec.errorSamples.push(what);
}

/** A `ws` WebSocket that sends the session cookie and an Origin like a browser. */
function webSocketWith(headers: Record<string, string>) {
	return class extends WebSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols, { headers });
		}
	};
}

type Ack = { ok: boolean; error?: string; [key: string]: unknown };
type LiveStateMsg = { pointer: { itemId: string | null }; items: { id: string; decisionDetails?: { detail?: string } }[] };

class Rcp {
	readonly participants: Participant[] = [];
	/** The animator's view of the pointer (index in the agenda). */
	pointerIdx = 0;
	readonly pendingPointers = new Map<string, Pending>(); // by item id
	readonly pendingDecisions = new Map<string, Pending & { itemId: string }>(); // by detail
	/** Per Yjs client (one per opened notes document): clock → performance.now() at the insert. */
	readonly authors = new Map<number, Map<number, number>>();
	decisionSeq = 0;
	moveTimer: NodeJS.Timeout | undefined;
	decideTimer: NodeJS.Timeout | undefined;

	constructor(
		readonly spec: SessionSpec,
		readonly index: number,
		readonly port: number
	) {
		spec.cookies.forEach((cookie, i) => this.participants.push(new Participant(this, i, cookie)));
	}

	get animator() {
		return this.participants[this.spec.animator];
	}

	/** Counts the deliveries a pending move or decision never got. */
	finalise(p: Pending | undefined, kind: 'pointer' | 'decision') {
		if (!p || !p.measured) return;
		const missed = this.participants.length - 1 - p.seen.size;
		if (kind === 'pointer') rec.pointerMissed += missed;
		else rec.decisionMissed += missed;
	}

	sweep(now: number, all = false) {
		for (const [id, p] of this.pendingPointers) {
			if (all || now - p.t0 > PENDING_TTL_MS) {
				this.finalise(p, 'pointer');
				this.pendingPointers.delete(id);
			}
		}
		for (const [id, p] of this.pendingDecisions) {
			if (all || now - p.t0 > PENDING_TTL_MS) {
				this.finalise(p, 'decision');
				this.pendingDecisions.delete(id);
			}
		}
	}

	move() {
		const items = this.spec.items;
		this.pointerIdx = (this.pointerIdx + 1) % items.length;
		const itemId = items[this.pointerIdx].id;
		const t0 = performance.now();
		const measured = inWindow(t0);
		this.finalise(this.pendingPointers.get(itemId), 'pointer');
		this.pendingPointers.set(itemId, { t0, measured, seen: new Set() });
		if (measured) rec.pointerMoves++;
		this.animator.socket.timeout(ACK_TIMEOUT_MS).emit('rcp:pointer', { sessionId: this.spec.id, itemId }, (err: Error | null, res: Ack) => {
			if (measured) rec.pointerAck.push(performance.now() - t0);
			if (err || !res?.ok) clientError(`rcp:pointer: ${err ? 'timeout' : res?.error}`);
		});
	}

	decide() {
		const item = this.spec.items[this.pointerIdx];
		if (item.kind !== 'cas') return; // organisational points take no decision
		const r = Math.random();
		const kind = r < 0.8 ? 'poursuite' : r < 0.9 ? 'adaptation_pps' : 'a_revoir';
		const detail = `Décision de charge ${this.index + 1}-${++this.decisionSeq}`;
		const t0 = performance.now();
		const measured = inWindow(t0);
		this.pendingDecisions.set(detail, { t0, measured, seen: new Set(), itemId: item.id });
		if (measured) rec.decisions++;
		this.animator.socket
			.timeout(ACK_TIMEOUT_MS)
			.emit('rcp:decide', { sessionId: this.spec.id, itemId: item.id, decision: { kind, detail, actions: [] } }, (err: Error | null, res: Ack) => {
				if (measured) rec.decisionAck.push(performance.now() - t0);
				if (err || !res?.ok) clientError(`rcp:decide: ${err ? 'timeout' : res?.error}`);
			});
	}

	start() {
		const loopMove = () => {
			this.moveTimer = setTimeout(() => {
				if (!active) return;
				this.move();
				loopMove();
			}, rand(POINTER_MS));
		};
		const loopDecide = () => {
			this.decideTimer = setTimeout(() => {
				if (!active) return;
				this.decide();
				loopDecide();
			}, rand(DECISION_MS));
		};
		loopMove();
		loopDecide();
		for (const p of this.participants) p.typer = setTimeout(() => p.type(), rand(KEY_MS));
	}

	stop() {
		clearTimeout(this.moveTimer);
		clearTimeout(this.decideTimer);
		for (const p of this.participants) clearTimeout(p.typer);
	}
}

/** One case's notes as a participant holds them: its document, its connection, when it was first synced. */
interface Notes {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** performance.now() at the first sync, 0 until then. */
	syncedAt: number;
}

class Participant {
	readonly socket: Socket;
	joined = false;
	/** The case notes open on this participant's page, by item: kept for the session (or, with BENCH_NOTES_REOPEN=1, the current one alone). */
	readonly notes = new Map<string, Notes>();
	/** The item under the pointer, whose notes the textarea shows and typing goes into. */
	current: string | null = null;
	typer: NodeJS.Timeout | undefined;
	phrasePos = Math.floor(Math.random() * PHRASE.length);
	private readonly WS: typeof globalThis.WebSocket;

	constructor(
		readonly rcp: Rcp,
		readonly index: number,
		cookie: string
	) {
		const origin = `http://127.0.0.1:${rcp.port}`;
		this.WS = webSocketWith({ Cookie: cookie, Origin: origin }) as unknown as typeof globalThis.WebSocket;
		this.socket = io(origin, { path: '/socket.io', transports: ['websocket'], extraHeaders: { cookie, origin }, forceNew: true, reconnectionDelayMax: 2000 });
		this.socket.on('connect', () => this.join());
		this.socket.on('connect_error', (e) => {
			rec.connectErrors++;
			if (rec.errorSamples.length < 5) rec.errorSamples.push(`connect_error: ${e.message}`);
		});
		this.socket.on('disconnect', () => {
			this.joined = false;
			if (active) rec.disconnects++;
		});
		this.socket.on('erreur', (m: { event: string; error: string }) => clientError(`erreur ${m.event}: ${m.error}`));
		this.socket.onAny(() => {
			if (inWindow(performance.now())) rec.socketEvents++;
		});
		this.socket.on('rcp:pointer', (m: { sessionId: string; itemId: string | null }) => {
			const now = performance.now();
			if (m.sessionId !== rcp.spec.id || !m.itemId) return;
			if (this.index !== rcp.spec.animator) {
				const pending = rcp.pendingPointers.get(m.itemId);
				if (pending && !pending.seen.has(this.index)) {
					pending.seen.add(this.index);
					if (pending.measured) rec.pointer.push(now - pending.t0);
				}
			}
			this.open(m.itemId);
		});
		// A decision reaches the room as 'rcp:decision' (the changed item); 'rcp:state' (the whole
		// session) carries it too after other changes. Whichever arrives first counts.
		const decisionSeen = (items: { id: string; decisionDetails?: { detail?: unknown } }[], sessionId: string) => {
			const now = performance.now();
			if (sessionId !== rcp.spec.id || this.index === rcp.spec.animator || rcp.pendingDecisions.size === 0) return;
			for (const [detail, pending] of rcp.pendingDecisions) {
				if (pending.seen.has(this.index)) continue;
				const item = items.find((i) => i.id === pending.itemId);
				if (item?.decisionDetails?.detail !== detail) continue;
				pending.seen.add(this.index);
				if (pending.measured) rec.decision.push(now - pending.t0);
			}
		};
		this.socket.on('rcp:state', (m: { sessionId: string; state: LiveStateMsg }) => decisionSeen(m.state.items, m.sessionId));
		this.socket.on('rcp:decision', (m: { sessionId: string; item: { id: string; decisionDetails?: { detail?: unknown } } }) => decisionSeen([m.item], m.sessionId));
	}

	join() {
		const place = this.index % 3 === 2 ? 'distance' : 'present';
		this.socket.timeout(30_000).emit('rcp:join', { sessionId: this.rcp.spec.id, mode: 'participant', place }, (err: Error | null, res: Ack & { state?: LiveStateMsg }) => {
			if (err || !res?.ok || !res.state) return clientError(`rcp:join: ${err ? 'timeout' : res?.error}`);
			this.joined = true;
			const itemId = res.state.pointer.itemId;
			if (this.index === this.rcp.spec.animator && itemId) this.rcp.pointerIdx = Math.max(0, this.rcp.spec.items.findIndex((i) => i.id === itemId));
			if (itemId) this.open(itemId);
		});
	}

	/** The current item's notes, once synced (0 until then). */
	get syncedAt() {
		return (this.current && this.notes.get(this.current)?.syncedAt) || 0;
	}

	/**
	 * Shows an item's case notes, as the page does: the item becomes current; its document and
	 * connection are opened the first time it is shown and kept open for the rest of the session
	 * (BENCH_NOTES_REOPEN=1: the old page, which closed the previous item's and opened a fresh one).
	 */
	open(itemId: string) {
		if (!NOTES || this.current === itemId) return;
		if (NOTES_REOPEN) this.close();
		this.current = itemId;
		if (this.notes.has(itemId)) return;
		const doc = new Y.Doc();
		const provider = new WebsocketProvider(`ws://127.0.0.1:${this.rcp.port}/yjs`, `rcp-notes:${itemId}`, doc, {
			WebSocketPolyfill: this.WS,
			disableBc: true, // same-process providers would otherwise sync around the server
			maxBackoffTime: 2000,
			resyncInterval: 20_000 // as the page (shared-text.svelte.ts): idle notes stay connected
		});
		// Like the page (shared-text.svelte.ts): notes carry no awareness state (old page: BENCH_NOTES_REOPEN=1).
		if (!NOTES_REOPEN) provider.awareness.setLocalState(null);
		const notes: Notes = { doc, provider, syncedAt: 0 };
		provider.messageHandlers[100] = () => {}; // the server's "stored" acknowledgements
		provider.on('sync', (synced: boolean) => {
			if (synced && this.notes.get(itemId) === notes && !notes.syncedAt) notes.syncedAt = performance.now();
		});
		provider.on('connection-close', () => {
			if (this.notes.get(itemId) === notes && active) rec.wsCloses++;
		});
		this.rcp.authors.set(doc.clientID, new Map());
		doc.on('afterTransaction', (tr: Y.Transaction) => {
			if (tr.local) return;
			const now = performance.now();
			for (const [client, after] of tr.afterState) {
				const before = tr.beforeState.get(client) ?? 0;
				if (after <= before) continue;
				if (inWindow(now)) rec.yjsDelivered += after - before;
				const sent = this.rcp.authors.get(client);
				if (!sent) continue;
				for (let clock = before; clock < after; clock++) {
					const t = sent.get(clock);
					// Only edits made while this replica was live (not those it loads when opening).
					if (t !== undefined && inWindow(t) && notes.syncedAt && notes.syncedAt <= t) rec.typing.push(now - t);
				}
			}
		});
		this.notes.set(itemId, notes);
	}

	/** Closes every open notes document and connection (the page left, or BENCH_NOTES_REOPEN=1 on a pointer move). */
	close() {
		const all = [...this.notes.values()];
		this.notes.clear();
		this.current = null;
		for (const { provider, doc } of all) {
			provider.destroy();
			doc.destroy();
		}
	}

	type() {
		if (!active) return;
		const notes = this.current ? this.notes.get(this.current) : undefined;
		if (notes && notes.syncedAt && notes.provider.wsconnected) {
			const { doc } = notes;
			const text = doc.getText('notes');
			const clock = Y.getState(doc.store, doc.clientID);
			const t = performance.now();
			text.insert(Math.floor(Math.random() * (text.length + 1)), PHRASE[this.phrasePos++ % PHRASE.length]);
			this.rcp.authors.get(doc.clientID)?.set(clock, t);
			if (inWindow(t)) rec.keystrokes++;
		}
		this.typer = setTimeout(() => this.type(), rand(KEY_MS));
	}
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
	const deadline = performance.now() + timeoutMs;
	while (!condition()) {
		if (performance.now() > deadline) return false;
		await new Promise((r) => setTimeout(r, 50));
	}
	return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function clientThread(data: { port: number; sessions: { spec: SessionSpec; index: number }[] }) {
	const port = parentPort!;
	process.setMaxListeners(0); // each y-websocket provider listens to 'exit'
	const rcps: Rcp[] = [];
	for (const { spec, index } of data.sessions) {
		rcps.push(new Rcp(spec, index, data.port));
		await sleep(30);
	}
	const participants = rcps.flatMap((r) => r.participants);
	if (!(await waitFor(() => participants.every((p) => p.joined && (!NOTES || p.syncedAt > 0)), CONNECT_TIMEOUT_MS))) {
		throw new Error(`only ${participants.filter((p) => p.joined).length}/${participants.length} joined, ${participants.filter((p) => p.syncedAt > 0).length} notes synced`);
	}
	port.postMessage({ type: 'ready' } satisfies FromWorker);
	await new Promise<void>((resolve) => port.once('message', (m: ToWorker) => m.type === 'go' && resolve()));

	active = true;
	rec.windowStart = performance.now() + WARMUP_S * 1000;
	rec.windowEnd = rec.windowStart + MEASURE_S * 1000;
	for (const r of rcps) r.start();
	const sweeper = setInterval(() => {
		const now = performance.now();
		for (const r of rcps) r.sweep(now);
	}, 1000);
	await sleep(rec.windowStart - performance.now());
	const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
	loop.enable();
	const elu0 = performance.eventLoopUtilization();
	await sleep(rec.windowEnd - performance.now());
	const elu = performance.eventLoopUtilization(elu0);
	loop.disable();
	active = false;
	for (const r of rcps) r.stop();
	await sleep(DRAIN_MS);
	clearInterval(sweeper);
	for (const r of rcps) r.sweep(performance.now(), true);

	const report: ClientReport = {
		pointer: Float64Array.from(rec.pointer),
		decision: Float64Array.from(rec.decision),
		typing: Float64Array.from(rec.typing),
		pointerAck: Float64Array.from(rec.pointerAck),
		decisionAck: Float64Array.from(rec.decisionAck),
		pointerMoves: rec.pointerMoves,
		decisions: rec.decisions,
		keystrokes: rec.keystrokes,
		socketEvents: rec.socketEvents,
		yjsDelivered: rec.yjsDelivered,
		pointerMissed: rec.pointerMissed,
		decisionMissed: rec.decisionMissed,
		ackErrors: rec.ackErrors,
		errorSamples: rec.errorSamples,
		connectErrors: rec.connectErrors,
		disconnects: rec.disconnects,
		wsCloses: rec.wsCloses,
		loopP99: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
		loopUtilization: elu.utilization
	};
	for (const p of participants) {
		p.close();
		p.socket.disconnect();
	}
	const buffers = [report.pointer, report.decision, report.typing, report.pointerAck, report.decisionAck].map((a) => a.buffer as ArrayBuffer);
	port.postMessage({ type: 'report', ...report } satisfies FromWorker, buffers);
}

// =============================================================================================
// Main thread: server, client threads, measurements, table
// =============================================================================================

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const BENCH_DATABASE = 'msh_bench_rcp'; // created by bench/rcp-live-server.ts
const TSX_API = import.meta.resolve('tsx/esm/api');
const children = new Set<ChildProcess>();

interface ServerProcess {
	child: ChildProcess;
	pid: number;
	ready: { port: number; setupSeconds: number; redis: boolean; sessions: SessionSpec[] };
	command(line: string, answerPrefix: string, timeoutMs?: number): Promise<string>;
	stop(): Promise<void>;
}

function startServer(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
	const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
	// The production server's Node options (package.json's serve script), and BENCH_SERVER_FLAGS.
	const flags = [...serveNodeOptions(), ...(process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean)];
	const child = spawn(process.execPath, [...prof, ...flags, '--import', 'tsx', 'bench/rcp-live-server.ts'], {
		cwd: ROOT,
		env: { ...process.env, ...env },
		stdio: ['pipe', 'pipe', 'inherit']
	});
	children.add(child);
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	exited.then(() => children.delete(child));
	const waiting = new Map<string, (rest: string) => void>();
	createInterface({ input: child.stdout! }).on('line', (line) => {
		const prefix = [...waiting.keys()].find((p) => line.startsWith(p));
		if (prefix) {
			const resolve = waiting.get(prefix)!;
			waiting.delete(prefix);
			resolve(line.slice(prefix.length).trim());
		} else console.log(`[server] ${line}`);
	});
	const command = (line: string, answerPrefix: string, timeoutMs = 30_000) =>
		new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`server: no ${answerPrefix} within ${timeoutMs} ms`)), timeoutMs);
			waiting.set(answerPrefix, (rest) => {
				clearTimeout(timer);
				resolve(rest);
			});
			if (line) child.stdin!.write(`${line}\n`);
		});
	return new Promise((resolve, reject) => {
		child.once('exit', (code) => reject(new Error(`server exited (code ${code}) before it was ready`)));
		command('', 'READY', 600_000).then((rest) => {
			resolve({
				child,
				pid: child.pid!,
				ready: JSON.parse(rest),
				command,
				async stop() {
					child.kill('SIGTERM');
					const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
					await exited;
					clearTimeout(killer);
				}
			});
		}, reject);
	});
}


function startClientThread(data: { port: number; sessions: { spec: SessionSpec; index: number }[] }) {
	// Workers do not inherit tsx's loader hooks: each registers them before loading this file.
	const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
	const worker = new Worker(bootstrap, { eval: true, workerData: data });
	let onMessage: (m: FromWorker) => void = () => {};
	const failed = new Promise<never>((_, reject) => {
		worker.on('error', reject);
		worker.on('exit', (code) => reject(new Error(`client thread exited (code ${code})`)));
		worker.on('message', (m: FromWorker) => (m.type === 'error' ? reject(new Error(m.message)) : onMessage(m)));
	});
	failed.catch(() => {});
	const next = <T extends FromWorker['type']>(type: T) =>
		Promise.race([
			failed,
			new Promise<Extract<FromWorker, { type: T }>>((resolve) => {
				onMessage = (m) => m.type === type && resolve(m as Extract<FromWorker, { type: T }>);
			})
		]);
	return { worker, next };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

async function dropBenchDatabase() {
	const admin = new pg.Client({ connectionString: BASE });
	await admin.connect();
	await admin.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
	await admin.end();
}

async function main() {
	process.on('exit', () => {
		for (const child of children) child.kill('SIGKILL');
	});
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.on(signal, () => {
			console.error(`\n${signal}: stopping`);
			process.exit(130); // the exit handler kills the children
		});
	}
	const redis = process.env.BENCH_REDIS === '1';
	console.log(
		`${RCPS} live RCPs × 8 participants; animator moves the pointer every ${POINTER_MS.join('–')} ms and decides every ${DECISION_MS.join('–')} ms; ` +
			(NOTES
				? `everyone types into the current case notes every ${KEY_MS.join('–')} ms; ` +
					(NOTES_REOPEN ? 'notes closed and reopened on each pointer move (BENCH_NOTES_REOPEN=1); ' : 'notes of every case shown kept open; ')
				: 'no case notes (BENCH_NOTES=0); ') +
			`${WARMUP_S} s warm-up + ${MEASURE_S} s measured; ` +
			`${cpus().length} cores, Node ${process.version}, ${CLIENT_THREADS} client threads; socket.io adapter: ${redis ? 'Redis' : 'in memory'}`
	);
	console.log('setting up the database (migrate, demo seed, sessions)…');
	const server = await startServer({
		LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
		BENCH_RCPS: String(RCPS),
		REDIS_URL: redis ? process.env.REDIS_URL || 'redis://127.0.0.1:6379' : ''
	});
	let exitCode = 0;
	try {
		const { port, sessions, setupSeconds } = server.ready;
		console.log(`server ready on port ${port} after ${setupSeconds} s of setup; connecting ${sessions.length * 8} participants…`);
		const tConnect = performance.now();
		const threads = Array.from({ length: CLIENT_THREADS }, (_, t) =>
			startClientThread({ port, sessions: sessions.map((spec, index) => ({ spec, index })).filter((_, i) => i % CLIENT_THREADS === t) })
		);
		try {
			await Promise.all(threads.map((t) => t.next('ready')));
			console.log(`all joined and notes synced in ${((performance.now() - tConnect) / 1000).toFixed(1)} s`);
			await waitForQuietMachine('', Number(process.env.BENCH_QUIET_WAIT_S ?? 180) * 1000);
			console.log('running…');
			const reports = threads.map((t) => t.next('report'));
			for (const t of threads) t.worker.postMessage({ type: 'go' } satisfies ToWorker);
			const start = performance.now();
			await sleep(start + WARMUP_S * 1000 - performance.now());
			server.child.stdin!.write('reset\n');
			const c0 = { pg: postgresCpu(BENCH_DATABASE), client: process.cpuUsage(), machine: machineBusySeconds(), server: cpuSeconds(server.pid), wall: performance.now() };
			await sleep(start + (WARMUP_S + MEASURE_S) * 1000 - performance.now());
			const serverStats = JSON.parse(await server.command('stats', 'STATS')) as Record<string, number> & {
				poolWait: { count: number; p50: number; p99: number; max: number };
				topStatements: { count: number; text: string }[];
			};
			const poolWait = serverStats.poolWait;
			const pg1 = postgresCpu(BENCH_DATABASE);
			const client = process.cpuUsage(c0.client);
			const seconds = (performance.now() - c0.wall) / 1000;
			const machineS = machineBusySeconds() - c0.machine;
			const serverS = cpuSeconds(server.pid) - c0.server;
			const pgS = postgresCpuDelta(c0.pg, pg1);
			const clientS = (client.user + client.system) / 1e6;
			const r = await Promise.all(reports);
			const sum = (f: (x: ClientReport) => number) => r.reduce((n, x) => n + f(x), 0);
			const max = (f: (x: ClientReport) => number) => Math.max(...r.map(f));

			const rows: [string, Float64Array][] = [
				['pointer move → other participants', concat(r.map((x) => x.pointer))],
				['decision → other participants', concat(r.map((x) => x.decision))],
				['notes keystroke → others (Yjs)', concat(r.map((x) => x.typing))],
				['pointer ack at the animator', concat(r.map((x) => x.pointerAck))],
				['decision ack at the animator', concat(r.map((x) => x.decisionAck))]
			];
			const pct = (s: number) => `${fmt((100 * s) / seconds, 0)}%`;
			console.log(`\nLatencies (ms), ${MEASURE_S} s measured:`);
			const head = ['', 'count', 'p50', 'p95', 'p99', 'max'];
			const widths = [44, 8, 8, 8, 8, 8];
			const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('');
			console.log(line(head));
			for (const [name, a] of rows) console.log(line([name, String(a.length), fmt(percentile(a, 50)), fmt(percentile(a, 95)), fmt(percentile(a, 99)), fmt(a.at(-1) ?? NaN)]));

			const kv: [string, string][] = [
				['pointer moves / s', fmt(sum((x) => x.pointerMoves) / MEASURE_S, 1)],
				['decisions / s', fmt(sum((x) => x.decisions) / MEASURE_S, 1)],
				['keystrokes / s', fmt(sum((x) => x.keystrokes) / MEASURE_S, 0)],
				['socket.io events received by clients / s', fmt(sum((x) => x.socketEvents) / MEASURE_S, 0)],
				['Yjs updates delivered to clients / s', fmt(sum((x) => x.yjsDelivered) / MEASURE_S, 0)],
				['server CPU (process.cpuUsage, % of one core)', `${fmt(serverStats.cpuPercent, 0)}% (user ${fmt(serverStats.cpuUserS, 1)} s, system ${fmt(serverStats.cpuSystemS, 1)} s; /proc ${pct(serverS)})`],
				['server RSS at end / peak in window (MB)', `${fmt(serverStats.rssMb, 0)} / ${fmt(serverStats.peakRssMb, 0)} (heap used ${fmt(serverStats.heapUsedMb, 0)})`],
				['server event loop delay p50 / p99 / max (ms)', `${fmt(serverStats.loopP50)} / ${fmt(serverStats.loopP99)} / ${fmt(serverStats.loopMax)}`],
				['server SQL statements / s', fmt(serverStats.queries / serverStats.seconds, 0)],
				['server db pool: wait for a connection p50 / p99 / max (ms)', `${fmt(poolWait.p50)} / ${fmt(poolWait.p99)} / ${fmt(poolWait.max)} (${fmt(poolWait.count / serverStats.seconds, 0)} acquisitions/s, at most ${serverStats.poolMaxWaiting} waiting)`],
				['server sockets / open Yjs documents', `${serverStats.sockets} / ${serverStats.yjsDocs}`],
				['PostgreSQL CPU, bench database (% of one core)', pct(pgS)],
				['client process CPU (% of one core)', pct(clientS)],
				['client threads: loop busy max / delay p99', `${fmt(100 * max((x) => x.loopUtilization), 0)}% / ${fmt(max((x) => x.loopP99))} ms`],
				['other processes CPU (% of one core)', pct(Math.max(0, machineS - serverS - pgS - clientS))],
				['acks refused or timed out (ok:false)', String(sum((x) => x.ackErrors))],
				['missed deliveries: pointer / decision', `${sum((x) => x.pointerMissed)} / ${sum((x) => x.decisionMissed)}`],
				['connect errors / disconnects / Yjs socket closes', `${sum((x) => x.connectErrors)} / ${sum((x) => x.disconnects)} / ${sum((x) => x.wsCloses)}`]
			];
			console.log('');
			for (const [k, v] of kv) console.log(`${k.padEnd(66)}${v}`);
			console.log('\nmost frequent SQL statements on the server (per second):');
			for (const { count, text } of serverStats.topStatements.slice(0, 10)) console.log(`  ${fmt(count / serverStats.seconds, 0).padStart(5)}  ${text}`);
			const samples = r.flatMap((x) => x.errorSamples).slice(0, 5);
			if (samples.length) console.log(`first errors: ${samples.join(' | ')}`);

			const p99Pointer = percentile(rows[0][1], 99);
			const p99Decision = percentile(rows[1][1], 99);
			const met = (p: number) => (Number.isFinite(p) && p < TARGET_P99_MS ? 'met' : 'NOT met');
			console.log(
				`\ntarget p99 < ${TARGET_P99_MS} ms: pointer ${fmt(p99Pointer)} ms — ${met(p99Pointer)}; decision ${fmt(p99Decision)} ms — ${met(p99Decision)}`
			);
			if ((100 * Math.max(0, machineS - serverS - pgS - clientS)) / seconds > 25) console.log('note: other processes were busy during the measurement; the figures are skewed by them.');
		} finally {
			await Promise.all(threads.map((t) => t.worker.terminate()));
		}
	} catch (error) {
		console.error(error);
		exitCode = 1;
	} finally {
		await server.stop();
		await dropBenchDatabase().catch((error) => console.error(`could not drop ${BENCH_DATABASE}: ${error}`));
	}
	process.exit(exitCode);
}

if (isMainThread) {
	await main();
} else {
	clientThread(workerData).catch((error) => {
		parentPort!.postMessage({ type: 'error', message: String(error?.stack ?? error) } satisfies FromWorker);
	});
}
