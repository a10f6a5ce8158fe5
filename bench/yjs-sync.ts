// Benchmark (realtime co-editing): the app's Yjs endpoint against a bare y-websocket server, in
// interleaved pairs, as the harness of issue 16 measures it.
//
//   npx tsx bench/yjs-sync.ts                          (about 6 minutes on a quiet 2-core machine)
//   BENCH_PAIRS=5 BENCH_SECONDS=30 npx tsx bench/yjs-sync.ts
//
// The two servers, run one at a time as child processes on 127.0.0.1:
//   ours       the production realtime code path (bench/yjs-server-ours.ts: attachRealtime on an
//              http.Server, the production database pool, no Redis as in a one-process deployment):
//              every connection is authorised at the upgrade from a real session cookie (session,
//              access policy, patient audit "read"), updates are checked against the document's
//              schema, stored in PostgreSQL (group commit) and acknowledged ("stored", message 100);
//              the first accepted edit of each connection writes a "PPS edited" audit row; PPS
//              documents are projected to JSON a second after the last edit.
//   reference  @y/websocket-server 0.1.1 (bench/reference/server.mjs: in memory, no auth, no
//              storage), installed on first run into bench/reference/node_modules, never into the
//              app's; same yjs, y-protocols, lib0 and ws versions as the app.
//
// The load: BENCH_DOCS documents (default 50) × BENCH_EDITORS editors (default 10), one
// y-websocket client (the app's yjs and y-websocket) per editor and document, with its own
// session. A run opens all the clients at once; each editor starts typing as soon as its own
// client has synced, at its own random phase, one character every 150–300 ms, until BENCH_SECONDS
// (default 15) after the start. No warm-up, no waiting for a quiet moment: the connection storm,
// the first edit of each connection (patient resolved, audit row) and cold caches are inside the
// measurement. Two variants:
//   PPS    `pps:<patientId>` documents of patients whose care team holds the editors: each editor
//          adds an objective on its first keystroke, then types in its text (one keystroke in ten
//          goes into another editor's objective), as the PPS editor would.
//   notes  the team notes `ms-notes:<microstructureId>`: every editor types into the shared text.
//
// Figures of a run:
//   connect 500  from the moment the clients are opened until every one is connected and synced.
//   latency      from an edit's local insert to its arrival at each other editor of the document
//                that was already synced when the edit was made (arrivals through a client's
//                own initial sync are the connect figure's), over every edit of the run; p50, p99.
//   server CPU   of the server process (and of the PostgreSQL backends of its database) over the
//                run; peak RSS is the server's VmHWM at the end of the run.
//   lost         after the typing stops: every replica of a document must hold every edit of every
//                editor, the same content, and every typed character; ours must also have
//                acknowledged every edit as stored. Any loss makes the script exit with 1.
//
// Pairs: reference and ours run back to back, alternately in either order (ABBA), and each ratio
// (ours / reference) is taken within its pair, then reported as the median of the pairs with
// their range. A pair during which other processes used more than half a core (machine CPU beyond
// the servers, their PostgreSQL backends and this process) is discarded and taken again, at most
// BENCH_MAX_REPEATS times per variant (default 2); then the figures are those of the quiet pairs
// taken, fewer than asked (or, if not one was quiet, of the least busy pair, flagged). Before each
// pair the script waits, up to a minute (10 s before the second run of a pair), for the machine to
// be quiet (a quarter of a core busy at most). Each run of ours starts from a fresh copy of a
// template database (`msh_bench_yjs_template`, built once at the start on DATABASE_URL's server,
// default PostgreSQL on 127.0.0.1), dropped at the end.
//
// Knobs: BENCH_PAIRS (PPS pairs, default 3), BENCH_NOTES_PAIRS (default 2, 0 to skip), BENCH_SECONDS,
// BENCH_DOCS, BENCH_EDITORS, BENCH_MAX_REPEATS, BENCH_CLIENT_THREADS (the clients run in this
// process over that many worker threads, default 2; the editors of a document share a thread, so
// each latency is read on one clock), BENCH_CPU_PROF=<dir> to write V8 CPU profiles of both servers
// there, BENCH_SERVER_FLAGS="<node flags>" for both servers. Not part of `npm test`.
//
// The last line is the summary:
//   pps p99 ratio <r> (pairs <min>–<max>); notes p99 ratio <r>; connect 500 <ms> ms vs reference <ms> ms; rss ratio <r>
// (medians over the PPS pairs, except the notes ratio).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import pg from 'pg';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import * as decoding from 'lib0/decoding';
import { MESSAGE_REFUSED, MESSAGE_STORED } from '../src/lib/realtime/save-state.ts';
import { DOMAINS, list, newItem, project, type PpsMap } from '../src/lib/pps/model.ts';
import { cpuSeconds, postgresCpu, postgresCpuDelta, processesBusySeconds, statusKb, waitForQuietMachine } from './machine.ts';
import { concat, median, percentile } from './figures.ts';
import { buildServer, serveNodeOptions } from '../scripts/build-server.ts';

