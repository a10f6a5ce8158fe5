// Benchmark (issue 16, cheap server rendering): requests per second of the file-active list of a
// microstructure holding at least 50 active patients against the sign-in page, in the same run, and
// the gzipped JavaScript of each route (bench/page-weight.ts).
//
//   npx tsx bench/pages.ts        (builds first when there is no build: npm run build after changes)
//
// The production server (server/index.ts, built app) runs as a child on a fresh PostgreSQL database
// holding the demo (DATABASE_URL's server, database msh_pages_<port>, dropped at the end), plus a
// second round of demo patients in the Cabinet des Tanneurs so that its list holds 50 or more.
// Dr Inès Haddad is signed in for the list; /login is asked without a session. Each route is loaded
// by BENCH_CONCURRENCY (default 8) clients at once for BENCH_SECONDS (default 3) seconds, the routes
// alternating for BENCH_ROUNDS (default 6) rounds each, so that whatever else the machine is doing
// weighs on both alike; the server's CPU time per request is shown too (less sensitive to that).
// Waits up to BENCH_QUIET_WAIT_S (default 60) for the machine to quiet down. BENCH_CPU_PROF=<dir>
// runs the server under node --cpu-prof, its profile written to <dir> when it stops (both pages, and
// its start). The last line reads
//   patients list <n> req/s; login <n> req/s; ratio <r>; login page JS <kB> kB gz
// (targets: ratio ≥ 0.5, sign-in page ≤ 50 kB). BENCH_ONLY=list or login loads that page alone (to
// profile it), and the ratio is then meaningless.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sql } from 'kysely';
import { cpuSeconds, waitForQuietMachine } from './machine.ts';
import { ensureBuild, kB, pageJsGzip, routes } from './page-weight.ts';
import { serveNodeOptions, SERVER_ENTRY } from '../scripts/build-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASE_DB = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 8);
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 6);
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S || 60);
// BENCH_ONLY=list|login loads one page only (to profile it with BENCH_CPU_PROF); no ratio then.
const ONLY = process.env.BENCH_ONLY as 'list' | 'login' | undefined;
const MIN_PATIENTS = 50;
const LIST_ROUTE = '/ms/[msId]/patients';
const LOGIN_ROUTE = '/login';
const LOGIN_JS_TARGET_KB = 50;

function freePort(): Promise<number> {
	return new Promise((ok, fail) => {
		const probe = createServer();
		probe.once('error', fail);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address() as { port: number };
			probe.close(() => ok(port));
		});
	});
}

function urlFor(database: string): string {
	const u = new URL(BASE_DB);
	u.pathname = `/${database}`;
	return u.toString();
}

async function admin(query: string) {
	const client = new pg.Client({ connectionString: BASE_DB });
	await client.connect();
	try {
		await client.query(query);
	} finally {
		await client.end();
	}
}

/** The demo on a fresh database, and a second round of demo patients in the Tanneurs; returns its id and how many active patients it has. */
async function prepare(database: string): Promise<{ msId: string; active: number }> {
	await admin(`drop database if exists ${database} with (force)`);
	await admin(`create database ${database}`);
	process.env.DATABASE_URL = urlFor(database);
	const { getDb } = await import('../src/lib/server/db/index.ts');
	const { migrateToLatest } = await import('../src/lib/server/db/migrate.ts');
	const { seedDemo } = await import('../src/lib/server/demo/seed.ts');
	const { seedDemoPatients } = await import('../src/lib/server/demo/patients.ts');
	const db = getDb();
	await migrateToLatest(db);
	const seeded = await seedDemo(db);
	const msId = seeded.microstructures.tanneurs;
	const ms = await db.selectFrom('microstructure').select(['id', 'network_id', 'programmes']).where('id', '=', msId).executeTakeFirstOrThrow();
	const gps = await db
		.selectFrom('membership')
		.innerJoin('app_user', 'app_user.id', 'membership.user_id')
		.select('app_user.id')
		.where('membership.microstructure_id', '=', msId)
		.where('membership.role', '=', 'soignant')
		.where('app_user.profession', '=', 'medecin_generaliste')
		.execute();
	const countActive = async () =>
		Number((await db.selectFrom('patient').select((eb) => eb.fn.countAll<string>().as('n')).where('microstructure_id', '=', msId).where('state', 'in', ['inclus', 'en_suivi']).executeTakeFirstOrThrow()).n);
	let active = await countActive();
	while (active < MIN_PATIENTS) {
		await seedDemoPatients(db, [{ id: ms.id, networkId: ms.network_id, programmes: ms.programmes, department: '67' /* Strasbourg */, gps: gps.map((g) => g.id) }]);
		active = await countActive();
	}
	// Statistics, as autovacuum would have gathered them (it may be off on a test machine): without
	// them the planner takes the tables for empty.
	await sql`analyze`.execute(db);
	await db.destroy();
	return { msId, active };
}

