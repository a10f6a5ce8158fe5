// The packages a billing period owes, and the checks each must pass before it is exported.
//
// A package is one yearly inclusion of a patient: the patient_event of an inclusion, a
// re-inclusion or a renewal, dated in the period, in one of the chosen microstructures, that no
// export has billed yet (a line voided by a correction does not count). Every fact comes from
// what the team recorded during care: the pathway, the consent, the NIR, the RCP passages.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { BillingCode, NirStatus, PackageKind, Programme, PsychologistFunding } from '../db/schema.ts';
import { addYears, RENEWAL_WINDOW_DAYS } from '../patients/lifecycle.ts';
import { packageLines, tariffOn, type Tariff } from './tariffs.ts';

export type FailureKind =
	| 'nir_missing'
	| 'nir_refused'
	| 'nir_provisional'
	| 'nir_special'
	| 'consent_missing'
	| 'no_rcp_passage'
	| 'already_covered'
	| 'same_nir'
	| 'no_tariff'
	| 'anonymised';

export interface Failure {
	kind: FailureKind;
	/** For 'already_covered': the start of the package that covers it; for 'same_nir': the other patient's code. */
	detail?: string;
}

export interface Package {
	eventId: string;
	patientId: string;
	patientCode: string;
	microstructureId: string;
	programme: Programme;
	kind: PackageKind;
	start: string;
	failures: Failure[];
	lines: { code: BillingCode; amountCents: number }[];
}

export interface PackageFilter {
	networkId: string;
	from: string;
	to: string;
	microstructureIds: string[];
}

interface CandidateRow {
	event_id: string;
	patient_id: string;
	code: string;
	microstructure_id: string;
	programme: Programme;
	kind: PackageKind;
	start: string;
	consent_on: string | null;
	anonymised: boolean;
	nir_status: NirStatus | null;
	has_nir: boolean;
	funding: PsychologistFunding;
	/** Start of another package of the patient within the year before this one (billed, or in this batch), if any. */
	covered_since: string | null;
	/** RCP passage within the package's year. */
	has_passage: boolean;
	/** Code of another patient with the same NIR and a package in the same year. */
	same_nir_code: string | null;
}

const PACKAGE_KINDS = ['include', 'reinclude', 'renew'] as const;
/** A package starts on its inclusion day, or for a renewal on the anniversary it renews (lifecycle.ts). */
const PACKAGE_START = sql`coalesce((e.details->>'period_from')::date, e.occurred_on)`;
const PACKAGE_START_E2 = sql`coalesce((e2.details->>'period_from')::date, e2.occurred_on)`;

/**
 * The unbilled packages of the period with their failures and their lines. `lockLines` (inside the
 * export's transaction) reads the same set; the export's unique index decides in the end.
 */
