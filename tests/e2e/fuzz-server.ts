// The production server (server/index.ts, on the build) for the fuzz test, on a database of its own
// holding the demo, started as a child process (fork with tsx) by fuzz.spec.ts. Besides serving,
// it answers two IPC messages from the test, because only this process may open the embedded
// database: `fixture` (ids and session cookies of the demo people the test acts as) and
// `fingerprint` (a digest of every domain table: anything a request changed shows).
//
// Environment: PORT (required); DATABASE_URL (optional: the run gets a new database `msh_fuzz<suffix>`
// on that server, otherwise a fresh embedded one in `.data-fuzz<suffix>`); FUZZ_SUFFIX (the e2e
// port's suffix, so that runs on other ports do not collide). The data is removed at the next
// start, like the end-to-end server's. SIGTERM stops it (server/index.ts).
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';

const port = process.env.PORT;
if (!port || !process.send) throw new Error('fuzz-server: run by fuzz.spec.ts (fork, PORT set)');
process.env.LOG_LEVEL ??= 'silent';
const suffix = process.env.FUZZ_SUFFIX ?? '';

const base = process.env.DATABASE_URL;
if (base) {
	const name = `msh_fuzz${suffix}`;
	const admin = new pg.Client({ connectionString: base });
	await admin.connect();
	await admin.query(`drop database if exists ${name} with (force)`);
	await admin.query(`create database ${name}`);
	await admin.end();
	const url = new URL(base);
	url.pathname = `/${name}`;
	process.env.DATABASE_URL = url.toString();
	process.env.NIR_KEYS ??= `fuzz:${Buffer.alloc(32, 9).toString('base64')}`;
} else {
	process.env.DATA_DIR = resolve(`.data-fuzz${suffix}`);
	rmSync(process.env.DATA_DIR, { recursive: true, force: true });
}

const { getDb } = await import('../../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../../src/lib/server/db/migrate.ts');
const { seedDemo, demoEmail } = await import('../../src/lib/server/demo/seed.ts');
const db = getDb();
await migrateToLatest(db);
if (!(await db.selectFrom('app_user').select('id').limit(1).executeTakeFirst())) await seedDemo(db);

// The real entry point: SvelteKit's handler, socket.io and Yjs on one http.Server.
// The compiled server, as `npm run serve` runs it (npm run build made it).
await import(new URL('../../build/server.js', import.meta.url).href);

const { createSession, generateSessionToken } = await import('../../src/lib/server/auth/session.ts');
const { createInvitation } = await import('../../src/lib/server/org/invitations.ts');
const { buildAgenda, getSession } = await import('../../src/lib/server/rcp/sessions.ts');
const { startSession } = await import('../../src/lib/server/rcp/live.ts');
const { sql } = await import('kysely');

async function userId(login: string): Promise<string> {
	return (await db.selectFrom('app_user').select('id').where('email', '=', demoEmail(login)).executeTakeFirstOrThrow()).id;
}

/** A signed-in session, as after the password (and second factor when `verified`). */
async function cookieFor(login: string, verified = true): Promise<string> {
	const token = generateSessionToken();
	await createSession(db, token, await userId(login), { twoFactorVerified: verified });
	return `session=${token}`;
}

async function fixture() {
	const ms = await db.selectFrom('microstructure').select(['id', 'network_id']).where('name', '=', 'Cabinet des Tanneurs').executeTakeFirstOrThrow();
	const ines = await userId('ines.haddad');
	const patient = await db
		.selectFrom('patient as p')
		.innerJoin('patient_team_member as t', 't.patient_id', 'p.id')
		.select('p.id')
		.where('p.microstructure_id', '=', ms.id)
		.where('t.user_id', '=', ines)
		.where('p.state', 'in', ['inclus', 'en_suivi'])
		.orderBy('p.code')
		.executeTakeFirstOrThrow();
	const partner =
		(await db.selectFrom('patient_partner').select('id').where('patient_id', '=', patient.id).executeTakeFirst()) ??
		(await db.insertInto('patient_partner').values({ patient_id: patient.id, name: 'Dr Partenaire', role: 'Addictologue', contact: '' }).returning('id').executeTakeFirstOrThrow());
	// A live RCP with its agenda, where the sockets will sit.
	const planned = await db.selectFrom('rcp_session').select('id').where('microstructure_id', '=', ms.id).where('status', '=', 'planifiee').orderBy('starts_at').executeTakeFirstOrThrow();
	await buildAgenda(db, (await getSession(db, planned.id))!, ines);
	await startSession(db, { actorId: ines }, { id: ms.id, networkId: ms.network_id }, planned.id);
	// The cases (a patient to decide about) first: decisions are taken on those.
	const items = await db
		.selectFrom('rcp_item')
		.select('id')
		.where('session_id', '=', planned.id)
		.orderBy(sql`kind = 'cas' and patient_id is not null`, 'desc')
		.orderBy('position')
		.execute();
	if (items.length < 2) throw new Error('fuzz-server: the live RCP needs at least two items');
	const membership = await db.selectFrom('membership').select('id').where('microstructure_id', '=', ms.id).where('user_id', '=', await userId('nadia.benali')).executeTakeFirstOrThrow();
	const invitation = await createInvitation(db, { email: 'nouvelle.personne@example.fr', firstName: 'Nouvelle', lastName: 'Personne', profession: 'psychologue', microstructureId: ms.id, role: 'soignant', invitedBy: ines });
	return {
		msId: ms.id,
		networkId: ms.network_id,
		patientId: patient.id,
		partnerId: partner.id,
		sessionId: planned.id,
		itemIds: items.map((i) => i.id),
		membershipId: membership.id,
		invitationId: invitation.id,
		invitationToken: invitation.token,
		users: { ines, camille: await userId('camille.durand') },
		cookies: {
			ines: await cookieFor('ines.haddad'),
			camille: await cookieFor('camille.durand'),
			nadia: await cookieFor('nadia.benali'),
			sophie: await cookieFor('sophie.klein'),
			admin: await cookieFor('admin'),
			// Signed in with the password only: owes (or must enrol) the second factor.
			marcHalfway: await cookieFor('marc.weber', false)
		}
	};
}

// Sessions, the audit log, throttle counters and migrations change by design on every request.
// appointment_reminder: the job queue works the demo's reminders on the clock (sent, or not sent without
// an SMS provider) while the fuzzer runs; a request that booked would still show in appointment.
const NOT_DOMAIN = /^(audit_event|user_session|appointment_reminder|kysely_migration.*)$|throttle/;

async function fingerprint(): Promise<Record<string, string>> {
	const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`.execute(db);
	const digest: Record<string, string> = {};
	for (const { name } of tables.rows) {
		if (NOT_DOMAIN.test(name)) continue;
		const r = await sql<{ n: string; h: string | null }>`select count(*)::text as n, md5(string_agg(t::text, E'\n' order by t::text)) as h from ${sql.table(name)} t`.execute(db);
		digest[name] = `${r.rows[0].n}:${r.rows[0].h ?? ''}`;
	}
	return digest;
}

process.on('message', async (message: { id: number; type: 'fixture' | 'fingerprint' }) => {
	try {
		const value = message.type === 'fixture' ? await fixture() : await fingerprint();
		process.send!({ id: message.id, value });
	} catch (error) {
		process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) });
	}
});

process.send({ ready: true });
