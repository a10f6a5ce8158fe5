// Benchmark (booking, issue 12): no double booking through HTTP, and the free-slot search and a
// booking round trip at generalisation scale.
//
//   1. A fresh PostgreSQL database (msh_bench_booking_<port>, dropped at the end) filled with
//      set-based SQL at generalisation scale: 1,000 microstructures in 20 networks, 50,000 patients,
//      1,600 professionals (one GP per microstructure, 400 psychologists and 200 social workers each
//      in five microstructures), three weekly permanences per microstructure over 52 weeks (26 past,
//      26 ahead: 156,000 occurrences) and ~546,000 appointments (past ones honoured, a few no-shows
//      and excused; three slots in four taken ahead).
//   2. The built production server (server/index.ts) on that database, as a child process; a
//      secretariat account of ten microstructures signs in through /login.
//   3. BENCH_CONCURRENT (default 100) concurrent posts of the booking form action (`?/book` on the
//      patient's booking page) for as many patients on one free slot: exactly one must be booked
//      (303 to the confirmation), the others refused (409 with the French message), one row in
//      the database.
//   4. The free-slot search for the next 8 weeks of one microstructure (slots.ts freeSlots, the
//      query behind every booking screen) over BENCH_SEARCHES (default 200) microstructures, and
//      BENCH_BOOKINGS (default 100) sequential booking round trips through HTTP: p50/p95/max.
//
//   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/booking.ts
//
// PostgreSQL only (DATABASE_URL): the embedded database has one connection and is not the
// generalisation target. The last line reads
//   booked=<n> of <requests> concurrent; search p95=<ms> ms; book p95=<ms> ms
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { cpuSeconds, postgresCpu, postgresCpuDelta, waitForQuietMachine } from './machine.ts';
import { serveNodeOptions, SERVER_ENTRY } from '../scripts/build-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONCURRENT = Number(process.env.BENCH_CONCURRENT || 100);
const SEARCHES = Number(process.env.BENCH_SEARCHES || 200);
const BOOKINGS = Number(process.env.BENCH_BOOKINGS || 100);
/** Microstructures generated (1,000 at generalisation scale; fewer to try the script quickly). */
const SCALE = Math.max(20, Number(process.env.BENCH_MICROSTRUCTURES || 1000));
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S || 120);
const PASSWORD = 'Bench-Booking-2026-long-enough';
process.env.LOG_LEVEL ??= 'warn';

const base = process.env.DATABASE_URL;
if (!base) throw new Error('bench/booking.ts needs DATABASE_URL (PostgreSQL)');
if (!existsSync(resolve(ROOT, SERVER_ENTRY))) throw new Error('Build the app first: npm run build');

/** CPU seconds of every process in a process group (the server: npx, tsx and node). */
function groupCpu(pgid: number): number {
	let total = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) total += cpuSeconds(Number(entry));
		} catch {
			// gone meanwhile
		}
	}
	return total;
}

