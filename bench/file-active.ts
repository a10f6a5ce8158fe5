// Benchmark (issue: patients and care pathway): server time of the file-active page, its filters
// and its search at generalisation scale — 1,000 microstructures, 50,000 patients and their
// transitions — measured over HTTP against the production server, p50/p95 over 200 requests each.
//
//   npm run build && npx tsx bench/file-active.ts
//
// Uses DATABASE_URL's server (default: the machine's PostgreSQL on 127.0.0.1) and creates a
// throwaway database `msh_bench` there. Not part of `npm test`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql } from 'kysely';
import { createDb } from '../src/lib/server/db/index.ts';
import { migrateToLatest } from '../src/lib/server/db/migrate.ts';
import { createUser } from '../src/lib/server/org/users.ts';
import { addMembership } from '../src/lib/server/org/memberships.ts';
import { fileURLToPath } from 'node:url';
import { serveNodeOptions, SERVER_ENTRY } from '../scripts/build-server.ts';

const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const MICROSTRUCTURES = 1000;
const PATIENTS = 50_000;
const REQUESTS = 200;
const PORT = 4500;
const NAME = 'msh_bench';

function urlFor(database: string) {
	const u = new URL(BASE);
	u.pathname = `/${database}`;
	return u.toString();
}

async function prepare() {
	const admin = new pg.Client({ connectionString: BASE });
	await admin.connect();
	await admin.query(`drop database if exists ${NAME} with (force)`);
	await admin.query(`create database ${NAME}`);
	await admin.end();
	const db = createDb(new pg.Pool({ connectionString: urlFor(NAME), max: 4 }));
	await migrateToLatest(db);
	const t0 = performance.now();
	// 20 networks of 50 microstructures; patients spread evenly, in every state, with their events.
	await sql`insert into network (name) select 'Réseau ' || g from generate_series(1, 20) g`.execute(db);
	await sql`
		insert into microstructure (network_id, name, programmes, city)
		select n.id, 'MS ' || n.name || ' n°' || g, array['MSMA'], 'Ville'
		from (select id, name, row_number() over (order by name) r from network) n, generate_series(1, ${MICROSTRUCTURES / 20}) g`.execute(db);
	await sql`
		with ms as (select id, row_number() over (order by id) - 1 as i from microstructure),
		p as (
			select g, (g % ${MICROSTRUCTURES}) as ms_i,
				(array['oriente','inclus','en_suivi','en_suivi','en_suivi','sorti'])[1 + (g % 6)] as state,
				current_date - (g % 700) as included
			from generate_series(1, ${PATIENTS}) g
		)
		insert into patient (microstructure_id, code, last_name, first_name, birth_date, sex, programme, motif, orientation, state,
			oriented_on, included_on, renewal_due_on, first_contact_on, last_contact_on, exited_on, exit_reason, consent_on, consent_method)
		select ms.id, 'P-' || lpad(to_hex(p.g), 8, '0'),
			(array['Martin','Bernard','Dubois','Thomas','Robert','Richard','Petit','Durand','Leroy','Moreau','Marchand','Mercier'])[1 + p.g % 12] || p.g,
			(array['Marie','Jean','Nathalie','Pierre','Sylvie','Michel'])[1 + p.g % 6],
			date '1950-01-01' + (p.g % 18000), case when p.g % 3 = 0 then 'F' else 'M' end, 'MSMA', 'addiction',
			case when p.state = 'oriente' then null else 'les_deux' end,
			p.state, p.included - 5,
			case when p.state = 'oriente' then null else p.included end,
			case when p.state in ('inclus','en_suivi') then p.included + 365 else null end,
			case when p.state in ('en_suivi','sorti') then p.included + 10 else null end,
			case when p.state in ('en_suivi','sorti') then least(current_date, p.included + 40) else null end,
			case when p.state = 'sorti' then least(current_date, p.included + 60) else null end,
			case when p.state = 'sorti' then 'amelioration' else null end,
			case when p.state = 'oriente' then null else p.included end,
			case when p.state = 'oriente' then null else 'oral_atteste' end
		from p join ms on ms.i = p.ms_i`.execute(db);
	await sql`
		insert into patient_event (patient_id, kind, occurred_on, details)
		select id, 'orient', oriented_on, '{}'::jsonb from patient
		union all select id, 'include', included_on, '{}'::jsonb from patient where included_on is not null
		union all select id, 'first_contact', first_contact_on, '{}'::jsonb from patient where first_contact_on is not null
		union all select id, 'exit', exited_on, '{"reason":"amelioration"}'::jsonb from patient where exited_on is not null`.execute(db);
	await sql`analyze`.execute(db);
	const counts = await sql<{ ms: string; patients: string; events: string }>`
		select (select count(*) from microstructure) ms, (select count(*) from patient) patients, (select count(*) from patient_event) events`.execute(db);
	console.log(`dataset: ${counts.rows[0].ms} microstructures, ${counts.rows[0].patients} patients, ${counts.rows[0].events} events (${((performance.now() - t0) / 1000).toFixed(1)} s to generate)`);

	const target = await db.selectFrom('microstructure').select(['id', 'network_id']).orderBy('id').limit(1).executeTakeFirstOrThrow();
	const gp = await createUser(db, { email: 'bench.gp@example.fr', firstName: 'Bench', lastName: 'GP', profession: 'medecin_generaliste', password: 'Bench-password-2026' });
	await addMembership(db, { userId: gp, microstructureId: target.id, role: 'soignant', createdBy: null });
	await db.destroy();
	return target.id;
}

