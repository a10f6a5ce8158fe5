// The production server (server/index.ts on the built app) on a fresh demo database holding maximal
// documents, for tests/e2e/render.spec.ts, which starts it as a child process with its own RENDER_*
// settings. Environment: PORT (required), DATABASE_URL (then a database msh_render_<PORT> is made;
// otherwise an embedded one under .data-render-<PORT>), RENDER_WORKERS, RENDER_QUEUE,
// RENDER_TIMEOUT_MS. Before serving it prints one line:
//   FIXTURES {"msId":…,"patientId":…,"smallPatientId":…,"sessionId":…,"versions":{"maximal":n,"over":n,"huge":n}}
// The documents are written straight into storage: the server refuses over-limit edits, but a
// version stored before it did must still print without freezing anyone.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import * as Y from 'yjs';

const port = process.env.PORT;
if (!port) throw new Error('PORT is required');
const base = process.env.DATABASE_URL;
if (base) {
	const name = `msh_render_${port}`;
	const admin = new pg.Client({ connectionString: base });
	await admin.connect();
	await admin.query(`drop database if exists ${name} with (force)`);
	await admin.query(`create database ${name}`);
	await admin.end();
	const url = new URL(base);
	url.pathname = `/${name}`;
	process.env.DATABASE_URL = url.toString();
	process.env.NIR_KEYS ??= `e2e:${(await import('node:crypto')).randomBytes(32).toString('base64')}`;
} else {
	process.env.DATA_DIR = resolve(`.data-render-${port}`);
	rmSync(process.env.DATA_DIR, { recursive: true, force: true });
}

const { getDb } = await import('../../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../../src/lib/server/db/migrate.ts');
const { seedDemo, demoEmail } = await import('../../src/lib/server/demo/seed.ts');
const { restore } = await import('../../src/lib/pps/model.ts');
const { maximalProjection, filler } = await import('../helpers/render-fixtures.ts');

const db = getDb();
await migrateToLatest(db);
await seedDemo(db);

const ines = await db.selectFrom('app_user').select('id').where('email', '=', demoEmail('ines.haddad')).executeTakeFirstOrThrow();
const patients = await db
	.selectFrom('patient_team_member as t')
	.innerJoin('patient as p', 'p.id', 't.patient_id')
	.select(['p.id', 'p.microstructure_id'])
	.where('t.user_id', '=', ines.id)
	.where('p.state', 'in', ['inclus', 'en_suivi'])
	.orderBy('p.code')
	.limit(2)
	.execute();
if (patients.length < 2) throw new Error('the demo has no two patients in ines.haddad’s care');
const [patient, small] = patients;

// The live PPS at its limits, as one stored update.
const maximal = maximalProjection({ owner: ines.id });
const doc = new Y.Doc();
restore(doc, maximal);
await db.deleteFrom('yjs_update').where('doc_name', '=', `pps:${patient.id}`).execute();
await db.insertInto('yjs_update').values({ doc_name: `pps:${patient.id}`, update: Y.encodeStateAsUpdate(doc) }).execute();

// Versions: at the limits; over them (a 900,000-character field, 150 needs); past the render size limit.
const over = maximalProjection({ owner: ines.id });
over.goals = `goals-start ${'y'.repeat(900_000)}`;
over.problems = maximalProjection({ items: 150, owner: ines.id }).problems;
const huge = { ...maximal, crisis: 'z'.repeat(5_000_000) };
const last = await db.selectFrom('pps_version').select((eb) => eb.fn.max('number').as('n')).where('patient_id', '=', patient.id).executeTakeFirst();
const first = Number(last?.n ?? 0) + 1;
const snapshot = Y.encodeStateAsUpdate(new Y.Doc());
for (const [i, projection] of [maximal, over, huge].entries()) {
	await db
		.insertInto('pps_version')
		.values({ patient_id: patient.id, number: first + i, snapshot, projection: JSON.stringify(projection), created_by: ines.id })
		.execute();
}

// The closed RCP of the microstructure, every case's notes at their limit.
const session = await db
	.selectFrom('rcp_session')
	.select('id')
	.where('microstructure_id', '=', patient.microstructure_id)
	.where('status', '=', 'cloturee')
	.orderBy('starts_at', 'desc')
	.executeTakeFirstOrThrow();
const items = await db.selectFrom('rcp_item').select('id').where('session_id', '=', session.id).execute();
for (const [i, item] of items.entries()) {
	await db.updateTable('rcp_item').set({ minutes_notes: filler(20_000, `notes-${i}`, i) }).where('id', '=', item.id).execute();
}

console.log(
	`FIXTURES ${JSON.stringify({ msId: patient.microstructure_id, patientId: patient.id, smallPatientId: small.id, sessionId: session.id, cases: items.length, versions: { maximal: first, over: first + 1, huge: first + 2 } })}`
);
// The compiled server, as `npm run serve` runs it (npm run build made it).
await import(new URL('../../build/server.js', import.meta.url).href);
