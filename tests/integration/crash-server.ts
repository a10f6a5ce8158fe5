// The realtime half of the production server (http.Server + attachRealtime), started as a child
// process by crash.test.ts so that it can be killed with SIGKILL and started again on the same data.
//
// Environment:
//   DATA_DIR      embedded database (PGlite) directory, when DATABASE_URL is not set
//   DATABASE_URL  a PostgreSQL database dedicated to this run
//   PORT          port to listen on, 0 (default) for any free port
//   LOGIN         demo login to sign in (default ines.haddad)
// On start: migrates, seeds the demo only if the database is empty, makes sure LOGIN has a patient
// of their own (whose PPS the test edits), signs a session in for LOGIN, listens, and prints one line
//   READY {"pid":…,"port":…,"cookie":"session=…","docName":"pps:…"}
// The SvelteKit handler is not needed: every request that is not a websocket upgrade gets 404.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

process.env.LOG_LEVEL ??= 'silent';
process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;

const { getDb } = await import('../../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../../src/lib/server/db/migrate.ts');
const { demoEmail, seedDemo } = await import('../../src/lib/server/demo/seed.ts');
const { createPatient } = await import('../../src/lib/server/patients/patients.ts');
const { createSession, generateSessionToken } = await import('../../src/lib/server/auth/session.ts');
const { ppsDocName } = await import('../../src/lib/server/pps/pps.ts');
const { attachRealtime } = await import('../../src/lib/server/realtime/attach.ts');

const PATIENT_LAST_NAME = 'Crash-Test';

const db = getDb();
await migrateToLatest(db);
if (!(await db.selectFrom('app_user').select('id').limit(1).executeTakeFirst())) await seedDemo(db);

const login = process.env.LOGIN || 'ines.haddad';
const user = await db.selectFrom('app_user').select('id').where('email', '=', demoEmail(login)).executeTakeFirstOrThrow();
let patient = await db
	.selectFrom('patient')
	.select('id')
	.where('last_name', '=', PATIENT_LAST_NAME)
	.where('created_by', '=', user.id)
	.executeTakeFirst();
if (!patient) {
	const ms = await db
		.selectFrom('membership as m')
		.innerJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
		.select(['ms.id', 'ms.network_id'])
		.where('m.user_id', '=', user.id)
		.where('m.role', '=', 'soignant')
		.orderBy('ms.name')
		.executeTakeFirstOrThrow();
	const today = new Date().toISOString().slice(0, 10);
	const created = await createPatient(
		db,
		{ actorId: user.id },
		{ id: ms.id, networkId: ms.network_id },
		{
			identity: { lastName: PATIENT_LAST_NAME, firstName: 'Kim', birthDate: '1970-01-01', sex: 'X', phone: null, email: null },
			programme: 'MSMA',
			motif: 'addiction',
			orientationOrigin: null,
			medecinTraitant: null,
			start: { kind: 'include', on: today, orientation: 'psychologue', consent: { on: today, method: 'oral_atteste' } }
		},
		today
	);
	if (!created.ok) throw new Error(created.error);
	patient = { id: created.id };
}
const token = generateSessionToken();
await createSession(db, token, user.id, { twoFactorVerified: true });

const server = createServer((_req, res) => {
	res.statusCode = 404;
	res.end();
});
await attachRealtime(server);
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
console.log(`READY ${JSON.stringify({ pid: process.pid, port, cookie: `session=${token}`, docName: ppsDocName(patient.id) })}`);
