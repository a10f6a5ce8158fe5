// The coordinator's indicators (issue 14): what evaluators and coordinators ask of a network's
// microstructures over a period — file active, inclusions, who is included, consultations, wait for
// a first contact, no-shows, RCPs, orientation balance, months without a professional.
//
// Everything is computed by PostgreSQL: one aggregate statement per topic, grouped by the unit
// (a microstructure, or a network for the national view) with GROUPING SETS so that the same
// statement also gives the total. The statements run concurrently; JavaScript only lays the rows
// (one per unit, at most ~1,000) into plain objects. This keeps a network's cockpit under 100 ms
// and the national one under 300 ms at generalisation scale (bench/cockpit.ts).
//
// The result is plain data (no Date, no class) so that the yearly PDF report, the CSV export and the
// pages can all use it, and so that it can be sent to a render worker as is.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/index.ts';
import type { ExitReason, Programme, RcpFrequency } from '../db/schema.ts';

export interface IndicatorFilter {
	/** The microstructures counted (already checked by the caller: ids of the network, or all of the networks of the national view). */
	microstructureIds: string[];
	/** First and last day of the period, 'YYYY-MM-DD', both included (Paris calendar days). */
	from: string;
	to: string;
	/** Only patients (and RCP sessions) of this programme; null or absent: both. */
	programme?: Programme | null;
	/** One unit per microstructure (default) or per network (national view). */
	groupBy?: 'microstructure' | 'network';
}

export const EXIT_REASONS = ['amelioration', 'souhait_patient', 'reorientation', 'perdu_de_vue', 'demenagement', 'deces', 'autre'] as const satisfies readonly ExitReason[];
export const AGE_BANDS = ['lt25', 'a25_39', 'a40_54', 'a55_69', 'a70', 'unknown'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];
/** Professions whose consultations are counted (the professionals who hold permanences). */
export const CONSULTATION_PROFESSIONS = ['psychologue', 'travailleur_social', 'psychiatre'] as const;
export type ConsultationProfession = (typeof CONSULTATION_PROFESSIONS)[number];
/** Days from inclusion to first contact: ≤ 7, 8–15, 16–30, 31–60, > 60, no contact yet. */
export const WAIT_BUCKETS = ['le7', 'd8_15', 'd16_30', 'd31_60', 'gt60', 'none'] as const;
export type WaitBucket = (typeof WAIT_BUCKETS)[number];
export const ORIENTATIONS = ['psychologue', 'travailleur_social', 'les_deux', 'unknown'] as const;
export type OrientationKey = (typeof ORIENTATIONS)[number];
export const MISSING_PROFESSIONS = ['psychologue', 'travailleur_social'] as const;
export type MissingProfession = (typeof MISSING_PROFESSIONS)[number];

/** RCPs a year for a template's minimum frequency ("bimensuelle" is every two weeks in the templates). */
export const RCP_PER_YEAR: Record<RcpFrequency, number> = { hebdomadaire: 52, bimensuelle: 26, mensuelle: 12, bimestrielle: 6, trimestrielle: 4 };

/**
 * Up to this many microstructures (a network has ~20), the RCP passages are read from the units'
 * sessions or patients; beyond, all the period's passages are counted by session or by patient
 * first (see passagesQuery and patientsQuery).
 */
const FEW_MICROSTRUCTURES = 100;

/** Days without an RCP passage after which a followed patient is overdue (RCP at least every quarter). */
export const OVERDUE_DAYS = 90;

/**
 * The indicators of one unit (a microstructure, a network, or the total) over the period.
 * Shares and ratios are null when their denominator is 0.
 */