export async function pendingPackages(db: Db, filter: PackageFilter, tariffs: Tariff[]): Promise<Package[]> {
	if (filter.microstructureIds.length === 0) return [];
	const rows = await sql<CandidateRow>`
		with candidate as (
			select e.id as event_id, e.patient_id, e.kind, ${PACKAGE_START} as start, p.microstructure_id
			from patient_event e
			join patient p on p.id = e.patient_id
			join microstructure m on m.id = p.microstructure_id
			where e.kind in (${sql.join(PACKAGE_KINDS)})
				-- A renewal may be recorded up to RENEWAL_WINDOW_DAYS before the anniversary it starts.
				and e.occurred_on between ${filter.from}::date - ${RENEWAL_WINDOW_DAYS}::int and ${filter.to}
				and ${PACKAGE_START} between ${filter.from} and ${filter.to}
				and p.microstructure_id in (${sql.join(filter.microstructureIds)})
				and m.network_id = ${filter.networkId}
				and not exists (select 1 from billing_line l where l.patient_event_id = e.id and l.voided_by_run is null)
		),
		-- Packages of the same patients: billed ones, and the other candidates.
		others as (
			select distinct l.patient_id, l.package_start as start, l.patient_event_id as event_id
			from billing_line l where l.voided_by_run is null and l.patient_id in (select patient_id from candidate)
			union
			select patient_id, start, event_id from candidate
		)
		select c.event_id, c.patient_id, p.code, c.microstructure_id, p.programme, c.kind, to_char(c.start, 'YYYY-MM-DD') as start,
			to_char(p.consent_on, 'YYYY-MM-DD') as consent_on, p.anonymised_at is not null as anonymised,
			n.status as nir_status, (n.ciphertext is not null) as has_nir, m.psychologist_funding as funding,
			(select to_char(max(o.start), 'YYYY-MM-DD') from others o
				where o.patient_id = c.patient_id and o.event_id <> c.event_id
					and (o.start < c.start or (o.start = c.start and o.event_id < c.event_id))
					and o.start > c.start - interval '1 year') as covered_since,
			exists (select 1 from rcp_passage r where r.patient_id = c.patient_id
				and r.on_date >= c.start and r.on_date < c.start + interval '1 year') as has_passage,
			(select p2.code from patient_nir n2
				join patient p2 on p2.id = n2.patient_id
				join patient_event e2 on e2.patient_id = p2.id and e2.kind in (${sql.join(PACKAGE_KINDS)})
				where n.nir_index is not null and n2.nir_index = n.nir_index and n2.patient_id <> c.patient_id
					and ${PACKAGE_START_E2} > c.start - interval '1 year' and ${PACKAGE_START_E2} < c.start + interval '1 year'
				limit 1) as same_nir_code
		from candidate c
		join patient p on p.id = c.patient_id
		join microstructure m on m.id = c.microstructure_id
		left join patient_nir n on n.patient_id = c.patient_id
		order by m.name, p.code, c.start
	`.execute(db);
	return rows.rows.map((r) => toPackage(r, tariffs));
}

function toPackage(r: CandidateRow, tariffs: Tariff[]): Package {
	const failures: Failure[] = [];
	if (r.anonymised) failures.push({ kind: 'anonymised' });
	if (r.nir_status === null || (r.nir_status === 'fourni' && !r.has_nir)) failures.push({ kind: 'nir_missing' });
	else if (r.nir_status === 'refuse') failures.push({ kind: 'nir_refused' });
	else if (r.nir_status === 'provisoire') failures.push({ kind: 'nir_provisional' });
	else if (r.nir_status === 'regime_particulier') failures.push({ kind: 'nir_special' });
	if (!r.consent_on) failures.push({ kind: 'consent_missing' });
	if (!r.has_passage) failures.push({ kind: 'no_rcp_passage' });
	if (r.covered_since) failures.push({ kind: 'already_covered', detail: r.covered_since });
	if (r.same_nir_code) failures.push({ kind: 'same_nir', detail: r.same_nir_code });
	const tariff = tariffOn(tariffs, r.programme, r.start);
	if (!tariff) failures.push({ kind: 'no_tariff' });
	return {
		eventId: r.event_id,
		patientId: r.patient_id,
		patientCode: r.code,
		microstructureId: r.microstructure_id,
		programme: r.programme,
		kind: r.kind,
		start: r.start,
		failures,
		lines: tariff ? packageLines(tariff, r.funding) : []
	};
}

export interface Consistency {
	counts: Record<BillingCode, number>;
	/** 18N27C1 = 18N27A1 + 18N27B1 */
	c1: boolean;
	/** 18N27B1 = 18N27B2 */
	b1: boolean;
}

export function consistency(lines: { code: BillingCode }[]): Consistency {
	const counts: Record<BillingCode, number> = { '18N27A1': 0, '18N27B1': 0, '18N27B2': 0, '18N27C1': 0 };
	for (const l of lines) counts[l.code]++;
	return { counts, c1: counts['18N27C1'] === counts['18N27A1'] + counts['18N27B1'], b1: counts['18N27B1'] === counts['18N27B2'] };
}

/** The end of a package's year (the day before its anniversary). */
export function packageEnd(start: string): string {
	const d = new Date(`${addYears(start, 1)}T00:00:00Z`);
	d.setUTCDate(d.getUTCDate() - 1);
	return d.toISOString().slice(0, 10);
}