const DOCS = Number(process.env.BENCH_DOCS || 50);
const EDITORS = Number(process.env.BENCH_EDITORS || 10);
const SECONDS = Number(process.env.BENCH_SECONDS || 15);
const PPS_PAIRS = Number(process.env.BENCH_PAIRS || 3);
const NOTES_PAIRS = Number(process.env.BENCH_NOTES_PAIRS ?? 2);
const MAX_REPEATS = Number(process.env.BENCH_MAX_REPEATS ?? 2);
const CLIENT_THREADS = Math.max(1, Math.min(DOCS, Number(process.env.BENCH_CLIENT_THREADS || 2)));
/** A pair is discarded when other processes used more than this (cores, over either run). */
const OTHER_LIMIT_CORES = 0.5;
/** How long a pair waits for a quiet machine before it starts anyway. */
const QUIET_WAIT_MS = 60_000;
const KEY_MIN_MS = 150;
const KEY_MAX_MS = 300;
const CONNECT_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 30_000;

// What the editors type (BMP characters only: one character is one Yjs clock tick).
const PHRASE =
	'Entretien ce jour avec la psychologue : sevrage tabagique en cours, bonne adhésion au suivi. ' +
	'Revoir le dossier MDPH avec le travailleur social avant la prochaine RCP. ';

type Kind = 'pps' | 'notes';
type Label = 'reference' | 'ours';

interface DocSpec {
	name: string;
	cookies: string[];
}

interface ThreadData {
	port: number;
	kind: Kind;
	docs: DocSpec[];
	ours: boolean;
}

/** What a client thread reports after a run. */
interface ClientReport {
	latencies: Float64Array;
	storedLatencies: Float64Array;
	typed: number;
	storedAcks: number;
	refused: number;
	lost: number;
	divergent: number;
	reconnects: number;
	drainMs: number;
	unstored: number;
	loopUtilization: number;
}

type ToWorker = { type: 'connect' } | { type: 'stop' };
type FromWorker = { type: 'loaded' } | { type: 'synced' } | { type: 'error'; message: string } | ({ type: 'report' } & ClientReport);

// =============================================================================================
// Client thread: the editors of some documents
// =============================================================================================

interface Editor {
	index: number;
	doc: Y.Doc;
	provider: WebsocketProvider;
	clientId: number;
	/** when this client first synced: it measures only the edits made after that */
	syncedAt: number;
	/** last clock of each edit of this editor → performance.now() at the local insert */
	sentAt: Map<number, number>;
	/** characters typed */
	typed: number;
	cursor: Y.RelativePosition | null;
	/** PPS: the objective this editor added */
	item: PpsMap | null;
	phrasePos: number;
	timer: NodeJS.Timeout | undefined;
	closes: number;
	refused: number;
	/** ours only: clock up to which the server acknowledged storing this editor's edits */
	storedUpTo: number;
}

interface Group {
	editors: Editor[];
}

interface Recorder {
	latencies: number[];
	storedLatencies: number[];
	storedAcks: number;
}

/** A `ws` WebSocket that sends the session cookie and an Origin header like a browser. */
function webSocketWith(headers: Record<string, string>) {
	return class extends WebSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols, { headers });
		}
	};
}

let typing = false;

/** Types one character where the editor is: its place in the notes, or in its objective of the PPS. */
function typeCharacter(kind: Kind, editor: Editor, character: string) {
	if (kind === 'notes') return typeAtCursor(editor, editor.doc.getText('notes'), character);
	const objectives = list(editor.doc, 'objectives');
	if (!editor.item) {
		// The first keystroke adds the editor's objective (one transaction: the item and its text).
		const item = newItem('objectives', { domain: DOMAINS[editor.index % DOMAINS.length], text: character });
		objectives.push([item]);
		editor.item = item;
		editor.cursor = Y.createRelativePositionFromTypeIndex(item.get('text') as Y.Text, 1);
		return;
	}
	if (objectives.length > 1 && Math.random() < 0.1) {
		// Now and then, a word in someone else's objective.
		const other = objectives.get(Math.floor(Math.random() * objectives.length)).get('text');
		if (other instanceof Y.Text && other !== editor.item.get('text')) {
			other.insert(Math.floor(Math.random() * (other.length + 1)), character);
			return;
		}
	}
	typeAtCursor(editor, editor.item.get('text') as Y.Text, character);
}

function typeAtCursor(editor: Editor, text: Y.Text, character: string) {
	let index = editor.cursor ? Y.createAbsolutePositionFromRelativePosition(editor.cursor, editor.doc)?.index : undefined;
	// Now and then the editor clicks elsewhere in the text.
	if (index === undefined || Math.random() < 0.02) index = Math.floor(Math.random() * (text.length + 1));
	text.insert(index, character);
	editor.cursor = Y.createRelativePositionFromTypeIndex(text, index + 1);
}

