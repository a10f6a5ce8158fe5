// Benchmark (issue 14: the coordinator's cockpit): computeIndicators at generalisation scale —
// 1,000 microstructures in 50 networks, 50,000 patients with their pathway events, 500,000
// appointments, ~28,000 RCP sessions with 252,000 passages, the teams' memberships — measured in
// this process, straight on the database (the page adds one audit insert and the rendering):
//   - a network's cockpit (its ~20 microstructures, one year): p95 of 30 runs over different networks;
//   - the national cockpit (all microstructures grouped by network, one year): p95 of 10 runs;
//   - the billing export of a region (10 networks, 200 microstructures, one year): checks, runs, CSV files.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/cockpit.ts
//
// Creates a throwaway database bench_cockpit_<pid> on DATABASE_URL's server, migrates it, fills it
// with generate_series SQL (ids are md5-derived uuids, so rows can reference each other without
// lookups), and drops it at the end. The booking exclusion constraints (gist, no double booking) are
// dropped before the load: they guard writes, not the reads measured here, and would triple the
// load time. Waits up to BENCH_QUIET_WAIT_S (60) for the machine to quiet down before measuring.
// The last line reads exactly
//   network cockpit p95=<ms> ms; national cockpit p95=<ms> ms; billing export <s> s
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { computeIndicators } from '../src/lib/server/cockpit/indicators.ts';
import { runBillingExport, runCsv } from '../src/lib/server/billing/runs.ts';
import { nirKey, nirKeysFrom, sealNir } from '../src/lib/server/patients/nir.ts';
import { createDb, type Db } from '../src/lib/server/db/index.ts';
import { migrateToLatest } from '../src/lib/server/db/migrate.ts';
import { waitForQuietMachine } from './machine.ts';

process.env.LOG_LEVEL ??= 'warn';
const BASE = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const NAME = `bench_cockpit_${process.pid}`;
const NETWORKS = 50;
const MICROSTRUCTURES = 1000; // 20 per network
/** How long to wait at most for other processes to quiet down before measuring. */
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S || 60);
const PATIENTS = 50_000; // 50 per microstructure
const APPOINTMENTS = 500_000;
const SESSIONS_PER_MS = 28; // every 25 days over ~2 years
const PASSAGES_PER_SESSION = 9;
const NETWORK_RUNS = 30;
const NATIONAL_RUNS = 10;
const FROM = '2026-01-01';
const TO = '2026-12-31';