export interface UnitIndicators {
	/** Microstructure or network id; 'total' for the total. */
	id: string;
	name: string;
	/**
	 * File active: distinct patients followed at some time in the period, i.e. patients with an
	 * inclusion, re-inclusion or renewal event in the period, plus patients whose current inclusion
	 * started on or before the last day and who had not left (exit or transfer) before the first day
	 * (state inclus / en_suivi, or sorti / transféré on or after `from`). The denominator of the
	 * per-patient ratios.
	 */
	fileActive: number;
	/** Inclusion events ('include' + 'reinclude') dated in the period. */
	inclusions: number;
	/** Of which re-inclusions. */
	reinclusions: number;
	/** Renewal events ('renew') dated in the period. */
	renewals: number;
	/** Exit events ('exit') dated in the period, and by coded reason (the event's reason, else the patient's). */
	exits: number;
	exitsByReason: Record<ExitReason, number>;
	/** Transfers to another microstructure dated in the period (not exits). */
	transfers: number;
	/**
	 * Patients included in the period: distinct patients with an inclusion or re-inclusion event in
	 * the period (population of the shares, age bands and orientations below).
	 */
	includedPatients: number;
	women: number;
	womenShare: number | null;
	precarite: number;
	precariteShare: number | null;
	/** Age at the (first) inclusion of the period, from the birth date; unknown without one. */
	ageBands: Record<AgeBand, number>;
	/** Orientation decided at that inclusion (psychologist, social worker, both). */
	orientations: Record<OrientationKey, number>;
	/** Consultations held ('venu' appointments dated in the period) by the appointment's profession, and per patient of the file active. */
	consultations: Record<ConsultationProfession, number>;
	consultationsPerPatient: Record<ConsultationProfession, number | null>;
	/**
	 * Wait from inclusion to first contact, for patients whose current inclusion date is in the
	 * period: first contact = the recorded first contact (set when a first appointment is marked
	 * 'venu'), else the first 'venu' appointment on or after the inclusion (as known today, even
	 * after the period). Median in days
	 * (null without any contact) and distribution.
	 */
	firstContact: { patients: number; medianDays: number | null; buckets: Record<WaitBucket, number> };
	/** No-shows: 'absent' / ('venu' + 'absent' + 'excuse') among appointments dated in the period. */
	appointments: { venu: number; absent: number; excuse: number; noShowRate: number | null };
	rcp: {
		/** Sessions closed ('cloturee') that started in the period (sessions of the programme or of both when a programme is chosen). */
		held: number;
		/** Minimum frequency of the template of the microstructure's latest session before the end of the period (null for networks / total / no session). */
		frequency: RcpFrequency | null;
		/** Sessions expected at that frequency over the period (whole intervals; summed for networks and the total; null when no microstructure has a template). */
		expected: number | null;
		/** RCP passages (a patient discussed in a session) dated in the period, and per patient of the file active. */
		passages: number;
		passagesPerPatient: number | null;
		/**
		 * Patients overdue: followed on the last day (included on or before `to` − 90 days, not left
		 * by `to`) with no RCP passage in the 90 days up to `to`.
		 */
		overdue: number;
		/** Their pseudonymous codes, sorted (microstructure units only; patient-level data: audit the read). */
		overdueCodes: string[];
		/** Their ids, for the audit log (same order). */
		overduePatientIds: string[];
	};
	/**
	 * Months of the period (calendar months it touches) in which the microstructure had no active
	 * 'soignant' membership of a user of that profession; networks and total: microstructure-months.
	 */
	missingMonths: Record<MissingProfession, number>;
	/** The months themselves, 'YYYY-MM' (microstructure units only). */
	missingMonthList: Record<MissingProfession, string[]>;
}

/** One month of the inclusions chart: inclusion events by unit id, and in total. */
export interface MonthInclusions {
	/** 'YYYY-MM'. */
	month: string;
	byUnit: Record<string, number>;
	total: number;
}

export interface Indicators {
	filter: { from: string; to: string; programme: Programme | null; groupBy: 'microstructure' | 'network'; microstructureIds: string[] };
	/** Days in the period (both ends included). */
	days: number;
	/** One entry per unit, ordered by name (units without any data included, all zeros). */
	units: UnitIndicators[];
	total: UnitIndicators;
	/** Every month the period touches, in order. */
	inclusionsByMonth: MonthInclusions[];
}