function keystroke(kind: Kind, editor: Editor) {
	if (!typing) return;
	const t = performance.now();
	typeCharacter(kind, editor, PHRASE[editor.phrasePos++ % PHRASE.length]); // one transaction, sent at once
	editor.sentAt.set(Y.getState(editor.doc.store, editor.clientId) - 1, t);
	editor.typed++;
	editor.timer = setTimeout(() => keystroke(kind, editor), KEY_MIN_MS + Math.random() * (KEY_MAX_MS - KEY_MIN_MS));
}

function connectGroup(data: ThreadData, spec: DocSpec, rec: Recorder, onSynced: () => void): Group {
	const editors: Editor[] = [];
	const byClient = new Map<number, Editor>();
	spec.cookies.forEach((cookie, index) => {
		const doc = new Y.Doc();
		const provider = new WebsocketProvider(`ws://127.0.0.1:${data.port}/yjs`, spec.name, doc, {
			WebSocketPolyfill: webSocketWith({ Cookie: cookie, Origin: `http://127.0.0.1:${data.port}` }) as unknown as typeof globalThis.WebSocket,
			disableBc: true, // same-process providers would otherwise sync around the server
			maxBackoffTime: 1000
		});
		const editor: Editor = {
			index,
			doc,
			provider,
			clientId: doc.clientID,
			syncedAt: Infinity,
			sentAt: new Map(),
			typed: 0,
			cursor: null,
			item: null,
			phrasePos: Math.floor(Math.random() * PHRASE.length),
			timer: undefined,
			closes: 0,
			refused: 0,
			storedUpTo: 0
		};
		// Ours acknowledges stored updates (message 100, a snapshot), handled as the editors do.
		provider.messageHandlers[MESSAGE_STORED] = (_encoder, decoder) => {
			rec.storedAcks++;
			const stored = Y.decodeSnapshot(decoding.readVarUint8Array(decoder)).sv.get(editor.clientId) ?? 0;
			const now = performance.now();
			for (let clock = editor.storedUpTo; clock < stored; clock++) {
				const t = editor.sentAt.get(clock);
				if (t !== undefined) rec.storedLatencies.push(now - t);
			}
			editor.storedUpTo = Math.max(editor.storedUpTo, stored);
		};
		provider.messageHandlers[MESSAGE_REFUSED] = () => void editor.refused++;
		provider.on('connection-close', () => editor.closes++);
		provider.on('sync', (synced: boolean) => {
			if (!synced || editor.syncedAt !== Infinity) return;
			editor.syncedAt = performance.now();
			onSynced();
			// Typing starts at once, at this editor's own phase.
			editor.timer = setTimeout(() => keystroke(data.kind, editor), Math.random() * KEY_MAX_MS);
		});
		// Arrival of remote edits: the clocks by which each author's state advanced in this replica
		// (the state only advances over contiguous clocks, so an edit counts once it is integrated).
		doc.on('afterTransaction', (tr: Y.Transaction) => {
			if (tr.local) return;
			const now = performance.now();
			for (const [client, after] of tr.afterState) {
				const author = byClient.get(client);
				if (!author) continue;
				for (let clock = tr.beforeState.get(client) ?? 0; clock < after; clock++) {
					const t = author.sentAt.get(clock);
					if (t !== undefined && t >= editor.syncedAt) rec.latencies.push(now - t);
				}
			}
		});
		editors.push(editor);
		byClient.set(editor.clientId, editor);
	});
	return { editors };
}

/** (edit, replica) pairs still missing in a group: each editor's own clock is the truth. */
function missing(group: Group): number {
	let count = 0;
	for (const author of group.editors) {
		const expected = Y.getState(author.doc.store, author.clientId);
		for (const replica of group.editors) count += Math.max(0, expected - Y.getState(replica.doc.store, author.clientId));
	}
	return count;
}

/** A replica's content, and how many typed characters it holds. */
function content(kind: Kind, doc: Y.Doc): { text: string; characters: number } {
	if (kind === 'notes') {
		const text = doc.getText('notes').toString();
		return { text, characters: text.length };
	}
	const projection = project(doc);
	return { text: JSON.stringify(projection), characters: projection.objectives.reduce((n, o) => n + o.text.length, 0) };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
	const deadline = performance.now() + timeoutMs;
	while (!condition()) {
		if (performance.now() > deadline) return false;
		await new Promise((r) => setTimeout(r, 50));
	}
	return true;
}