function urlFor(database: string) {
	const u = new URL(BASE);
	u.pathname = `/${database}`;
	return u.toString();
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function step(label: string, fn: () => Promise<unknown>) {
	const t = performance.now();
	await fn();
	console.log(`  ${label}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

async function fill(db: Db) {
	const uid = (prefix: string, expr: string) => sql.raw(`md5('${prefix}' || (${expr}))::uuid`);
	await step('networks, microstructures, professionals, memberships', async () => {
		await sql`insert into network (id, name) select ${uid('n', 'g')}, 'Réseau ' || g from generate_series(0, ${NETWORKS - 1}) g`.execute(db);
		await sql`insert into microstructure (id, network_id, name, programmes)
			select ${uid('m', 'i')}, ${uid('n', `i / ${MICROSTRUCTURES / NETWORKS}`)}, 'MS ' || lpad(i::text, 4, '0'),
				case when i % 4 = 0 then '{MSMA,MSPC}'::text[] else '{MSMA}'::text[] end
			from generate_series(0, ${MICROSTRUCTURES - 1}) i`.execute(db);
		// One psychologist and one social worker per 4 microstructures (u0..u249 psychologists,
		// u250..u499 social workers), one GP per microstructure (u500..u1499).
		await sql`insert into app_user (id, email, first_name, last_name, profession, password_hash)
			select ${uid('u', 'i')}, 'u' || i || '@bench.test', 'Prénom', 'Nom ' || i,
				case when i < 250 then 'psychologue' when i < 500 then 'travailleur_social' else 'medecin_generaliste' end, 'x'
			from generate_series(0, 1499) i`.execute(db);
		// Every tenth microstructure lost its social worker in mid-2026 (months without one).
		await sql`insert into membership (user_id, microstructure_id, role, starts_on, ends_on)
			select ${uid('u', 'i / 4')}, ${uid('m', 'i')}, 'soignant', date '2024-01-01', null::date from generate_series(0, ${MICROSTRUCTURES - 1}) i
			union all
			select ${uid('u', '250 + i / 4')}, ${uid('m', 'i')}, 'soignant', date '2024-01-01', case when i % 10 = 0 then '2026-06-30'::date end from generate_series(0, ${MICROSTRUCTURES - 1}) i
			union all
			select ${uid('u', '500 + i')}, ${uid('m', 'i')}, 'soignant', date '2024-01-01', null::date from generate_series(0, ${MICROSTRUCTURES - 1}) i`.execute(db);
	});
	await step('patients and pathway events', async () => {
		// Patient i belongs to microstructure i % 1000, included between 2025-01-01 and 2026-11-30;
		// one in eight has left, the others are followed (en suivi after a first contact, or just included).
		await sql`insert into patient (id, microstructure_id, code, birth_date, sex, programme, motif, orientation, state,
				oriented_on, included_on, renewal_due_on, first_contact_on, last_contact_on, exited_on, exit_reason, consent_on, consent_method)
			select ${uid('p', 'i')}, ${uid('m', 'i % 1000')}, 'B-' || lpad(i::text, 6, '0'),
				date '1940-01-01' + ((i * 7919) % 25000), case when i % 3 = 0 then 'F' else 'M' end,
				case when i % 4 = 0 and (i % 1000) % 4 = 0 then 'MSPC' else 'MSMA' end,
				(array['addiction', 'precarite', 'sante_mentale'])[1 + i % 3],
				(array['psychologue', 'travailleur_social', 'les_deux'])[1 + (i / 7) % 3],
				case when i % 8 = 0 then 'sorti' when i % 5 = 0 then 'inclus' else 'en_suivi' end,
				inc, inc, inc + 365,
				case when i % 8 <> 0 and i % 5 <> 0 then inc + (i % 70) end,
				case when i % 8 <> 0 and i % 5 <> 0 then inc + (i % 70) end,
				case when i % 8 = 0 then inc + 60 + (i % 200) end,
				case when i % 8 = 0 then (array['amelioration', 'souhait_patient', 'reorientation', 'perdu_de_vue', 'demenagement', 'deces'])[1 + (i / 8) % 6] end,
				inc, 'formulaire_signe'
			from (select i, date '2025-01-01' + (i * 37) % 699 as inc from generate_series(0, ${PATIENTS - 1}) i) x`.execute(db);
		await sql`insert into patient_event (patient_id, kind, occurred_on, details)
			select id, 'orient', oriented_on, '{}'::jsonb from patient
			union all select id, 'include', included_on, jsonb_build_object('orientation', orientation) from patient
			union all select id, 'first_contact', first_contact_on, '{}'::jsonb from patient where first_contact_on is not null
			union all select id, 'renew', included_on + 365, '{}'::jsonb from patient where included_on + 365 <= date '2026-12-04' and (exited_on is null or exited_on > included_on + 365)
			union all select id, 'exit', exited_on, jsonb_build_object('reason', exit_reason) from patient where exited_on is not null`.execute(db);
	});
	await step('permanences and occurrences', async () => {
		// One permanence per professional; 200 occurrences each (every 3 days from 2025-01-01),
		// 09:00–14:00 for psychologists and 14:00–19:00 for social workers (a patient is never booked twice at once).
		await sql`alter table permanence_occurrence drop constraint occurrence_professional_free, drop constraint occurrence_room_free`.execute(db);
		await sql`alter table appointment drop constraint appointment_professional_free, drop constraint appointment_room_free, drop constraint appointment_patient_free`.execute(db);
		await sql`insert into permanence (id, microstructure_id, professional_id, weekday, every_weeks, start_time, end_time, starts_on, first_minutes, followup_minutes)
			select ${uid('perm', 'k')}, ${uid('m', '(k % 250) * 4')}, ${uid('u', 'k')}, 3, 1, case when k < 250 then time '09:00' else time '14:00' end,
				case when k < 250 then time '14:00' else time '19:00' end, date '2025-01-01', 60, 60
			from generate_series(0, 499) k`.execute(db);
		await sql`insert into permanence_occurrence (id, permanence_id, microstructure_id, professional_id, on_date, starts_at, ends_at)
			select ${uid('occ', "k || '-' || o")}, ${uid('perm', 'k')}, ${uid('m', '(k % 250) * 4')}, ${uid('u', 'k')}, d,
				(d + case when k < 250 then time '09:00' else time '14:00' end) at time zone 'Europe/Paris',
				(d + case when k < 250 then time '14:00' else time '19:00' end) at time zone 'Europe/Paris'
			from generate_series(0, 499) k cross join generate_series(0, 199) o cross join lateral (select date '2025-01-01' + o * 3 as d) dd`.execute(db);
	});
	await step('appointments', async () => {
		// Appointment j: professional k = j % 500, slot s = j / 500 (0..999): occurrence s / 5, hour s % 5;
		// its patient is in one of the professional's four microstructures.
		await sql`insert into appointment (microstructure_id, patient_id, professional_id, profession, occurrence_id, kind, starts_at, ends_at, status,
				booked_by, request_key, cancelled_at)
			select ${uid('m', 'ms')}, ${uid('p', 'ms + 1000 * ((s / 4) % 50)')}, ${uid('u', 'k')},
				case when k < 250 then 'psychologue' else 'travailleur_social' end, ${uid('occ', "k || '-' || (s / 5)")},
				'suivi', st, st + interval '1 hour',
				case when st > timestamptz '2026-12-04' then 'prevu' when j % 20 = 0 then 'absent' when j % 20 = 1 then 'excuse' when j % 20 = 2 then 'annule' else 'venu' end,
				${uid('u', '500 + ms')}, gen_random_uuid(), case when j % 20 = 2 and st <= timestamptz '2026-12-04' then st - interval '2 days' end
			from (
				select j, j % 500 as k, j / 500 as s, ((j % 500) % 250) * 4 + ((j / 500) % 4) as ms,
					((date '2025-01-01' + ((j / 500) / 5) * 3) + (case when j % 500 < 250 then time '09:00' else time '14:00' end) + ((j / 500) % 5) * interval '1 hour') at time zone 'Europe/Paris' as st
				from generate_series(0, ${APPOINTMENTS - 1}) j
			) x`.execute(db);
	});
	await step('RCP sessions and passages', async () => {
		await sql`insert into rcp_session (id, microstructure_id, title, starts_at, ends_at, status, template)
			select ${uid('s', "ms || '-' || x")}, ${uid('m', 'ms')}, 'RCP', st, st + interval '90 minutes',
				case when st < timestamptz '2026-12-04' then 'cloturee' else 'planifiee' end,
				jsonb_build_object('name', 'Trame', 'minFrequency', (array['mensuelle', 'trimestrielle', 'bimensuelle', 'bimestrielle'])[1 + ms % 4], 'targetMinutes', 90,
					'sections', '[]'::jsonb, 'quorumProfessions', '[]'::jsonb, 'optionalInvitees', '', 'patientMayAttend', false, 'minutesPerCase', 10)
			from generate_series(0, ${MICROSTRUCTURES - 1}) ms cross join generate_series(0, ${SESSIONS_PER_MS - 1}) x
				cross join lateral (select (date '2025-01-01' + x * 25 + time '12:30') at time zone 'Europe/Paris' as st) t`.execute(db);
		await sql`insert into rcp_passage (patient_id, session_id, on_date, decision)
			select ${uid('p', 'ms + 1000 * ((x * 9 + c) % 50)')}, ${uid('s', "ms || '-' || x")}, date '2025-01-01' + x * 25, 'poursuite'
			from generate_series(0, ${MICROSTRUCTURES - 1}) ms cross join generate_series(0, ${SESSIONS_PER_MS - 1}) x cross join generate_series(0, ${PASSAGES_PER_SESSION - 1}) c`.execute(db);
	});
	// As autovacuum would have: statistics, and the visibility map that index-only scans need.
	await step('vacuum analyze', () => sql`vacuum analyze`.execute(db));
}

/**
 * The billing export of a region: its networks' NIRs are written first (not timed: in real life they
 * were entered during care), then, timed, each network's export run over the period (checks, NIR
 * decryption, lines locked) and the download of its CSV with the NIR in clear.
 */
async function benchBillingExport(db: Db, networkIdsOfRegion: string[], from: string, to: string): Promise<number> {
	const keys = nirKeysFrom([{ id: 'bench', key: randomBytes(32) }]);
	const patients = await db
		.selectFrom('patient as p')
		.innerJoin('microstructure as m', 'm.id', 'p.microstructure_id')
		.select(['p.id', 'p.sex'])
		.where('m.network_id', 'in', networkIdsOfRegion)
		.execute();
	const rows = patients.map((p, i) => {
		const base = `${p.sex === 'F' ? 2 : 1}7501${String(67).padStart(2, '0')}${String(100000 + i).slice(-6)}`.slice(0, 13);
		const nir = base + String(nirKey(base)).padStart(2, '0');
		const sealed = sealNir(nir, keys);
		return { patient_id: p.id, status: 'fourni' as const, ciphertext: sealed.ciphertext, key_id: sealed.key_id, nir_index: sealed.nir_index, updated_by: null };
	});
	for (let i = 0; i < rows.length; i += 2000) await db.insertInto('patient_nir').values(rows.slice(i, i + 2000)).execute();
	const user = await db.selectFrom('app_user').select('id').limit(1).executeTakeFirstOrThrow();
	const microstructures = await db.selectFrom('microstructure').select(['id', 'network_id']).where('network_id', 'in', networkIdsOfRegion).execute();
	const ctx = { actorId: user.id, ip: null, userAgent: 'bench' };
	const t = performance.now();
	let lines = 0;
	let skipped = 0;
	for (const networkId of networkIdsOfRegion) {
		const ids = microstructures.filter((m) => m.network_id === networkId).map((m) => m.id);
		const run = await runBillingExport(db, ctx, { networkId, from, to, microstructureIds: ids }, keys);
		if (!run.ok) throw new Error(`billing export of ${networkId}: ${run.reason}`);
		const csv = await runCsv(db, ctx, networkId, run.runId, keys);
		lines += run.lineCount;
		skipped += run.skipped.length;
		if (!csv) throw new Error('no CSV');
	}
	const seconds = (performance.now() - t) / 1000;
	console.log(`billing export: ${networkIdsOfRegion.length} networks, ${microstructures.length} microstructures, ${patients.length} patients: ${lines} lines exported, ${skipped} packages held back by a check, ${seconds.toFixed(2)} s`);
	return seconds;
}

async function main() {
	const admin = new pg.Client({ connectionString: BASE });
	await admin.connect();
	await admin.query(`drop database if exists ${NAME} with (force)`);
	await admin.query(`create database ${NAME}`);
	const pool = new pg.Pool({ connectionString: urlFor(NAME), max: 12 });
	pool.on('error', () => {}); // an idle client closed by the final drop
	const db = createDb(pool);
	try {
		await migrateToLatest(db);
		const t = performance.now();
		console.log(`Filling ${NAME}:`);
		await fill(db);
		const counts = await sql<Record<string, number>>`select
			(select count(*)::int from microstructure) as microstructures, (select count(*)::int from patient) as patients,
			(select count(*)::int from patient_event) as events, (select count(*)::int from appointment) as appointments,
			(select count(*)::int from rcp_session) as sessions, (select count(*)::int from rcp_passage) as passages,
			(select count(*)::int from membership) as memberships`.execute(db);
		console.log(`  total ${((performance.now() - t) / 1000).toFixed(1)} s`, counts.rows[0]);

		const networks = await db.selectFrom('network').select('id').orderBy('name').execute();
		const msByNetwork = new Map<string, string[]>();
		for (const m of await db.selectFrom('microstructure').select(['id', 'network_id']).execute()) {
			msByNetwork.set(m.network_id, [...(msByNetwork.get(m.network_id) ?? []), m.id]);
		}
		const allIds = [...msByNetwork.values()].flat();

		// Warm-up (plans, caches), then the measured runs, once the machine is quiet: on these 2 cores,
		// other work (a test suite, another benchmark) takes the national p95 from ~200 ms to over 300 ms.
		await waitForQuietMachine('cockpit', QUIET_WAIT_S * 1000);
		await computeIndicators(db, { microstructureIds: msByNetwork.get(networks[0].id)!, from: FROM, to: TO });
		await computeIndicators(db, { microstructureIds: allIds, from: FROM, to: TO, groupBy: 'network' });

		const network: number[] = [];
		for (let i = 0; i < NETWORK_RUNS; i++) {
			const ids = msByNetwork.get(networks[(i * 7) % networks.length].id)!;
			const s = performance.now();
			const r = await computeIndicators(db, { microstructureIds: ids, from: FROM, to: TO, programme: i % 3 === 2 ? 'MSMA' : null });
			network.push(performance.now() - s);
			if (i === 0) console.log(`  sample network: file active ${r.total.fileActive}, inclusions ${r.total.inclusions}, consultations psy ${r.total.consultations.psychologue}, RCP held ${r.total.rcp.held}/${r.total.rcp.expected}, overdue ${r.total.rcp.overdue}, missing TS months ${r.total.missingMonths.travailleur_social}`);
		}
		const national: number[] = [];
		for (let i = 0; i < NATIONAL_RUNS; i++) {
			const s = performance.now();
			const r = await computeIndicators(db, { microstructureIds: allIds, from: FROM, to: TO, groupBy: 'network', programme: i % 2 ? 'MSMA' : null });
			national.push(performance.now() - s);
			if (i === 0) console.log(`  sample national: ${r.units.length} networks, file active ${r.total.fileActive}, appointments venu ${r.total.appointments.venu}`);
		}
		console.log(`network cockpit: median ${median(network).toFixed(1)} ms, p95 ${p95(network).toFixed(1)} ms over ${NETWORK_RUNS} runs`);
		console.log(`national cockpit: median ${median(national).toFixed(1)} ms, p95 ${p95(national).toFixed(1)} ms over ${NATIONAL_RUNS} runs`);

		// A region: 10 networks, 200 microstructures.
		const region = networks.slice(0, 10).map((n) => n.id);
		const billing = await benchBillingExport(db, region, FROM, TO);
		console.log(`network cockpit p95=${p95(network).toFixed(0)} ms; national cockpit p95=${p95(national).toFixed(0)} ms; billing export ${Number.isNaN(billing) ? 'NaN' : billing.toFixed(1)} s`);
	} finally {
		await db.destroy();
		if (process.env.BENCH_KEEP) console.log(`kept ${NAME}`);
		else await admin.query(`drop database if exists ${NAME} with (force)`);
		await admin.end();
	}
}

await main();
