// "Ours" for bench/yjs-sync.ts: the app's realtime layer as the production server runs it
// (attachRealtime on an http.Server, through tests/helpers/realtime.ts's startRealtimeServer: cookie
// session check at the upgrade, access policy, patient audit, PostgreSQL persistence, stored
// acknowledgements, PPS projection), on the process-wide pool of DATABASE_URL (getDb(), the
// production pool size), without Redis (one process: REDIS_URL unset, the default deployment).
// Started by bench/yjs-sync.ts, never by hand, in one of two modes:
//
//   node --import tsx bench/yjs-server-ours.ts setup   fills DATABASE_URL's (empty) database, which
//       bench/yjs-sync.ts then uses as the template of each run's database: migrations, the demo,
//       BENCH_EDITORS clinicians who are `soignant` in BENCH_DOCS new microstructures, one patient per
//       microstructure whose care team holds every editor (so that `pps:<patientId>` opens read-write
//       for them), and one session per (document, editor) as separate browsers would have. Prints
//       `DOCS <json>` ({ pps: [{ name, cookies }], notes: [...] }), then waits to be stopped.
//   node --import tsx bench/yjs-server-ours.ts         serves DATABASE_URL on a free port; prints
//       `READY <json>` ({ port }). On stdin, `reset` starts a measurement window and `stats` prints
//       `STATS <json>`. Exits when stdin closes (the benchmark died) or on SIGTERM.
export {};

process.env.NODE_ENV ??= 'production';
delete process.env.REDIS_URL;

const { createInterface } = await import('node:readline');
const { sql } = await import('kysely');
const { serverWindow } = await import('./server-window.mjs');
const { getDb, getPool, closeDb } = await import('../src/lib/server/db/index.ts');
const { sessionCookie, startRealtimeServer, stopRealtimeServer } = await import('../tests/helpers/realtime.ts');

const DOCS = Number(process.env.BENCH_DOCS || 50);
const EDITORS = Number(process.env.BENCH_EDITORS || 10);

if (process.argv[2] === 'setup') {
	const { migrateToLatest } = await import('../src/lib/server/db/migrate.ts');
	const { seedDemo } = await import('../src/lib/server/demo/seed.ts');
	const { createMicrostructure } = await import('../src/lib/server/org/microstructures.ts');
	const { createUser } = await import('../src/lib/server/org/users.ts');
	const { addMembership } = await import('../src/lib/server/org/memberships.ts');
	const { createPatient, setCareTeam } = await import('../src/lib/server/patients/patients.ts');
	const { ppsDocName } = await import('../src/lib/server/pps/pps.ts');

	const db = getDb();
	await migrateToLatest(db);
	const demo = await seedDemo(db);
	const today = new Date().toISOString().slice(0, 10);
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
	const pps: { name: string; cookies: string[] }[] = [];
	const notes: { name: string; cookies: string[] }[] = [];
	for (let d = 0; d < DOCS; d++) {
		const ms = { id: '', networkId: networkIds[d % networkIds.length] };
		ms.id = await createMicrostructure(db, {
			networkId: ms.networkId,
			name: `Microstructure de charge n°${d + 1}`,
			programmes: ['MSMA'],
			practiceKind: 'cabinet',
			city: 'Strasbourg'
		});
		for (const userId of editors) await addMembership(db, { userId, microstructureId: ms.id, role: 'soignant', createdBy: null });
		const patient = await createPatient(
			db,
			{ actorId: editors[0] },
			ms,
			{
				identity: { lastName: `Banc-${d + 1}`, firstName: 'Camille', birthDate: '1975-03-14', sex: 'X', phone: null, email: null },
				programme: 'MSMA',
				motif: 'addiction',
				orientationOrigin: null,
				medecinTraitant: null,
				start: { kind: 'include', on: today, orientation: 'psychologue', consent: { on: today, method: 'oral_atteste' } }
			},
			today
		);
		if (!patient.ok) throw new Error(`patient ${d + 1}: ${patient.error}`);
		await setCareTeam(db, { actorId: editors[0] }, ms, patient.id, editors);
		// The same browser (session) of an editor opens the PPS and the team notes.
		const cookies: string[] = [];
		for (const userId of editors) cookies.push(await sessionCookie(db, userId));
		pps.push({ name: ppsDocName(patient.id), cookies });
		notes.push({ name: `ms-notes:${ms.id}`, cookies });
	}
	await closeDb();
	console.log(`DOCS ${JSON.stringify({ pps, notes })}`);
}

process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
if (process.argv[2] === 'setup') await new Promise(() => {}); // until bench/yjs-sync.ts has read DOCS

const { server, realtime, port } = await startRealtimeServer();
const pool = (await getPool())!;
const window = serverWindow();
let maxWaiting = 0;
const poolSampler = setInterval(() => (maxWaiting = Math.max(maxWaiting, pool.waitingCount)), 50);
poolSampler.unref();

/** Audit rows of patient documents: read at each PPS upgrade, written at each connection's first accepted edit. */
async function patientDocAudits(): Promise<Record<string, number>> {
	const rows = await getDb()
		.selectFrom('audit_event')
		.select(['action', (eb) => eb.fn.countAll<string>().as('n')])
		.where('action', 'in', ['patient.read', 'patient.pps_edited'])
		.groupBy('action')
		.execute();
	return Object.fromEntries(rows.map((r) => [r.action, Number(r.n)]));
}
const auditsBefore = await patientDocAudits();

createInterface({ input: process.stdin }).on('line', async (line) => {
	if (line === 'reset') {
		window.reset();
		maxWaiting = 0;
	}
	if (line === 'stats') {
		const { rows } = await sql<{ n: number }>`select count(*)::int as n from yjs_update`.execute(getDb());
		const audits = await patientDocAudits();
		const stats = {
			...window.stats(),
			docs: realtime.yjs.openDocumentCount(),
			poolMaxWaiting: maxWaiting,
			storedRows: rows[0].n,
			readAudits: (audits['patient.read'] ?? 0) - (auditsBefore['patient.read'] ?? 0),
			editAudits: (audits['patient.pps_edited'] ?? 0) - (auditsBefore['patient.pps_edited'] ?? 0)
		};
		console.log(`STATS ${JSON.stringify(stats)}`);
	}
});
process.removeAllListeners('SIGTERM');
process.on('SIGTERM', async () => {
	await Promise.race([stopRealtimeServer(realtime, server).catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
	await closeDb();
	process.exit(0);
});

console.log(`READY ${JSON.stringify({ port })}`);