async function clientThread(data: ThreadData) {
	const port = parentPort!;
	const rec: Recorder = { latencies: [], storedLatencies: [], storedAcks: 0 };
	process.setMaxListeners(data.docs.length * EDITORS + 20); // each provider listens to 'exit'
	const next = (type: ToWorker['type']) => new Promise<void>((resolve) => port.once('message', (m: ToWorker) => m.type === type && resolve()));

	const connect = next('connect');
	port.postMessage({ type: 'loaded' } satisfies FromWorker);
	await connect;
	const stop = next('stop');
	// All the clients at once.
	typing = true;
	let unsynced = data.docs.length * EDITORS;
	const groups = data.docs.map((spec) =>
		connectGroup(data, spec, rec, () => {
			if (--unsynced === 0) port.postMessage({ type: 'synced' } satisfies FromWorker);
		})
	);
	const editors = groups.flatMap((g) => g.editors);
	const elu0 = performance.eventLoopUtilization();
	const connectTimeout = setTimeout(() => {
		port.postMessage({ type: 'error', message: `only ${editors.filter((e) => e.syncedAt < Infinity).length}/${editors.length} clients synced` } satisfies FromWorker);
	}, CONNECT_TIMEOUT_MS);
	await stop;
	const elu = performance.eventLoopUtilization(elu0);
	typing = false;
	for (const e of editors) clearTimeout(e.timer);
	// Clients still connecting when the typing stops are waited for (the main thread waits for `synced`).
	await waitFor(() => unsynced === 0, CONNECT_TIMEOUT_MS);
	clearTimeout(connectTimeout);

	// Quiescence: every replica has every edit of every editor (and, for ours, every edit is stored).
	const t1 = performance.now();
	await waitFor(() => groups.every((g) => missing(g) === 0), DRAIN_TIMEOUT_MS);
	const drainMs = performance.now() - t1;
	const unacked = () => editors.reduce((n, e) => n + Math.max(0, Y.getState(e.doc.store, e.clientId) - e.storedUpTo), 0);
	if (data.ours) await waitFor(() => unacked() === 0, DRAIN_TIMEOUT_MS);

	// Verification: the same content everywhere, holding every character typed (nothing is deleted).
	let lost = 0;
	let divergent = 0;
	for (const g of groups) {
		lost += missing(g);
		const typed = g.editors.reduce((n, e) => n + e.typed, 0);
		const first = content(data.kind, g.editors[0].doc).text;
		for (const e of g.editors) {
			const c = content(data.kind, e.doc);
			if (c.text !== first || c.characters !== typed) divergent++;
		}
	}
	const report: ClientReport = {
		latencies: Float64Array.from(rec.latencies),
		storedLatencies: Float64Array.from(rec.storedLatencies),
		typed: editors.reduce((n, e) => n + e.typed, 0),
		storedAcks: rec.storedAcks,
		refused: editors.reduce((n, e) => n + e.refused, 0),
		lost,
		divergent,
		reconnects: editors.reduce((n, e) => n + e.closes, 0),
		drainMs,
		unstored: data.ours ? unacked() : 0,
		loopUtilization: elu.utilization
	};
	for (const e of editors) {
		e.provider.destroy();
		e.doc.destroy();
	}
	port.postMessage({ type: 'report', ...report } satisfies FromWorker, [report.latencies.buffer as ArrayBuffer, report.storedLatencies.buffer as ArrayBuffer]);
}

// =============================================================================================
// Main thread: databases, servers, client threads, runs, pairs
// =============================================================================================

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REFERENCE_DIR = `${ROOT}bench/reference`;
const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TEMPLATE_DATABASE = 'msh_bench_yjs_template';
const RUN_DATABASE = 'msh_bench_yjs';
const TSX_API = import.meta.resolve('tsx/esm/api');

function databaseUrl(name: string) {
	const u = new URL(BASE);
	u.pathname = `/${name}`;
	return u.toString();
}

async function admin(...statements: string[]) {
	const client = new pg.Client({ connectionString: BASE });
	await client.connect();
	try {
		for (const s of statements) await client.query(s);
	} finally {
		await client.end();
	}
}

// Child processes are always killed when this process ends, however it ends (they also exit by
// themselves when their stdin closes).
const children = new Set<ChildProcess>();

interface ServerProcess {
	child: ChildProcess;
	pid: number;
	ready: Record<string, unknown>;
	command(line: string, answerPrefix: string, timeoutMs?: number): Promise<string>;
	stop(): Promise<void>;
}

