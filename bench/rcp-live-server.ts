// Server for bench/rcp-live.ts: the app's realtime endpoints (attachRealtime: socket.io with the RCP
// handlers, and the Yjs websocket) on a bare http.Server, against a throwaway database
// `msh_bench_rcp` on DATABASE_URL's server (default: PostgreSQL on 127.0.0.1).
//
//   node --import tsx bench/rcp-live-server.ts     (started by bench/rcp-live.ts, not by hand)
//
// Migrates, seeds the demo, then sets up BENCH_RCPS live RCPs (bench/rcp-setup.ts: a microstructure,
// 8 participants, 9 cases, a session started by its animator, one login session per participant).
// Prints `READY <json>` (port, sessions with their items and cookies),
// then serves. On stdin, `reset` starts a measurement window and `stats` prints `STATS <json>`
// (CPU and RSS of this process over the window). Exits when stdin closes or on SIGTERM; the
// benchmark drops the database.
process.env.LOG_LEVEL ??= 'warn';

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pg from 'pg';
import { createDb, useDb, closeDb } from '../src/lib/server/db/index.ts';
import { config } from '../src/lib/server/config.ts';
import { migrateToLatest } from '../src/lib/server/db/migrate.ts';
import { seedDemo } from '../src/lib/server/demo/seed.ts';
import { setUpRcps, type SessionSpec } from './rcp-setup.ts';
import { attachRealtime } from '../src/lib/server/realtime/attach.ts';

const BENCH_DATABASE = 'msh_bench_rcp';
const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const RCPS = Number(process.env.BENCH_RCPS || 30);
const PORT = Number(process.env.PORT || 0);

function urlFor(database: string) {
	const u = new URL(BASE);
	u.pathname = `/${database}`;
	return u.toString();
}

process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

const t0 = performance.now();
const admin = new pg.Client({ connectionString: BASE });
await admin.connect();
await admin.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
await admin.query(`create database ${BENCH_DATABASE}`);
await admin.end();

// The same pool as the production server's getDb() with DATABASE_URL.
const pool = new pg.Pool({ connectionString: urlFor(BENCH_DATABASE), max: config.databasePoolMax });
const db = createDb(pool);
useDb(db);

// Instrumentation (bench only): queries per statement, and how long a query waits for a connection.
let counting = false;
const statements = new Map<string, number>();
let poolWaits: number[] = [];
// On the class's method: the app's pool replaces each client's `query` with one that calls the
// class's (db/index.ts, named statements), so a wrapper on the instance would never be called.
const classQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
	if (counting) {
		const first = args[0] as string | { text?: string };
		const text = (typeof first === 'string' ? first : (first?.text ?? '?')).replace(/\s+/g, ' ');
		statements.set(text, (statements.get(text) ?? 0) + 1);
	}
	return classQuery.apply(this, args);
};
const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
(pool as unknown as { connect: unknown }).connect = async (...args: unknown[]) => {
	if (args.length) return (connect as (...a: unknown[]) => unknown)(...args);
	const t = performance.now();
	const client = await connect();
	if (counting) poolWaits.push(performance.now() - t);
	return client;
};
await migrateToLatest(db);
const demo = await seedDemo(db);

const sessions: SessionSpec[] = (await setUpRcps(db, Object.values(demo.networks), RCPS)).map((r) => r.spec);
const setupSeconds = (performance.now() - t0) / 1000;

const server = createServer((_req, res) => {
	res.statusCode = 404;
	res.end();
});
const realtime = await attachRealtime(server);
await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));

// The histogram records whole timer intervals: the delay is what exceeds the resolution.
const RESOLUTION_MS = 5;
const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loop.enable();
const excess = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
let win = { cpu: process.cpuUsage(), wall: performance.now() };
let peakRss = 0;
let poolMaxWaiting = 0;
const sampler = setInterval(() => {
	peakRss = Math.max(peakRss, process.memoryUsage.rss());
	poolMaxWaiting = Math.max(poolMaxWaiting, pool.waitingCount);
}, 100);
sampler.unref();

createInterface({ input: process.stdin }).on('line', (line) => {
	if (line === 'reset') {
		loop.reset();
		win = { cpu: process.cpuUsage(), wall: performance.now() };
		peakRss = process.memoryUsage.rss();
		poolMaxWaiting = 0;
		statements.clear();
		poolWaits = [];
		counting = true;
	}
	if (line === 'stats') {
		const cpu = process.cpuUsage(win.cpu);
		const seconds = (performance.now() - win.wall) / 1000;
		const rss = process.memoryUsage.rss();
		counting = false;
		const waits = Float64Array.from(poolWaits).sort();
		const at = (p: number) => (waits.length ? Math.round(100 * waits[Math.min(waits.length - 1, Math.ceil((p / 100) * waits.length) - 1)]) / 100 : null);
		const top = [...statements].sort((a, b) => b[1] - a[1]);
		const stats = {
			queries: top.reduce((n, [, c]) => n + c, 0),
			topStatements: top.slice(0, 12).map(([text, count]) => ({ count, text: text.slice(0, 140) })),
			poolWait: { count: waits.length, p50: at(50), p99: at(99), max: at(100) },
			seconds,
			cpuUserS: cpu.user / 1e6,
			cpuSystemS: cpu.system / 1e6,
			cpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / seconds,
			rssMb: rss / 2 ** 20,
			peakRssMb: Math.max(peakRss, rss) / 2 ** 20,
			heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
			loopP50: excess(loop.percentile(50)),
			loopP99: excess(loop.percentile(99)),
			loopMax: excess(loop.max),
			poolMaxWaiting,
			sockets: realtime.io.of('/').sockets.size,
			yjsDocs: realtime.yjs.openDocumentCount()
		};
		console.log(`STATS ${JSON.stringify(stats)}`);
	}
});
process.removeAllListeners('SIGTERM');
process.on('SIGTERM', async () => {
	server.close();
	await Promise.race([realtime.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
	await closeDb();
	process.exit(0);
});

const { port } = server.address() as AddressInfo;
console.log(`READY ${JSON.stringify({ port, setupSeconds: Math.round(setupSeconds * 10) / 10, redis: Boolean(process.env.REDIS_URL), sessions })}`);
