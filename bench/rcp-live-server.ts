// Server for bench/rcp-live.ts: the app's realtime endpoints (attachRealtime: socket.io with the RCP
// handlers, and the Yjs websocket) on a bare http.Server, against a throwaway database
// `msh_bench_rcp` on DATABASE_URL's server (default: PostgreSQL on 127.0.0.1).
//
//   node --import tsx bench/rcp-live-server.ts     (started by bench/rcp-live.ts, not by hand)
//
// Migrates, seeds the demo, then adds BENCH_RCPS microstructures (in the demo networks), each with
// its own 8 participants (3 GPs, a psychologist, a social worker, a psychiatrist, a nurse, all
// `soignant`, and a `coordination` member), 9 included patients, and one RCP session today with
// those 9 cases and 2 organisational points, started by participant 0 (the animator). One login
// session per participant. Prints `READY <json>` (port, sessions with their items and cookies),
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
import { createMicrostructure } from '../src/lib/server/org/microstructures.ts';
import { createUser } from '../src/lib/server/org/users.ts';
import { addMembership } from '../src/lib/server/org/memberships.ts';
import { createSession, generateSessionToken } from '../src/lib/server/auth/session.ts';
import { createPatient } from '../src/lib/server/patients/patients.ts';
import { addDays, parisToday } from '../src/lib/server/patients/lifecycle.ts';
import { createSession as createRcpSession, addCase, addOrganisationPoint, getSession } from '../src/lib/server/rcp/sessions.ts';
import { startSession } from '../src/lib/server/rcp/live.ts';
import { attachRealtime } from '../src/lib/server/realtime/attach.ts';
import type { Profession } from '../src/lib/server/db/schema.ts';

const BENCH_DATABASE = 'msh_bench_rcp';
const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const RCPS = Number(process.env.BENCH_RCPS || 30);
const CASES = 9;
const PORT = Number(process.env.PORT || 0);

/** The 8 participants of each RCP; participant 0 animates. */
const TEAM: { profession: Profession; role: 'soignant' | 'coordination' }[] = [
	{ profession: 'medecin_generaliste', role: 'soignant' },
	{ profession: 'medecin_generaliste', role: 'soignant' },
	{ profession: 'medecin_generaliste', role: 'soignant' },
	{ profession: 'psychologue', role: 'soignant' },
	{ profession: 'travailleur_social', role: 'soignant' },
	{ profession: 'psychiatre', role: 'soignant' },
	{ profession: 'infirmier', role: 'soignant' },
	{ profession: 'coordinateur_medical', role: 'coordination' }
];
const ANIMATOR = 0;

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
pool.on('connect', (client) => {
	const query = client.query as (...args: unknown[]) => unknown;
	(client as unknown as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
		if (counting) {
			const first = args[0] as string | { text?: string };
			const text = (typeof first === 'string' ? first : (first?.text ?? '?')).replace(/\s+/g, ' ');
			statements.set(text, (statements.get(text) ?? 0) + 1);
		}
		return query.apply(this, args);
	};
});
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

const today = parisToday();
const included = addDays(today, -200);
const networkIds = Object.values(demo.networks);

interface SessionSpec {
	id: string;
	microstructureId: string;
	items: { id: string; kind: string }[];
	animator: number;
	cookies: string[];
}
const sessions: SessionSpec[] = [];

async function setUpRcp(r: number): Promise<SessionSpec> {
	const networkId = networkIds[r % networkIds.length];
	const msId = await createMicrostructure(db, {
		networkId,
		name: `Microstructure RCP de charge n°${r + 1}`,
		programmes: ['MSMA'],
		practiceKind: 'msp',
		city: 'Strasbourg'
	});
	const ms = { id: msId, networkId };
	const users: string[] = [];
	for (const [p, member] of TEAM.entries()) {
		const userId = await createUser(db, {
			email: `bench.rcp${r + 1}.p${p + 1}@example.fr`,
			firstName: 'Participant',
			lastName: `Banc ${r + 1}-${p + 1}`,
			profession: member.profession,
			password: `Bench-password-2026-${r}-${p}`
		});
		await addMembership(db, { userId, microstructureId: msId, role: member.role, createdBy: null, startsOn: '2025-09-01' });
		users.push(userId);
	}
	const ctx = { actorId: users[ANIMATOR], ip: '127.0.0.1' };
	const patients: string[] = [];
	for (let i = 0; i < CASES; i++) {
		const created = await createPatient(
			db,
			ctx,
			ms,
			{
				identity: { lastName: `Banc${r + 1}x${i + 1}`, firstName: 'Alex', birthDate: '1980-01-01', sex: i % 2 ? 'F' : 'M', phone: null, email: null },
				programme: 'MSMA',
				motif: i % 3 === 0 ? 'addiction' : i % 3 === 1 ? 'precarite' : 'sante_mentale',
				orientationOrigin: 'medecin_ms',
				medecinTraitant: null,
				start: { kind: 'include', on: included, orientation: 'les_deux', consent: { on: included, method: 'oral_atteste' } }
			},
			today
		);
		if (!created.ok) throw new Error(`createPatient: ${created.error}`);
		patients.push(created.id);
	}
	// Today, 12:00–13:30 (startSession does not look at the clock).
	const sessionId = await createRcpSession(db, ctx, ms, { title: `RCP de charge n°${r + 1}`, date: today, startTime: '12:00', endTime: '13:30', roomId: null, visioUrl: null, programme: null });
	const session = await getSession(db, sessionId);
	if (!session) throw new Error('RCP session not found');
	for (const patientId of patients) {
		if (!(await addCase(db, session, patientId, [{ code: 'manual' }], users[ANIMATOR]))) throw new Error('addCase refused');
	}
	await addOrganisationPoint(db, session, 'organisation_ms', 'Permanences du mois prochain', users[ANIMATOR]);
	await addOrganisationPoint(db, session, 'organisation_pec', 'Lien avec le CSAPA', users[ANIMATOR]);
	if (!(await startSession(db, ctx, ms, sessionId))) throw new Error('startSession refused');
	const items = await db.selectFrom('rcp_item').select(['id', 'kind']).where('session_id', '=', sessionId).orderBy('position').execute();
	const cookies: string[] = [];
	for (const userId of users) {
		const token = generateSessionToken();
		await createSession(db, token, userId, { twoFactorVerified: true });
		cookies.push(`session=${token}`);
	}
	return { id: sessionId, microstructureId: msId, items, animator: ANIMATOR, cookies };
}

// Two at a time: password hashing (argon2) dominates and the machine has two cores.
for (let r = 0; r < RCPS; r += 2) {
	const batch = await Promise.all([r, r + 1].filter((i) => i < RCPS).map(setUpRcp));
	sessions.push(...batch);
}
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