/** Starts a node process that prints `<readyPrefix> <json>` when ready; other lines are echoed. */
function startServer(label: string, args: string[], env: NodeJS.ProcessEnv, readyPrefix = 'READY'): Promise<ServerProcess> {
	const measured = readyPrefix === 'READY';
	const prof = process.env.BENCH_CPU_PROF && measured ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
	const flags = measured ? (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean) : [];
	const child = spawn(process.execPath, [...prof, ...flags, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
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
		} else console.log(`[${label}] ${line}`);
	});
	const command = (line: string, answerPrefix: string, timeoutMs = 30_000) =>
		new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`${label}: no ${answerPrefix} within ${timeoutMs} ms`)), timeoutMs);
			waiting.set(answerPrefix, (rest) => {
				clearTimeout(timer);
				resolve(rest);
			});
			if (line) child.stdin!.write(`${line}\n`);
		});
	return new Promise((resolve, reject) => {
		child.once('exit', (code) => reject(new Error(`${label} exited (code ${code}) before it was ready`)));
		command('', readyPrefix, 300_000).then((rest) => {
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

function startClientThread(data: ThreadData) {
	// Workers do not inherit tsx's loader hooks: each registers them before loading this file.
	const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
	const worker = new Worker(bootstrap, { eval: true, workerData: data });
	const queue: FromWorker[] = [];
	let wake: () => void = () => {};
	const failed = new Promise<never>((_, reject) => {
		worker.on('error', reject);
		worker.on('exit', (code) => reject(new Error(`client thread exited (code ${code})`)));
		worker.on('message', (m: FromWorker) => {
			if (m.type === 'error') reject(new Error(m.message));
			queue.push(m);
			wake();
		});
	});
	failed.catch(() => {});
	/** The thread's next message, which must be of this type. */
	const next = async <T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> => {
		while (queue.length === 0) await Promise.race([failed, new Promise<void>((resolve) => (wake = resolve))]);
		const m = queue.shift()!;
		if (m.type !== type) throw new Error(`client thread: expected ${type}, got ${m.type}`);
		return m as Extract<FromWorker, { type: T }>;
	};
	return { worker, next };
}

/** The figures of one run (one server, one variant). */
interface Run {
	label: Label;
	connectMs: number;
	p50: number;
	p99: number;
	max: number;
	samples: number;
	typed: number;
	storedP99: number;
	storedAcks: number;
	/** cores, averaged over the run */
	serverCpu: number;
	postgresCpu: number;
	clientCpu: number;
	otherCpu: number;
	peakRssMb: number;
	clientLoopUtilization: number;
	lost: number;
	divergent: number;
	unstored: number;
	refused: number;
	reconnects: number;
	drainMs: number;
	stats: Record<string, number>;
}

async function run(label: Label, kind: Kind, server: ServerProcess, database: string | null, docs: DocSpec[]): Promise<Run> {
	const ours = label === 'ours';
	const threads = Array.from({ length: CLIENT_THREADS }, (_, i) =>
		startClientThread({ port: server.ready.port as number, kind, docs: docs.filter((_, d) => d % CLIENT_THREADS === i), ours })
	);
	try {
		await Promise.all(threads.map((t) => t.next('loaded')));
		server.child.stdin!.write('reset\n');
		const pg0 = database ? postgresCpu(database) : new Map<number, number>();
		const cpu0 = { server: cpuSeconds(server.pid), client: process.cpuUsage(), machine: processesBusySeconds(), wall: performance.now() };
		for (const t of threads) t.worker.postMessage({ type: 'connect' } satisfies ToWorker);
		const synced = Promise.all(threads.map((t) => t.next('synced'))).then(() => performance.now() - cpu0.wall);
		const reports = synced.then(() => Promise.all(threads.map((t) => t.next('report'))));
		// The typing stops BENCH_SECONDS after the start, however long the connections took (a
		// thread still connecting then stops once connected).
		await new Promise((r) => setTimeout(r, Math.max(0, cpu0.wall + SECONDS * 1000 - performance.now())));
		for (const t of threads) t.worker.postMessage({ type: 'stop' } satisfies ToWorker);
		const cpu1 = { server: cpuSeconds(server.pid), client: process.cpuUsage(cpu0.client), machine: processesBusySeconds(), wall: performance.now() };
		const pg1 = database ? postgresCpu(database) : new Map<number, number>();
		const connectMs = await synced;
		const r = await reports;
		const stats = JSON.parse(await server.command('stats', 'STATS')) as Record<string, number>;

		const seconds = (cpu1.wall - cpu0.wall) / 1000;
		const serverCpuS = cpu1.server - cpu0.server;
		const postgresCpuS = postgresCpuDelta(pg0, pg1);
		const clientCpuS = (cpu1.client.user + cpu1.client.system) / 1e6;
		const latencies = concat(r.map((x) => x.latencies));
		const stored = concat(r.map((x) => x.storedLatencies));
		const sum = (f: (x: ClientReport) => number) => r.reduce((n, x) => n + f(x), 0);
		return {
			label,
			connectMs,
			p50: percentile(latencies, 50),
			p99: percentile(latencies, 99),
			max: latencies.at(-1) ?? NaN,
			samples: latencies.length,
			typed: sum((x) => x.typed),
			storedP99: percentile(stored, 99),
			storedAcks: sum((x) => x.storedAcks),
			serverCpu: serverCpuS / seconds,
			postgresCpu: postgresCpuS / seconds,
			clientCpu: clientCpuS / seconds,
			otherCpu: Math.max(0, cpu1.machine - cpu0.machine - serverCpuS - postgresCpuS - clientCpuS) / seconds,
			peakRssMb: statusKb(server.pid, 'VmHWM') / 1024,
			clientLoopUtilization: Math.max(...r.map((x) => x.loopUtilization)),
			lost: sum((x) => x.lost),
			divergent: sum((x) => x.divergent),
			unstored: sum((x) => x.unstored),
			refused: sum((x) => x.refused),
			reconnects: sum((x) => x.reconnects),
			drainMs: Math.max(...r.map((x) => x.drainMs)),
			stats
		};
	} finally {
		await Promise.all(threads.map((t) => t.worker.terminate()));
	}
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const pct = (cores: number) => `${fmt(100 * cores, 0)}%`;

function printRun(r: Run) {
	const extra =
		r.label === 'ours'
			? `; stored acks p99 ${fmt(r.storedP99, 0)} ms, audit rows read ${r.stats.readAudits} / edited ${r.stats.editAudits}, stored rows ${r.stats.storedRows}, pool max waiting ${r.stats.poolMaxWaiting}`
			: '';
	console.log(
		`    ${r.label.padEnd(9)} connect ${fmt(r.connectMs, 0).padStart(5)} ms  p50 ${fmt(r.p50).padStart(6)} ms  p99 ${fmt(r.p99).padStart(6)} ms  max ${fmt(r.max, 0).padStart(5)} ms  ` +
			`server ${pct(r.serverCpu)} + postgres ${pct(r.postgresCpu)} of a core, peak RSS ${fmt(r.peakRssMb, 0)} MB; clients ${pct(r.clientCpu)} (busiest thread ${pct(r.clientLoopUtilization)}), ` +
			`other processes ${pct(r.otherCpu)}; ${r.typed} keystrokes, ${r.samples} arrivals, server loop delay p99/max ${fmt(r.stats.loopP99, 0)}/${fmt(r.stats.loopMax, 0)} ms, GC ${r.stats.gcMs} ms; ` +
			`lost ${r.lost}, divergent ${r.divergent}, refused ${r.refused}, unstored ${r.unstored}, reconnects ${r.reconnects}, drain ${fmt(r.drainMs, 0)} ms${extra}`
	);
}

interface Pair {
	ref: Run;
	ours: Run;
	/** the most that other processes used during either run, in cores */
	other: number;
	/** kept although busy (the repeat cap was reached) */
	busy: boolean;
}

const ratio = (p: Pair, f: (r: Run) => number) => f(p.ours) / f(p.ref);

function ensureReference(): string {
	const manifest = `${REFERENCE_DIR}/node_modules/@y/websocket-server/package.json`;
	const wanted = JSON.parse(readFileSync(`${REFERENCE_DIR}/package.json`, 'utf8')).dependencies['@y/websocket-server'];
	if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).version !== wanted) {
		console.log(`installing @y/websocket-server ${wanted} into bench/reference/node_modules (first run)…`);
		execFileSync('npm', ['install', '--prefix', REFERENCE_DIR, '--no-audit', '--no-fund', '--no-package-lock'], { cwd: ROOT, stdio: 'inherit' });
	}
	if (existsSync(`${ROOT}node_modules/@y/websocket-server`)) throw new Error('@y/websocket-server must not be in the app’s node_modules');
	return JSON.parse(readFileSync(`${REFERENCE_DIR}/node_modules/yjs/package.json`, 'utf8')).version;
}

/** bench/yjs-server-ours.ts compiled as the production server is (scripts/build-server.ts). */
const OURS_BUILT = 'build/bench/yjs-server-ours.js';

/** Builds the template database of ours (bench/yjs-server-ours.ts setup); returns the documents. */
async function buildTemplate(): Promise<Record<Kind, DocSpec[]>> {
	const t0 = performance.now();
	await buildServer('bench/yjs-server-ours.ts', OURS_BUILT);
	await admin(`drop database if exists ${RUN_DATABASE} with (force)`, `drop database if exists ${TEMPLATE_DATABASE} with (force)`, `create database ${TEMPLATE_DATABASE}`);
	const setup = await startServer('ours setup', ['--import', 'tsx', 'bench/yjs-server-ours.ts', 'setup'], { DATABASE_URL: databaseUrl(TEMPLATE_DATABASE), LOG_LEVEL: 'warn', BENCH_DOCS: String(DOCS), BENCH_EDITORS: String(EDITORS) }, 'DOCS');
	await setup.stop();
	console.log(`template database ${TEMPLATE_DATABASE} built in ${fmt((performance.now() - t0) / 1000)} s`);
	return setup.ready as unknown as Record<Kind, DocSpec[]>;
}

async function runReference(kind: Kind, quietWaitMs: number): Promise<Run> {
	await waitForQuietMachine('    reference', quietWaitMs);
	const server = await startServer('reference', [`${REFERENCE_DIR}/server.mjs`], {});
	try {
		// As many documents and connections, with cookie headers it ignores.
		const docs = Array.from({ length: DOCS }, () => ({
			name: `${kind === 'pps' ? 'pps' : 'ms-notes'}:${randomUUID()}`,
			cookies: Array.from({ length: EDITORS }, () => `session=${'x'.repeat(32)}`)
		}));
		return await run('reference', kind, server, null, docs);
	} finally {
		await server.stop();
	}
}

async function runOurs(kind: Kind, docs: Record<Kind, DocSpec[]>, quietWaitMs: number): Promise<Run> {
	// Empty documents each run: a fresh copy of the template.
	await admin(`drop database if exists ${RUN_DATABASE} with (force)`, `create database ${RUN_DATABASE} template ${TEMPLATE_DATABASE}`);
	await waitForQuietMachine('    ours', quietWaitMs);
	// Compiled and started as `npm run serve` starts the production server (same build options,
	// same Node options), not through tsx.
	const server = await startServer('ours', [...serveNodeOptions(), OURS_BUILT], { DATABASE_URL: databaseUrl(RUN_DATABASE) });
	try {
		return await run('ours', kind, server, RUN_DATABASE, docs[kind]);
	} finally {
		await server.stop();
	}
}

/** `count` ABBA pairs of one variant, busy pairs discarded and repeated (up to MAX_REPEATS). */
async function measurePairs(kind: Kind, count: number, docs: Record<Kind, DocSpec[]>): Promise<Pair[]> {
	const kept: Pair[] = [];
	const discarded: Pair[] = [];
	for (let attempt = 0; kept.length < count && attempt < count + MAX_REPEATS; attempt++) {
		const referenceFirst = attempt % 2 === 0;
		console.log(`  ${kind} pair ${attempt + 1} (${referenceFirst ? 'reference first' : 'ours first'}):`);
		const runs: Partial<Record<Label, Run>> = {};
		for (const label of referenceFirst ? (['reference', 'ours'] as const) : (['ours', 'reference'] as const)) {
			// A pair starts once the machine is quiet (waiting up to a minute); its second run follows soon.
			const quietWaitMs = Object.keys(runs).length === 0 ? QUIET_WAIT_MS : 10_000;
			runs[label] = label === 'ours' ? await runOurs(kind, docs, quietWaitMs) : await runReference(kind, quietWaitMs);
			printRun(runs[label]);
		}
		const pair: Pair = { ref: runs.reference!, ours: runs.ours!, other: Math.max(runs.reference!.otherCpu, runs.ours!.otherCpu), busy: false };
		const summary =
			`p99 ratio ${fmt(ratio(pair, (r) => r.p99), 2)}, p50 ratio ${fmt(ratio(pair, (r) => r.p50), 2)}, ` +
			`connect ${fmt(pair.ours.connectMs, 0)} vs ${fmt(pair.ref.connectMs, 0)} ms, server CPU ratio ${fmt(ratio(pair, (r) => r.serverCpu), 2)}, peak RSS ratio ${fmt(ratio(pair, (r) => r.peakRssMb), 2)}`;
		if (pair.other > OTHER_LIMIT_CORES) {
			discarded.push(pair);
			console.log(`    → discarded (other processes used ${fmt(pair.other, 2)} core): ${summary}`);
		} else {
			kept.push(pair);
			console.log(`    → ${summary}`);
		}
	}
	if (kept.length > 0 && kept.length < count) {
		console.log(`  note: the repeat cap (${MAX_REPEATS}) was reached: ${kept.length} quiet pair(s) of ${count}, the busy ones left out`);
	} else if (kept.length === 0) {
		// Not one quiet pair: the least busy one stands in, flagged.
		const least = discarded.sort((a, b) => a.other - b.other)[0];
		kept.push({ ...least, busy: true });
		console.log(`  note: the repeat cap (${MAX_REPEATS}) was reached without a quiet pair: the least busy one (${fmt(least.other, 2)} core used by other processes) stands in`);
	}
	return kept;
}

interface Summary {
	pairs: Pair[];
	p99: number;
	p99Min: number;
	p99Max: number;
	p50: number;
	p50Min: number;
	p50Max: number;
	connectOurs: number;
	connectRef: number;
	cpu: number;
	rss: number;
	rssOurs: number;
	rssRef: number;
	lost: number;
}

function summarise(pairs: Pair[]): Summary {
	const ratios = (f: (r: Run) => number) => pairs.map((p) => ratio(p, f));
	const p99 = ratios((r) => r.p99);
	const p50 = ratios((r) => r.p50);
	return {
		pairs,
		p99: median(p99),
		p99Min: Math.min(...p99),
		p99Max: Math.max(...p99),
		p50: median(p50),
		p50Min: Math.min(...p50),
		p50Max: Math.max(...p50),
		connectOurs: median(pairs.map((p) => p.ours.connectMs)),
		connectRef: median(pairs.map((p) => p.ref.connectMs)),
		cpu: median(ratios((r) => r.serverCpu)),
		rss: median(ratios((r) => r.peakRssMb)),
		rssOurs: median(pairs.map((p) => p.ours.peakRssMb)),
		rssRef: median(pairs.map((p) => p.ref.peakRssMb)),
		lost: pairs.reduce((n, p) => n + [p.ref, p.ours].reduce((m, r) => m + r.lost + r.divergent + r.unstored + r.refused, 0), 0)
	};
}

function printSummary(kind: Kind, s: Summary) {
	const busy = s.pairs.filter((p) => p.busy).length;
	console.log(
		`${kind}: ${s.pairs.length} pairs${busy ? ` (${busy} busy)` : ''}; ours / reference, median (range) over the pairs: ` +
			`p99 ${fmt(s.p99, 2)} (${fmt(s.p99Min, 2)}–${fmt(s.p99Max, 2)}), p50 ${fmt(s.p50, 2)} (${fmt(s.p50Min, 2)}–${fmt(s.p50Max, 2)}), ` +
			`server CPU ${fmt(s.cpu, 2)}, peak RSS ${fmt(s.rss, 2)} (${fmt(s.rssOurs, 0)} vs ${fmt(s.rssRef, 0)} MB); ` +
			`connect 500: ${fmt(s.connectOurs, 0)} vs ${fmt(s.connectRef, 0)} ms; lost ${s.lost}`
	);
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

	const referenceYjs = ensureReference();
	const appYjs = JSON.parse(readFileSync(`${ROOT}node_modules/yjs/package.json`, 'utf8')).version;
	console.log(
		`${DOCS} documents × ${EDITORS} editors, all typing from the start (one keystroke every ${KEY_MIN_MS}–${KEY_MAX_MS} ms each) for ${SECONDS} s per run; ` +
			`${PPS_PAIRS} PPS pairs and ${NOTES_PAIRS} notes pairs (ABBA), a pair discarded when other processes use more than ${OTHER_LIMIT_CORES} core (at most ${MAX_REPEATS} repeats per variant); ` +
			`${cpus().length} cores, Node ${process.version}, ${CLIENT_THREADS} client threads; clients: yjs ${appYjs} + y-websocket (app); ` +
			`reference: @y/websocket-server 0.1.1 with yjs ${referenceYjs}`
	);

	let pps: Summary;
	let notes: Summary | null = null;
	try {
		const docs = await buildTemplate();
		pps = summarise(await measurePairs('pps', PPS_PAIRS, docs));
		if (NOTES_PAIRS > 0) notes = summarise(await measurePairs('notes', NOTES_PAIRS, docs));
	} finally {
		await admin(`drop database if exists ${RUN_DATABASE} with (force)`, `drop database if exists ${TEMPLATE_DATABASE} with (force)`).catch((error) =>
			console.error(`could not drop the benchmark databases: ${error}`)
		);
	}

	console.log('');
	printSummary('pps', pps);
	if (notes) printSummary('notes', notes);
	const lost = pps.lost + (notes?.lost ?? 0);
	console.log(`lost updates (missing, divergent, refused or never stored, both servers): ${lost === 0 ? '0' : `${lost} (FAILED)`}`);
	console.log(
		`server CPU ratio: pps ${fmt(pps.cpu, 2)}; notes ${fmt(notes?.cpu ?? NaN, 2)}. ` +
			`pps p50 ratio ${fmt(pps.p50, 2)} (pairs ${fmt(pps.p50Min, 2)}–${fmt(pps.p50Max, 2)}); notes p50 ratio ${fmt(notes?.p50 ?? NaN, 2)}`
	);
	console.log(
		`pps p99 ratio ${fmt(pps.p99, 2)} (pairs ${fmt(pps.p99Min, 2)}–${fmt(pps.p99Max, 2)}); notes p99 ratio ${fmt(notes?.p99 ?? NaN, 2)}; ` +
			`connect 500 ${fmt(pps.connectOurs, 0)} ms vs reference ${fmt(pps.connectRef, 0)} ms; rss ratio ${fmt(pps.rss, 2)}`
	);
	process.exit(lost === 0 ? 0 : 1);
}

if (isMainThread) {
	await main();
} else {
	clientThread(workerData as ThreadData).catch((error) => {
		parentPort!.postMessage({ type: 'error', message: String(error?.stack ?? error) } satisfies FromWorker);
	});
}