function emptyUnit(id: string, name: string): UnitIndicators {
	const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
	const nulls = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, null])) as Record<K, number | null>;
	return {
		id,
		name,
		fileActive: 0,
		inclusions: 0,
		reinclusions: 0,
		renewals: 0,
		exits: 0,
		exitsByReason: zeros(EXIT_REASONS),
		transfers: 0,
		includedPatients: 0,
		women: 0,
		womenShare: null,
		precarite: 0,
		precariteShare: null,
		ageBands: zeros(AGE_BANDS),
		orientations: zeros(ORIENTATIONS),
		consultations: zeros(CONSULTATION_PROFESSIONS),
		consultationsPerPatient: nulls(CONSULTATION_PROFESSIONS),
		firstContact: { patients: 0, medianDays: null, buckets: zeros(WAIT_BUCKETS) },
		appointments: { venu: 0, absent: 0, excuse: 0, noShowRate: null },
		rcp: { held: 0, frequency: null, expected: null, passages: 0, passagesPerPatient: null, overdue: 0, overdueCodes: [], overduePatientIds: [] },
		missingMonths: zeros(MISSING_PROFESSIONS),
		missingMonthList: { psychologue: [], travailleur_social: [] }
	};
}

const ratio = (n: number, d: number): number | null => (d > 0 ? n / d : null);