const quantile = (xs: number[], q: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const summary = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

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

const port = await freePort();
const dbName = `msh_bench_booking_${port}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`drop database if exists ${dbName} with (force)`);
await admin.query(`create database ${dbName}`);
const url = new URL(base);
url.pathname = `/${dbName}`;
process.env.DATABASE_URL = url.toString();
process.env.NIR_KEYS ??= `bench:${(await import('node:crypto')).randomBytes(32).toString('base64')}`;

const { getDb, closeDb } = await import('../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../src/lib/server/db/migrate.ts');
const { createUser } = await import('../src/lib/server/org/users.ts');
const { freeSlots } = await import('../src/lib/server/booking/slots.ts');

/** The generalisation-scale data set, in a few set-based statements. */
async function generate(client: pg.Client) {
	const step = async (label: string, text: string) => {
		const started = performance.now();
		const r = await client.query(text);
		console.log(`  ${label}: ${r.rowCount ?? ''} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
	};
	// The data is consistent by construction: foreign keys are not re-checked row by row (their
	// triggers are off in this session); the exclusion constraints, being indexes, still hold.
	await client.query(`set session_replication_role = replica; set maintenance_work_mem = '256MB'`);
	await client.query(`
		create temp table b_net as select k, gen_random_uuid() as id from generate_series(0, 19) k;
		create temp table b_ms as select i, gen_random_uuid() as id, (select id from b_net where k = i % 20) as network_id from generate_series(0, ${SCALE - 1}) i;
		create temp table b_people as
			select i, gen_random_uuid() as id, kind from (
				select i, 'psychologue' as kind from generate_series(0, 399) i
				union all select i, 'travailleur_social' from generate_series(0, 199) i
				union all select i, 'medecin_generaliste' from generate_series(0, ${SCALE - 1}) i) x;
	`);
	await step('networks', `insert into network (id, name) select id, 'Réseau ' || k from b_net`);
	await step('microstructures', `insert into microstructure (id, network_id, name, programmes, city) select id, network_id, 'Microstructure ' || i, '{MSMA}', 'Ville' from b_ms`);
	await step('professionals', `insert into app_user (id, email, first_name, last_name, profession, password_hash) select id, kind || i || '@bench.invalid', 'Prénom', 'Nom ' || kind || ' ' || i, kind, '!' from b_people`);
	// Microstructure i: GP i; psychologists i % 200 (mornings) and 200 + i % 200 (afternoons); social worker i % 200.
	// Each psychologist and social worker works in five microstructures, on a different weekday in each.
	await step(
		'memberships',
		`insert into membership (user_id, microstructure_id, role, starts_on)
		select p.id, m.id, 'soignant', current_date - 400 from b_ms m join b_people p on
			(p.kind = 'medecin_generaliste' and p.i = m.i)
			or (p.kind = 'psychologue' and (p.i = m.i % 200 or p.i = 200 + m.i % 200))
			or (p.kind = 'travailleur_social' and p.i = m.i % 200)`
	);
	await client.query(`
		create temp table b_site as select m.i, gen_random_uuid() as id from b_ms m;
		create temp table b_room as select s.i, r.name, gen_random_uuid() as id from b_site s cross join (values ('A'), ('B')) r(name);
	`);
	await step('sites', `insert into site (id, microstructure_id, name, address, city, phone) select s.id, m.id, 'Cabinet', '1 rue de la Gare', 'Ville', '03 00 00 00 00' from b_site s join b_ms m on m.i = s.i`);
	await step('rooms', `insert into room (id, site_id, name) select r.id, s.id, 'Bureau ' || r.name from b_room r join b_site s on s.i = r.i`);
	await client.query(`
		create temp table b_perm as
		select gen_random_uuid() as id, m.i, m.id as ms_id, x.perm, p.id as pro_id, r.id as room_id, 1 + m.i / 200 as weekday, x.st::time as start_time, x.en::time as end_time,
			d0 + ((1 + m.i / 200 - extract(isodow from d0)::int + 7) % 7) as starts_on
		from b_ms m
		cross join (values (0, 'psychologue', 0, 'A', '09:00', '12:00'), (1, 'psychologue', 200, 'A', '14:00', '17:00'), (2, 'travailleur_social', 0, 'B', '09:00', '12:00')) x(perm, kind, off, room, st, en)
		join b_people p on p.kind = x.kind and p.i = x.off + m.i % 200
		join b_room r on r.i = m.i and r.name = x.room
		cross join (select current_date - 182 as d0) d;
	`);
	await step(
		'permanences',
		`insert into permanence (id, microstructure_id, professional_id, room_id, weekday, every_weeks, starts_on, start_time, end_time, first_minutes, followup_minutes)
		select id, ms_id, pro_id, room_id, weekday, 1, starts_on, start_time, end_time, 60, 45 from b_perm`
	);
	await step(
		'occurrences',
		`insert into permanence_occurrence (permanence_id, microstructure_id, professional_id, room_id, on_date, starts_at, ends_at)
		select p.id, p.ms_id, p.pro_id, p.room_id, p.starts_on + 7 * w, ((p.starts_on + 7 * w) + p.start_time) at time zone 'Europe/Paris', ((p.starts_on + 7 * w) + p.end_time) at time zone 'Europe/Paris'
		from b_perm p cross join generate_series(0, 51) w`
	);
	await step(
		'patients',
		`insert into patient (microstructure_id, code, last_name, first_name, birth_date, programme, motif, orientation, state, oriented_on, included_on, renewal_due_on, first_contact_on, last_contact_on, consent_on, consent_method)
		select m.id, 'P-' || lpad(to_hex(m.i), 3, '0') || '-' || lpad(n::text, 3, '0'), 'Nom' || m.i || 'x' || n, 'Prénom' || n, date '1960-01-01' + (m.i * 7 + n) % 12000, 'MSMA', 'addiction', 'les_deux', 'en_suivi',
			current_date - 200, current_date - 200, current_date + 165, current_date - 180, current_date - 7, current_date - 200, 'oral_atteste'
		from b_ms m cross join generate_series(0, case when m.i < 10 then ${50 + CONCURRENT + 20} else 49 end) n`
	);
	await client.query(`create temp table b_patient as select p.id, m.i, (regexp_match(p.code, '-(\\d+)$'))[1]::int as n from patient p join b_ms m on m.id = p.microstructure_id`);
	await client.query(`create index on b_patient (i, n)`);
	// Four 45-minute slots per occurrence; ahead, the slot (w + k) % 4 = 0 of each occurrence stays free.
	await step(
		'appointments',
		`insert into appointment (microstructure_id, patient_id, professional_id, profession, occurrence_id, room_id, kind, starts_at, ends_at, status, booked_by, booked_at, request_key, attendance_marked_at)
		select o.microstructure_id, bp.id, o.professional_id, u.profession, o.id, o.room_id, 'suivi',
			o.starts_at + k * interval '45 minutes', o.starts_at + (k + 1) * interval '45 minutes',
			case when o.on_date >= current_date then 'prevu' when (w + k) % 7 = 0 then 'absent' when (w + k) % 11 = 0 then 'excuse' else 'venu' end,
			gp.id, o.starts_at - interval '20 days', gen_random_uuid(),
			case when o.on_date < current_date then o.ends_at end
		from (select o.*, (o.on_date - p.starts_on) / 7 as w, p.perm, p.i from permanence_occurrence o join b_perm p on p.id = o.permanence_id) o
		join app_user u on u.id = o.professional_id
		join b_people gp on gp.kind = 'medecin_generaliste' and gp.i = o.i
		cross join generate_series(0, 3) k
		join b_patient bp on bp.i = o.i and bp.n = (o.w * 12 + o.perm * 4 + k) % 50
		where o.on_date < current_date or (o.w + k) % 4 <> 0`
	);
	await client.query(`set session_replication_role = origin`);
	await client.query('analyze');
}

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const db = getDb();
let child: ReturnType<typeof spawn> | undefined;
try {
	const t0 = performance.now();
	await migrateToLatest(db);
	console.log('generating the generalisation-scale data set:');
	await generate(client);
	const counts = (
		await client.query<{ ms: string; patients: string; occurrences: string; appointments: string }>(
			`select (select count(*) from microstructure) as ms, (select count(*) from patient) as patients, (select count(*) from permanence_occurrence) as occurrences, (select count(*) from appointment) as appointments`
		)
	).rows[0];
	console.log(`data set: ${counts.ms} microstructures, ${counts.patients} patients, ${counts.occurrences} occurrences, ${counts.appointments} appointments in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

	// The secretariat of the first ten microstructures books through the pages.
	const msRows = (await client.query<{ i: number; id: string }>(`select i, id from b_ms where i < 10 order by i`)).rows;
	const secretary = await createUser(db, { email: 'secretariat@bench.invalid', firstName: 'Sophie', lastName: 'Bench', profession: 'secretariat', password: PASSWORD });
	await client.query(`insert into membership (user_id, microstructure_id, role, starts_on) select $1, id, 'secretariat', current_date - 10 from b_ms where i < 10`, [secretary]);

	// The production server on that database.
	child = spawn(process.execPath, [...serveNodeOptions(), SERVER_ENTRY], { cwd: ROOT, env: { ...process.env, PORT: String(port), ORIGIN: `http://127.0.0.1:${port}` }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
	const origin = `http://127.0.0.1:${port}`;
	for (let i = 0; !(await fetch(`${origin}/healthz`).then((r) => r.ok, () => false)); i++) {
		if (i > 600 || child.exitCode !== null) throw new Error('the server did not start');
		await new Promise((r) => setTimeout(r, 100));
	}
	const login = await fetch(`${origin}/login`, {
		method: 'POST',
		headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ email: 'secretariat@bench.invalid', password: PASSWORD }),
		redirect: 'manual'
	});
	const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
	if (!cookie.includes('session=')) throw new Error(`sign-in failed (${login.status})`);

	/**
	 * One post of the booking form, as the page sends it (enhanced: SvelteKit answers the action's
	 * outcome as JSON — a redirect to the confirmation when booked, a failure with its status).
	 */
	const post = async (msId: string, patientId: string, slot: { occurrenceId: string; professionalId: string; startsAt: Date }) => {
		const started = performance.now();
		const r = await fetch(`${origin}/ms/${msId}/rendez-vous/patient/${patientId}?/book`, {
			method: 'POST',
			headers: { origin, cookie, accept: 'application/json', 'x-sveltekit-action': 'true', 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ occurrenceId: slot.occurrenceId, professionalId: slot.professionalId, startsAt: String(slot.startsAt.getTime()), kind: 'suivi', requestKey: crypto.randomUUID() }),
			redirect: 'manual'
		});
		const body = await r.text();
		const ms = performance.now() - started;
		let outcome: { type?: string; status?: number } = {};
		try {
			outcome = JSON.parse(body);
		} catch {
			// Not JSON: counted as "other" below.
		}
		const status = outcome.type === 'redirect' ? 303 : outcome.type === 'failure' ? (outcome.status ?? r.status) : r.status;
		return { status, ms, body };
	};
	const patientsOf = async (msI: number, from: number, n: number) =>
		(await client.query<{ id: string }>(`select id from b_patient where i = $1 and n >= $2 order by n limit $3`, [msI, from, n])).rows.map((r) => r.id);

	const now = new Date();
	const eightWeeks = new Date(now.getTime() + 56 * 86_400_000);
	// Warm-up: one page load (the server's first request compiles nothing, but opens its pool).
	await fetch(`${origin}/ms/${msRows[0].id}/rendez-vous`, { headers: { cookie } });

	// The figures below are wall times: measured once other processes have quieted down (or after
	// BENCH_QUIET_WAIT_S, saying so), with the machine's load printed beside them.
	await waitForQuietMachine('booking', QUIET_WAIT_S * 1000);
	const load = () => `load average ${(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])}`;
	console.log(`measuring on ${availableParallelism()} core(s), ${load()}`);

	// 3. CONCURRENT requests on one free slot, each for another patient of microstructure 0.
	const [slot] = await freeSlots(db, { microstructureId: msRows[0].id, kind: 'suivi', from: now, to: eightWeeks, limit: 1 });
	if (!slot) throw new Error('no free slot in microstructure 0');
	const burstPatients = await patientsOf(0, 50, CONCURRENT);
	const burst = await Promise.all(burstPatients.map((p) => post(msRows[0].id, p, slot)));
	const booked = burst.filter((r) => r.status === 303).length;
	const refused = burst.filter((r) => r.status === 409 && /créneau|rendez-vous/.test(r.body)).length;
	const other = burst.filter((r) => r.status !== 303 && r.status !== 409).map((r) => r.status);
	const rows = Number((await client.query(`select count(*) from appointment where occurrence_id = $1 and starts_at = $2 and status = 'prevu'`, [slot.occurrenceId, slot.startsAt])).rows[0].count);
	console.log(`concurrent: ${CONCURRENT} posts of ?/book on one slot → ${booked} booked (redirect to the confirmation), ${refused} refused in French (failure 409), ${other.length} other${other.length ? ` (${[...new Set(other)].join(', ')})` : ''}; ${rows} row(s) in the database; ${summary(burst.map((r) => r.ms))}`);
	if (booked !== 1) console.log(`first answer: ${burst[0].status} ${burst[0].body.slice(0, 400).replace(/\s+/g, ' ')}`);
	if (booked !== 1 || rows !== 1) throw new Error(`expected exactly one booking, got ${booked} answers and ${rows} rows`);
	// Every loser must get the French answer: anything else (a 500 from a deadlock) is a bug.
	if (refused !== CONCURRENT - 1) throw new Error(`expected ${CONCURRENT - 1} refusals in French, got ${refused} (others: ${other.join(', ')})`);

	// 4a. The free-slot search for 8 weeks of one microstructure, across microstructures.
	const searchMs = (await client.query<{ id: string }>(`select id from b_ms order by i * 7919 % 1000 limit $1`, [SEARCHES])).rows.map((r) => r.id);
	for (const id of searchMs.slice(0, 10)) await freeSlots(db, { microstructureId: id, kind: 'suivi', from: now, to: eightWeeks });
	const search: number[] = [];
	let found = 0;
	const searchPg = postgresCpu(dbName);
	for (const id of searchMs) {
		const started = performance.now();
		found += (await freeSlots(db, { microstructureId: id, kind: 'suivi', from: now, to: eightWeeks })).length;
		search.push(performance.now() - started);
	}
	const searchCpu = (postgresCpuDelta(searchPg, postgresCpu(dbName)) * 1000) / SEARCHES;
	console.log(`search: free slots for the next 8 weeks of one microstructure, ${SEARCHES} microstructures, ${(found / SEARCHES).toFixed(1)} slots each: ${summary(search)}; PostgreSQL CPU ${searchCpu.toFixed(1)} ms per search`);

	await waitForQuietMachine('booking', QUIET_WAIT_S * 1000);
	// 4b. Booking round trips through HTTP, one after the other, spread over ten microstructures.
	const trips: number[] = [];
	let tripCpu = { server: 0, pg: 0 };
	for (let k = 0; k < BOOKINGS; k++) {
		const m = msRows[k % msRows.length];
		const [next] = await freeSlots(db, { microstructureId: m.id, kind: 'suivi', from: now, to: eightWeeks, limit: 1 });
		if (!next) throw new Error(`no free slot left in microstructure ${m.i}`);
		const [patient] = await patientsOf(m.i, 50 + CONCURRENT, 20).then(async (ids) => {
			// A patient with nothing at that time (the exclusion constraint would refuse it otherwise).
			const busy = new Set((await client.query<{ patient_id: string }>(`select patient_id from appointment where patient_id = any($1) and during && tstzrange($2, $3) and status not in ('annule','deplace')`, [ids, next.startsAt, next.endsAt])).rows.map((r) => r.patient_id));
			return ids.filter((id) => !busy.has(id));
		});
		const cpu0 = { server: groupCpu(child.pid!), pg: postgresCpu(dbName) };
		const r = await post(m.id, patient, next);
		tripCpu = { server: tripCpu.server + groupCpu(child.pid!) - cpu0.server, pg: tripCpu.pg + postgresCpuDelta(cpu0.pg, postgresCpu(dbName)) };
		if (r.status !== 303) throw new Error(`booking ${k} answered ${r.status}: ${r.body.slice(0, 300)}`);
		trips.push(r.ms);
	}
	console.log(`book: ${BOOKINGS} booking round trips through HTTP (enhanced form post → redirect): ${summary(trips)}; ${load()}; CPU per round trip (whatever the load): server ${((tripCpu.server * 1000) / BOOKINGS).toFixed(1)} ms, PostgreSQL ${((tripCpu.pg * 1000) / BOOKINGS).toFixed(1)} ms`);
	console.log(`booked=${booked} of ${CONCURRENT} concurrent; search p95=${quantile(search, 0.95).toFixed(1)} ms; book p95=${quantile(trips, 0.95).toFixed(1)} ms`);
} finally {
	if (child && child.exitCode === null && child.pid) {
		const exited = new Promise((r) => child!.once('exit', r));
		process.kill(-child.pid, 'SIGTERM');
		await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
		if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
	}
	await client.end();
	await closeDb();
	// BENCH_KEEP_DB=1 keeps the data set for a closer look (EXPLAIN) after the run.
	if (process.env.BENCH_KEEP_DB) console.log(`kept: ${process.env.DATABASE_URL}`);
	else await admin.query(`drop database if exists ${dbName} with (force)`);
	await admin.end();
}