async function startServer(): Promise<() => void> {
	const child = spawn(process.execPath, [...serveNodeOptions(), SERVER_ENTRY], {
		cwd: fileURLToPath(new URL('..', import.meta.url)),
		env: { ...process.env, DATABASE_URL: urlFor(NAME), PORT: String(PORT), LOG_LEVEL: 'silent', NIR_KEYS: `bench:${randomBytes(32).toString('base64')}` },
		stdio: ['ignore', 'inherit', 'inherit'],
		detached: true
	});
	for (let i = 0; i < 100; i++) {
		try {
			if ((await fetch(`http://127.0.0.1:${PORT}/healthz`)).ok) return () => process.kill(-child.pid!);
		} catch {
			// not up yet
		}
		await new Promise((r) => setTimeout(r, 300));
	}
	throw new Error('server did not start (did you run `npm run build`?)');
}

async function signIn(): Promise<string> {
	const res = await fetch(`http://127.0.0.1:${PORT}/login`, {
		method: 'POST',
		redirect: 'manual',
		headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${PORT}` },
		body: new URLSearchParams({ email: 'bench.gp@example.fr', password: 'Bench-password-2026' })
	});
	const cookie = res.headers.getSetCookie().find((c) => c.startsWith('session='));
	if (!cookie) throw new Error(`sign-in failed: ${res.status}`);
	return cookie.split(';')[0];
}

function percentile(sorted: number[], p: number) {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(label: string, path: string, cookie: string) {
	const times: number[] = [];
	for (let i = 0; i < 10; i++) await fetch(`http://127.0.0.1:${PORT}${path}`, { headers: { cookie } }); // warm-up
	let bytes = 0;
	for (let i = 0; i < REQUESTS; i++) {
		const t = performance.now();
		const res = await fetch(`http://127.0.0.1:${PORT}${path}`, { headers: { cookie } });
		const body = await res.text();
		times.push(performance.now() - t);
		if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
		bytes = body.length;
	}
	times.sort((a, b) => a - b);
	const row = { label, p50: percentile(times, 50), p95: percentile(times, 95), max: times.at(-1)!, bytes };
	console.log(`${label.padEnd(44)} p50 ${row.p50.toFixed(1).padStart(6)} ms   p95 ${row.p95.toFixed(1).padStart(6)} ms   max ${row.max.toFixed(1).padStart(6)} ms   ${(bytes / 1024).toFixed(0)} kB`);
	return row;
}

const msId = await prepare();
const stop = await startServer();
try {
	const cookie = await signIn();
	const base = `/ms/${msId}/patients`;
	console.log(`\n${REQUESTS} sequential requests each, over loopback, full SSR page (target p95 < 50 ms):`);
	const rows = [
		await measure('file active (inclus + en suivi)', base, cookie),
		await measure('all states', `${base}?etat=tous`, cookie),
		await measure('filter: renewal within 30 days or overdue', `${base}?renouvellement=1`, cookie),
		await measure('filter: no first contact after 30 days', `${base}?sans_contact=1`, cookie),
		await measure('search by name "mart"', `${base}?etat=tous&q=mart`, cookie),
		await measure('search by code', `${base}?etat=tous&q=P-0000`, cookie)
	];
	const worst = Math.max(...rows.map((r) => r.p95));
	console.log(`\nworst p95: ${worst.toFixed(1)} ms — ${worst < 50 ? 'within' : 'ABOVE'} the 50 ms target`);
} finally {
	stop();
}