/** Days between two 'YYYY-MM-DD' days, both included. */
export function periodDays(from: string, to: string): number {
	return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

/** RCPs expected at a frequency over a period: whole intervals elapsed (a year of 365 or 366 days gives the yearly count). */
export function expectedRcps(frequency: RcpFrequency, days: number): number {
	return Math.floor((days * RCP_PER_YEAR[frequency]) / 365 + 1e-9);
}

/** 'YYYY-MM' of every month the period touches. */
function monthsOf(from: string, to: string): string[] {
	const out: string[] = [];
	let [y, m] = from.slice(0, 7).split('-').map(Number);
	const last = to.slice(0, 7);
	for (;;) {
		const key = `${y}-${String(m).padStart(2, '0')}`;
		out.push(key);
		if (key >= last) break;
		m++;
		if (m > 12) {
			m = 1;
			y++;
		}
	}
	return out;
}

const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * Computes the indicators of the filter's microstructures over the period, per unit and in total.
 * The caller checks that the actor may see these microstructures, and audits the read (the overdue
 * patients' codes are patient-level data).
 */
export async function computeIndicators(db: Db, filter: IndicatorFilter): Promise<Indicators> {
	const groupBy = filter.groupBy ?? 'microstructure';
	const programme = filter.programme ?? null;
	const { from, to } = filter;
	const days = periodDays(from, to);
	const months = monthsOf(from, to);
	const ids = [...new Set(filter.microstructureIds)];
	const result: Indicators = {
		filter: { from, to, programme, groupBy, microstructureIds: ids },
		days,
		units: [],
		total: emptyUnit('total', 'Total'),
		inclusionsByMonth: months.map((month) => ({ month, byUnit: {}, total: 0 }))
	};
	if (ids.length === 0) return result;

	// The units: each microstructure with the unit it counts in.
	const unitOf = groupBy === 'network' ? sql`m.network_id` : sql`m.id`;
	const units = sql`units as (select m.id as ms_id, ${unitOf} as unit_id from microstructure m where m.id = any(${ids}::uuid[]))`;
	// Instants bounding the period in Paris (appointments and sessions are timestamptz), so that the
	// indexes on (microstructure_id, starts_at) apply.
	const t0 = sql`(${from}::date::timestamp at time zone 'Europe/Paris')`;
	const t1 = sql`((${to}::date + 1)::timestamp at time zone 'Europe/Paris')`;
	const progPatient = programme ? sql`and p.programme = ${programme}` : sql``;
	const progSession = programme ? sql`and (s.programme = ${programme} or s.programme is null)` : sql``;
	// The unit's key in grouped rows: its id, or 'total' for the grand total of GROUPING SETS.
	const key = sql`case when grouping(u.unit_id) = 1 then 'total' else u.unit_id::text end`;
	const groups = sql`group by grouping sets ((u.unit_id), ())`;

	type Row = Record<string, unknown> & { key: string };
	// Each statement in its own short transaction with JIT off: the correlated probes make
	// the planner's cost estimates large enough to trigger JIT compilation, which costs far more
	// (~0.7 s) than these statements take to run (tens of ms).
	const run = (query: RawBuilder<unknown>): Promise<Row[]> =>
		db.transaction().execute(async (trx) => {
			await sql`set local jit = off`.execute(trx);
			return (await query.execute(trx)).rows as Row[];
		});

	const namesQuery =
		groupBy === 'network'
			? sql`select distinct n.id::text as id, n.name from network n join microstructure m on m.network_id = n.id where m.id = any(${ids}::uuid[]) order by n.name, 1`
			: sql`select m.id::text as id, m.name from microstructure m where m.id = any(${ids}::uuid[]) order by m.name, 1`;

	// Pathway events, counted once per (microstructure, kind, reason, month) first, then per unit and
	// month, per unit, per month and in total (GROUPING SETS): one statement for the counts and the chart.
	const exitCounts = sql.join(EXIT_REASONS.map((r) => sql`coalesce(sum(n) filter (where kind = 'exit' and reason = ${r}), 0)::int as ${sql.ref(`exit_${r}`)}`));
	const eventsQuery = sql`with ${units},
		per_ms as (
			select u.unit_id, e.kind, case when e.kind = 'exit' then coalesce(e.details->>'reason', p.exit_reason) end as reason,
				-- A date's month needs no time zone: truncating a timestamp (not a timestamptz)
				-- spares a time-zone conversion per event, for the same month.
				date_trunc('month', e.occurred_on::timestamp) as month, count(*) as n
			from patient_event e
			join patient p on p.id = e.patient_id
			join units u on u.ms_id = p.microstructure_id
			where e.kind in ('include', 'reinclude', 'renew', 'exit', 'transfer')
				and e.occurred_on between ${from}::date and ${to}::date ${progPatient}
			group by 1, 2, 3, 4
		)
		select case when grouping(unit_id) = 1 then 'total' else unit_id::text end as key,
			case when grouping(month) = 1 then null else to_char(month, 'YYYY-MM') end as month,
			coalesce(sum(n) filter (where kind in ('include', 'reinclude')), 0)::int as inclusions,
			coalesce(sum(n) filter (where kind = 'reinclude'), 0)::int as reinclusions,
			coalesce(sum(n) filter (where kind = 'renew'), 0)::int as renewals,
			coalesce(sum(n) filter (where kind = 'exit'), 0)::int as exits,
			coalesce(sum(n) filter (where kind = 'transfer'), 0)::int as transfers,
			${exitCounts}
		from per_ms
		group by grouping sets ((unit_id), (), (unit_id, month), (month))`;

	// Who was included: each patient once, at their first inclusion of the period.
	const includedQuery = sql`with ${units},
		aged as (
			select distinct on (e.patient_id) u.unit_id, p.sex, p.motif, coalesce(e.details->>'orientation', p.orientation) as orientation,
				-- Timestamps, not timestamptz (what age() picks for dates): the same whole years
				-- between two dates, without two time-zone conversions per patient.
				extract(year from age(e.occurred_on::timestamp, p.birth_date::timestamp))::int as age
			from patient_event e
			join patient p on p.id = e.patient_id
			join units u on u.ms_id = p.microstructure_id
			where e.kind in ('include', 'reinclude') and e.occurred_on between ${from}::date and ${to}::date ${progPatient}
			order by e.patient_id, e.occurred_on, e.recorded_at
		)
		select ${key} as key,
			count(*)::int as included,
			count(*) filter (where sex = 'F')::int as women,
			count(*) filter (where motif = 'precarite')::int as precarite,
			count(*) filter (where age < 25)::int as lt25,
			count(*) filter (where age between 25 and 39)::int as a25_39,
			count(*) filter (where age between 40 and 54)::int as a40_54,
			count(*) filter (where age between 55 and 69)::int as a55_69,
			count(*) filter (where age >= 70)::int as a70,
			count(*) filter (where age is null)::int as unknown,
			count(*) filter (where orientation = 'psychologue')::int as o_psychologue,
			count(*) filter (where orientation = 'travailleur_social')::int as o_travailleur_social,
			count(*) filter (where orientation = 'les_deux')::int as o_les_deux,
			count(*) filter (where orientation is null or orientation not in ('psychologue', 'travailleur_social', 'les_deux'))::int as o_unknown
		from aged u
		${groups}`;

	// The patient-level figures (file active, wait for a first contact, overdue) in one pass over the
	// units' patients: each probe is a column of that pass instead of a statement of its own, so the
	// patients are read and joined to their unit once. The probes sit behind the cheap conditions
	// (AND / OR / CASE evaluate left to right and stop early), so they run only for the few patients
	// they can still decide.
	//
	// What needs an order (the median, the sorted codes) is taken from arrays gathered by plain
	// aggregates, once per unit: an ordered aggregate among the grouped ones would make PostgreSQL
	// sort all the patients by unit first (~50,000 rows nationally, more than work_mem).
	//
	// With a programme, the RCP passages are counted here too: the programme is the patient's, so
	// each passage needs its patient, and this pass has them. A few microstructures probe each
	// patient's passages (index on (patient_id, on_date)); many join the period's passages counted
	// by patient first.
	const passagesByPatient = programme !== null && ids.length > FEW_MICROSTRUCTURES;
	const patientPassages = !programme
		? sql`null::bigint`
		: passagesByPatient
			? sql`pp.n`
			: sql`(select count(*) from rcp_passage r where r.patient_id = p.id and r.on_date between ${from}::date and ${to}::date)`;
	const patientsQuery = sql`with ${units},
		${passagesByPatient ? sql`passages as (
			select r.patient_id, count(*) as n from rcp_passage r where r.on_date between ${from}::date and ${to}::date group by r.patient_id
		),` : sql``}
		per_patient as (
			select u.unit_id, p.id, p.code, ${patientPassages} as passages,
				-- File active: followed at some time in the period, or an inclusion / renewal dated in it.
				(p.state <> 'oriente' and p.included_on <= ${to}::date and (p.exited_on is null or p.exited_on >= ${from}::date))
					or exists (
						select 1 from patient_event e
						where e.patient_id = p.id and e.kind in ('include', 'reinclude', 'renew') and e.occurred_on between ${from}::date and ${to}::date
						-- OFFSET 0 keeps this a probe per patient: otherwise the planner may hash every
						-- inclusion and renewal of the period (~45,000 nationally) for the few patients that
						-- the first condition leaves undecided (~2,000).
						offset 0
					) as active,
				-- First contact: patients whose current inclusion date is in the period.
				p.included_on between ${from}::date and ${to}::date and p.state <> 'oriente' as waited,
				-- Marking a first appointment 'venu' records the first contact; the appointment is read only
				-- when none is recorded (min(starts_at): one index probe, COALESCE evaluates it lazily).
				case when p.included_on between ${from}::date and ${to}::date and p.state <> 'oriente' then
					coalesce(p.first_contact_on, ((
						select min(a.starts_at) from appointment a
						where a.patient_id = p.id and a.status = 'venu' and a.starts_at >= (p.included_on::timestamp at time zone 'Europe/Paris')
					) at time zone 'Europe/Paris')::date) - p.included_on
				end as wait,
				-- Overdue: followed on the last day and no RCP passage in the 90 days up to it. The passages of
				-- that window are one uncorrelated subquery, hashed once (a NOT IN over a non-null column
				-- is NOT EXISTS) instead of one probe per patient.
				p.state <> 'oriente' and p.included_on <= ${to}::date - ${OVERDUE_DAYS}::int
					and (p.exited_on is null or p.exited_on > ${to}::date)
					and p.id not in (
						select r.patient_id from rcp_passage r where r.on_date > ${to}::date - ${OVERDUE_DAYS}::int and r.on_date <= ${to}::date
					) as overdue
			from patient p join units u on u.ms_id = p.microstructure_id
			${passagesByPatient ? sql`left join passages pp on pp.patient_id = p.id` : sql``}
			where true ${progPatient}
		),
		grouped as (
			select ${key} as key,
				count(*) filter (where active)::int as file_active,
				coalesce(sum(passages), 0)::int as passages,
				count(*) filter (where waited)::int as patients,
				-- wait is null outside the population and without any contact: both left out of the median.
				array_agg(wait) filter (where wait is not null) as waits,
				count(*) filter (where wait <= 7)::int as le7,
				count(*) filter (where wait between 8 and 15)::int as d8_15,
				count(*) filter (where wait between 16 and 30)::int as d16_30,
				count(*) filter (where wait between 31 and 60)::int as d31_60,
				count(*) filter (where wait > 60)::int as gt60,
				count(*) filter (where waited and wait is null)::int as none,
				count(*) filter (where overdue)::int as overdue,
				${groupBy === 'microstructure' ? sql`case when grouping(u.unit_id) = 0 then array_agg(u.code) filter (where overdue) end` : sql`null::text[]`} as overdue_codes,
				${groupBy === 'microstructure' ? sql`case when grouping(u.unit_id) = 0 then array_agg(u.id::text) filter (where overdue) end` : sql`null::text[]`} as overdue_ids
			from per_patient u
			${groups}
		)
		select key, file_active, passages, patients, le7, d8_15, d16_30, d31_60, gt60, none, overdue,
			(select percentile_cont(0.5) within group (order by w) from unnest(waits) w) as median,
			-- The overdue codes sorted, and their ids in the same order.
			(select array_agg(c order by c) from unnest(overdue_codes) c) as codes,
			(select array_agg(i order by c) from unnest(overdue_codes, overdue_ids) x(c, i)) as ids
		from grouped`;

	const programmeJoin = programme ? sql`join patient p on p.id = a.patient_id and p.programme = ${programme}` : sql``;
	const appointmentsQuery = sql`with ${units},
		per_ms as (
			select a.microstructure_id as ms_id, a.status, a.profession, count(*) as n
			from appointment a
			${programmeJoin}
			where a.microstructure_id = any(${ids}::uuid[]) and a.starts_at >= ${t0} and a.starts_at < ${t1} and a.status in ('venu', 'absent', 'excuse')
			group by 1, 2, 3
		)
		select ${key} as key,
			coalesce(sum(n) filter (where status = 'venu'), 0)::int as venu,
			coalesce(sum(n) filter (where status = 'absent'), 0)::int as absent,
			coalesce(sum(n) filter (where status = 'excuse'), 0)::int as excuse,
			coalesce(sum(n) filter (where status = 'venu' and profession = 'psychologue'), 0)::int as c_psychologue,
			coalesce(sum(n) filter (where status = 'venu' and profession = 'travailleur_social'), 0)::int as c_travailleur_social,
			coalesce(sum(n) filter (where status = 'venu' and profession = 'psychiatre'), 0)::int as c_psychiatre
		from per_ms a join units u on u.ms_id = a.ms_id
		${groups}`;

	// Expected sessions: each microstructure's latest template frequency, then summed. Both figures
	// are probes per microstructure on the index (microstructure_id, starts_at): the latest session
	// is the first one read backwards, instead of sorting every session of every microstructure.
	const rcpQuery = sql`with ${units},
		per_ms as (
			select u.unit_id, u.ms_id, h.held, f.frequency,
				floor(${days}::numeric * (case f.frequency when 'hebdomadaire' then 52 when 'bimensuelle' then 26 when 'mensuelle' then 12
					when 'bimestrielle' then 6 when 'trimestrielle' then 4 end) / 365 + 0.000000001)::int as expected
			from units u
			cross join lateral (
				select count(*)::int as held from rcp_session s
				where s.microstructure_id = u.ms_id and s.status = 'cloturee' and s.starts_at >= ${t0} and s.starts_at < ${t1} ${progSession}
			) h
			left join lateral (
				select s.template->>'minFrequency' as frequency from rcp_session s
				where s.microstructure_id = u.ms_id and s.starts_at < ${t1} and s.status <> 'annulee' ${progSession}
				order by s.starts_at desc
				limit 1
			) f on true
		)
		select ${key} as key, sum(held)::int as held, sum(expected)::int as expected, min(frequency) as frequency
		from per_ms u
		${groups}`;

	// Without a programme, a passage belongs to its session's microstructure (an RCP shows only that
	// microstructure's patients; with a programme, see patientsQuery). A few microstructures (a
	// network) read their sessions' passages; many (the national view) count the period's passages
	// by session first (index on (on_date, session_id): ~120,000 entries read in order, no hashing),
	// which makes the join to the sessions ten times smaller.
	const passagesQuery =
		ids.length <= FEW_MICROSTRUCTURES
			? sql`with ${units}
				select ${key} as key, count(*)::int as passages
				from units u join rcp_session s on s.microstructure_id = u.ms_id join rcp_passage r on r.session_id = s.id
				where r.on_date between ${from}::date and ${to}::date
				${groups}`
			: sql`with ${units},
				per_session as (
					select r.session_id, count(*) as n from rcp_passage r where r.on_date between ${from}::date and ${to}::date group by r.on_date, r.session_id
				)
				select ${key} as key, coalesce(sum(ps.n), 0)::int as passages
				from per_session ps join rcp_session s on s.id = ps.session_id join units u on u.ms_id = s.microstructure_id
				${groups}`;

	const missingQuery = sql`with ${units},
		months as (
			select m::date as m_start, greatest(m::date, ${from}::date) as a, least((m + interval '1 month')::date - 1, ${to}::date) as b
			from generate_series(date_trunc('month', ${from}::date), date_trunc('month', ${to}::date), interval '1 month') m
		),
		prof(profession) as (values ('psychologue'), ('travailleur_social')),
		missing as (
			select u.unit_id, months.m_start, prof.profession
			from units u cross join months cross join prof
			where not exists (
				select 1 from membership mb join app_user au on au.id = mb.user_id
				where mb.microstructure_id = u.ms_id and mb.role = 'soignant' and au.profession = prof.profession
					and mb.starts_on <= months.b and (mb.ends_on is null or mb.ends_on >= months.a)
			)
		)
		select ${key} as key,
			count(*) filter (where profession = 'psychologue')::int as psychologue,
			count(*) filter (where profession = 'travailleur_social')::int as travailleur_social,
			array_agg(to_char(m_start, 'YYYY-MM') order by m_start) filter (where profession = 'psychologue') as psychologue_months,
			array_agg(to_char(m_start, 'YYYY-MM') order by m_start) filter (where profession = 'travailleur_social') as travailleur_social_months
		from missing u
		${groups}`;

	const [names, eventRows, included, patients, appointments, rcp, missing, passages] = await Promise.all(
		[namesQuery, eventsQuery, includedQuery, patientsQuery, appointmentsQuery, rcpQuery, missingQuery, ...(programme ? [] : [passagesQuery])].map(run)
	);

	result.units = names.map((r) => emptyUnit(String(r.id), String(r.name)));
	const byKey = new Map<string, UnitIndicators>(result.units.map((u) => [u.id, u]));
	byKey.set('total', result.total);
	const each = (rows: Row[], apply: (u: UnitIndicators, r: Row) => void) => {
		for (const r of rows) {
			const unit = byKey.get(r.key);
			if (unit) apply(unit, r);
		}
	};

	const events = eventRows.filter((r) => r.month === null);
	const monthly = eventRows.filter((r) => r.month !== null);
	each(events, (u, r) => {
		u.inclusions = n(r.inclusions);
		u.reinclusions = n(r.reinclusions);
		u.renewals = n(r.renewals);
		u.exits = n(r.exits);
		u.transfers = n(r.transfers);
		for (const reason of EXIT_REASONS) u.exitsByReason[reason] = n(r[`exit_${reason}`]);
	});
	const monthIndex = new Map(result.inclusionsByMonth.map((m) => [m.month, m]));
	for (const r of monthly) {
		const month = monthIndex.get(String(r.month));
		if (!month) continue;
		if (r.key === 'total') month.total = n(r.inclusions);
		else if (n(r.inclusions) > 0) month.byUnit[r.key] = n(r.inclusions);
	}
	each(included, (u, r) => {
		u.includedPatients = n(r.included);
		u.women = n(r.women);
		u.precarite = n(r.precarite);
		for (const band of AGE_BANDS) u.ageBands[band] = n(r[band]);
		for (const o of ORIENTATIONS) u.orientations[o] = n(r[`o_${o}`]);
	});
	each(appointments, (u, r) => {
		u.appointments.venu = n(r.venu);
		u.appointments.absent = n(r.absent);
		u.appointments.excuse = n(r.excuse);
		for (const p of CONSULTATION_PROFESSIONS) u.consultations[p] = n(r[`c_${p}`]);
	});
	each(patients, (u, r) => {
		u.fileActive = n(r.file_active);
		u.firstContact.patients = n(r.patients);
		u.firstContact.medianDays = r.median === null || r.median === undefined ? null : Number(r.median);
		for (const b of WAIT_BUCKETS) u.firstContact.buckets[b] = n(r[b]);
		u.rcp.overdue = n(r.overdue);
		u.rcp.overdueCodes = (r.codes as string[] | null) ?? [];
		u.rcp.overduePatientIds = (r.ids as string[] | null) ?? [];
	});
	each(rcp, (u, r) => {
		u.rcp.held = n(r.held);
		u.rcp.expected = r.expected === null || r.expected === undefined ? null : Number(r.expected);
		u.rcp.frequency = groupBy === 'microstructure' && u.id !== 'total' ? ((r.frequency as RcpFrequency | null) ?? null) : null;
	});
	// With a programme, the patient pass counted them.
	each(programme ? patients : passages, (u, r) => (u.rcp.passages = n(r.passages)));
	each(missing, (u, r) => {
		for (const p of MISSING_PROFESSIONS) {
			u.missingMonths[p] = n(r[p]);
			if (groupBy === 'microstructure' && u.id !== 'total') u.missingMonthList[p] = (r[`${p}_months`] as string[] | null) ?? [];
		}
	});

	for (const u of [...result.units, result.total]) {
		u.womenShare = ratio(u.women, u.includedPatients);
		u.precariteShare = ratio(u.precarite, u.includedPatients);
		for (const p of CONSULTATION_PROFESSIONS) u.consultationsPerPatient[p] = ratio(u.consultations[p], u.fileActive);
		u.appointments.noShowRate = ratio(u.appointments.absent, u.appointments.venu + u.appointments.absent + u.appointments.excuse);
		u.rcp.passagesPerPatient = ratio(u.rcp.passages, u.fileActive);
	}
	return result;
}
