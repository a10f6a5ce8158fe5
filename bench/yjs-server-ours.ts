// "Ours" for bench/yjs-sync.ts: the app's Yjs endpoint (attachRealtime: session cookie auth,
// access policy, PostgreSQL persistence, stored acknowledgements) on a bare http.Server, against a
// throwaway database `msh_bench_yjs` on DATABASE_URL's server (default: PostgreSQL on 127.0.0.1).
//
//   node --import tsx bench/yjs-server-ours.ts     (started by bench/yjs-sync.ts, not by hand)
//
// Migrates, seeds the demo, then adds BENCH_DOCS microstructures (in the demo networks) and
// BENCH_EDITORS clinicians who are `soignant` in all of them, so that each microstructure's shared
// notes `ms-notes:<id>` can be edited by every editor. One session per (document, editor)
// connection, as separate browsers would have. Prints `READY <json>` (port, documents, cookies),
// then serves. Exits when stdin closes (the benchmark died) or on SIGTERM; the benchmark drops the
// database. On stdin, `reset` starts a measurement window and `stats` prints `STATS <json>`.
process.env.LOG_LEVEL ??= 'silent';

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { serverWindow } from './server-window.mjs';
import pg from 'pg';
import { createDb, useDb, closeDb } from '../src/lib/server/db/index.ts';
import { migrateToLatest } from '../src/lib/server/db/migrate.ts';
import { seedDemo } from '../src/lib/server/demo/seed.ts';
import { createMicrostructure } from '../src/lib/server/org/microstructures.ts';
import { createUser } from '../src/lib/server/org/users.ts';
import { addMembership } from '../src/lib/server/org/memberships.ts';
import { createSession, generateSessionToken } from '../src/lib/server/auth/session.ts';
import { attachRealtime } from '../src/lib/server/realtime/attach.ts';

const BENCH_DATABASE = 'msh_bench_yjs';
const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const DOCS = Number(process.env.BENCH_DOCS || 50);
const EDITORS = Number(process.env.BENCH_EDITORS || 10);
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
const pool = new pg.Pool({ connectionString: urlFor(BENCH_DATABASE), max: 10 });
const db = createDb(pool);
useDb(db);
await migrateToLatest(db);
const demo = await seedDemo(db);

const editors: string[] = [];
for (let e = 0; e < EDITORS; e++) {
	editors.push(
		await createUser(db, {
			email: `bench.editeur${e + 1}@example.fr`,
			firstName: 'Éditeur',
			lastName: `Banc ${e + 1}`,
			profession: e % 3 === 0 ? 'psychologue' : e % 3 === 1 ? 'travailleur_social' : 'medecin_generaliste',
			password: `Bench-password-2026-${e}`
		})
	);
}
const networkIds = Object.values(demo.networks);
const docs: { name: string; cookies: string[] }[] = [];
for (let d = 0; d < DOCS; d++) {
	const ms = await createMicrostructure(db, {
		networkId: networkIds[d % networkIds.length],
		name: `Microstructure de charge n°${d + 1}`,
		programmes: ['MSMA'],
		practiceKind: 'cabinet',
		city: 'Strasbourg'
	});
	const cookies: string[] = [];
	for (const userId of editors) {
		await addMembership(db, { userId, microstructureId: ms, role: 'soignant', createdBy: null });
		const token = generateSessionToken();
		await createSession(db, token, userId, { twoFactorVerified: true });
		cookies.push(`session=${token}`);
	}
	docs.push({ name: `ms-notes:${ms}`, cookies });
}
const setupSeconds = (performance.now() - t0) / 1000;

const server = createServer((_req, res) => {
	res.statusCode = 404;
	res.end();
});
const realtime = await attachRealtime(server);
await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));

const window = serverWindow();
let maxWaiting = 0;
const poolSampler = setInterval(() => (maxWaiting = Math.max(maxWaiting, pool.waitingCount)), 50);
poolSampler.unref();

createInterface({ input: process.stdin }).on('line', async (line) => {
	if (line === 'reset') {
		window.reset();
		maxWaiting = 0;
	}
	if (line === 'stats') {
		const { rows } = await pool.query<{ n: string }>('select count(*) as n from yjs_update');
		const stats = {
			...window.stats(),
			docs: realtime.yjs.openDocumentCount(),
			poolMaxWaiting: maxWaiting,
			storedRows: Number(rows[0].n)
		};
		console.log(`STATS ${JSON.stringify(stats)}`);
	}
	if (line === 'flush') {
		await realtime.yjs.flushAll();
		console.log('FLUSHED');
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
console.log(`READY ${JSON.stringify({ port, setupSeconds: Math.round(setupSeconds * 10) / 10, docs })}`);