async function startServer(port: number, database: string) {
	// node itself (not npx): its pid is the server's, whose CPU time we read.
	const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROF)}`] : [];
	const child = spawn(process.execPath, [...profile, ...serveNodeOptions(), SERVER_ENTRY], {
		cwd: ROOT,
		env: { ...process.env, DATABASE_URL: urlFor(database), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDIS_PREFIX: `bench-pages-${port}` },
		stdio: ['ignore', 'inherit', 'inherit'],
		detached: true
	});
	const base = `http://127.0.0.1:${port}`;
	for (let i = 0; !(await fetch(`${base}/healthz`).then((r) => r.ok, () => false)); i++) {
		if (i > 600 || child.exitCode !== null) throw new Error('the server did not start');
		await new Promise((r) => setTimeout(r, 100));
	}
	return { child, base, stop: () => child.exitCode === null && process.kill(-child.pid!) };
}

async function signIn(base: string): Promise<string> {
	const { DEMO_PASSWORD, demoEmail } = await import('../src/lib/server/demo/seed.ts');
	const res = await fetch(`${base}/login`, {
		method: 'POST',
		redirect: 'manual',
		headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ email: demoEmail('ines.haddad'), password: DEMO_PASSWORD })
	});
	const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
	if (!cookie.includes('session=')) throw new Error(`sign-in failed (${res.status})`);
	return cookie;
}

interface Tally {
	requests: number;
	seconds: number;
	cpu: number;
}

/** CONCURRENCY clients asking `url` again and again for SECONDS; adds to `tally`. */
async function load(url: string, headers: Record<string, string>, pid: number, tally: Tally) {
	const cpu0 = cpuSeconds(pid);
	const started = performance.now();
	const end = started + SECONDS * 1000;
	let requests = 0;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (performance.now() < end) {
				const res = await fetch(url, { headers, redirect: 'manual' });
				await res.arrayBuffer();
				if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
				requests++;
			}
		})
	);
	tally.requests += requests;
	tally.seconds += (performance.now() - started) / 1000;
	tally.cpu += cpuSeconds(pid) - cpu0;
}

ensureBuild(!existsSync(resolve(ROOT, SERVER_ENTRY)));
const port = await freePort();
const database = `msh_pages_${port}`;
process.env.NIR_KEYS ??= `bench:${randomBytes(32).toString('base64')}`;
process.env.REDIS_PREFIX ??= `bench-pages-${port}`;
process.env.LOG_LEVEL ??= 'warn';
const { msId, active } = await prepare(database);
const server = await startServer(port, database);
try {
	const cookie = await signIn(server.base);
	const list = `${server.base}/ms/${msId}/patients`;
	const login = `${server.base}/login`;
	const html = await (await fetch(list, { headers: { cookie } })).text();
	const rows = html.split('class="patient-link').length - 1;
	if (rows < MIN_PATIENTS) throw new Error(`the list shows ${rows} patients, fewer than ${MIN_PATIENTS}`);
	console.log(`patients list: ${rows} rows (${active} active patients), ${(html.length / 1024).toFixed(0)} KiB of HTML; ${CONCURRENCY} clients at once, ${ROUNDS} alternating rounds of ${SECONDS} s per route`);
	// Warm-up: both pages, until the JIT has seen them.
	const warm = { requests: 0, seconds: 0, cpu: 0 };
	if (ONLY !== 'login') await load(list, { cookie }, server.child.pid!, warm);
	if (ONLY !== 'list') await load(login, {}, server.child.pid!, warm);
	await waitForQuietMachine('pages', QUIET_WAIT_S * 1000);
	const tallies = { list: { requests: 0, seconds: 0, cpu: 0 }, login: { requests: 0, seconds: 0, cpu: 0 } };
	for (let round = 0; round < ROUNDS; round++) {
		const order = round % 2 === 0 ? (['list', 'login'] as const) : (['login', 'list'] as const);
		for (const which of order) if (!ONLY || ONLY === which) await load(which === 'list' ? list : login, which === 'list' ? { cookie } : {}, server.child.pid!, tallies[which]);
	}
	const rps = (t: Tally) => t.requests / t.seconds;
	const cpuMs = (t: Tally) => ((t.cpu / t.requests) * 1000).toFixed(2);
	console.log(`  patients list: ${rps(tallies.list).toFixed(0)} req/s, server CPU ${cpuMs(tallies.list)} ms per request (${tallies.list.requests} requests)`);
	console.log(`  login:         ${rps(tallies.login).toFixed(0)} req/s, server CPU ${cpuMs(tallies.login)} ms per request (${tallies.login.requests} requests)`);

	console.log('gzipped JS per route (what its server-rendered page preloads):');
	for (const route of routes()) console.log(`  ${kB(pageJsGzip(route)).padStart(6)} kB  ${route}`);
	const loginJs = pageJsGzip(LOGIN_ROUTE);
	const ratio = rps(tallies.list) / rps(tallies.login);
	console.log(`targets: ratio ${ratio >= 0.5 ? 'met' : 'MISSED'} (≥ 0.5); sign-in page JS ${loginJs / 1000 <= LOGIN_JS_TARGET_KB ? 'met' : 'MISSED'} (≤ ${LOGIN_JS_TARGET_KB} kB); list page JS ${kB(pageJsGzip(LIST_ROUTE))} kB gz`);
	console.log(`patients list ${rps(tallies.list).toFixed(0)} req/s; login ${rps(tallies.login).toFixed(0)} req/s; ratio ${ratio.toFixed(2)}; login page JS ${kB(loginJs)} kB gz`);
} finally {
	server.stop();
	await new Promise((r) => setTimeout(r, 500));
	await admin(`drop database if exists ${database} with (force)`).catch(() => {});
}
process.exit(0);
