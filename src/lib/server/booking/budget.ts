// The yearly budget (issue 12, point 8): consultations honoured per profession in the patient's
// current inclusion year, against the programme's yearly package (programme_budget, e.g. MSMA: 7
// with the psychologist, 6 with the social worker). The inclusion year runs from the inclusion or
// the last renewal to the next renewal date (patient.renewal_due_on); a patient who has left keeps
// the year that ended with them. Shown on the record and while booking, with a warning before a
// booking goes past the package (planned appointments count as they will use it).
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { Profession, Programme } from '../db/schema.ts';
import { addYears } from '../patients/lifecycle.ts';
import { isUuid } from '../org/microstructures.ts';

export interface BudgetLine {
	profession: Profession;
	perYear: number;
	/** Appointments marked 'venu' in the inclusion year. */
	honoured: number;
	/** Appointments still planned in the inclusion year. */
	planned: number;
	/** perYear - honoured - planned, never below 0. */
	remaining: number;
	/** One more booking would go past the package. */
	full: boolean;
	/** Honoured consultations already past the package. */
	over: boolean;
}

export interface Budget {
	programme: Programme;
	/** The inclusion year, [yearFrom, yearTo) as Paris dates. */
	yearFrom: string;
	yearTo: string;
	lines: BudgetLine[];
}

/** The inclusion year containing the patient's current period, or null before any inclusion. */
export function inclusionYear(p: { included_on: string | null; renewal_due_on: string | null; exited_on: string | null }): { from: string; to: string } | null {
	if (p.renewal_due_on) return { from: addYears(p.renewal_due_on, -1), to: p.renewal_due_on };
	if (!p.included_on) return null;
	// Left: the year the exit fell in, counted from the inclusion's anniversaries.
	const end = p.exited_on ?? p.included_on;
	let from = p.included_on;
	while (addYears(from, 1) <= end) from = addYears(from, 1);
	return { from, to: addYears(from, 1) };
}

/**
 * The budget of a patient's current inclusion year, one line per profession the programme pays for
 * (the caller checked the patient is readable or bookable). Null before any inclusion.
 */
export async function budgetFor(db: Db, patientId: string): Promise<Budget | null> {
	if (!isUuid(patientId)) return null;
	const patient = await db.selectFrom('patient').select(['programme', 'included_on', 'renewal_due_on', 'exited_on']).where('id', '=', patientId).executeTakeFirst();
	if (!patient) return null;
	const year = inclusionYear(patient);
	if (!year) return null;
	const { rows } = await sql<{ profession: Profession; per_year: number; honoured: string; planned: string }>`
		select b.profession, b.per_year,
			count(a.id) filter (where a.status = 'venu') as honoured,
			count(a.id) filter (where a.status = 'prevu') as planned
		from programme_budget b
		left join appointment a on a.patient_id = ${patientId} and a.profession = b.profession
			and (a.starts_at at time zone 'Europe/Paris')::date >= ${year.from}::date
			and (a.starts_at at time zone 'Europe/Paris')::date < ${year.to}::date
			and a.status in ('venu', 'prevu')
		where b.programme = ${patient.programme}
		group by b.profession, b.per_year
		order by b.profession
	`.execute(db);
	return {
		programme: patient.programme,
		yearFrom: year.from,
		yearTo: year.to,
		lines: rows.map((r) => {
			const honoured = Number(r.honoured);
			const planned = Number(r.planned);
			return {
				profession: r.profession,
				perYear: r.per_year,
				honoured,
				planned,
				remaining: Math.max(0, r.per_year - honoured - planned),
				full: honoured + planned >= r.per_year,
				over: honoured > r.per_year
			};
		})
	};
}

/** The budget line a booking with this profession would use (null: no package for it). */
export async function budgetLineFor(db: Db, patientId: string, profession: Profession): Promise<BudgetLine | null> {
	return (await budgetFor(db, patientId))?.lines.find((l) => l.profession === profession) ?? null;
}

export interface Consultations {
	profession: Profession;
	/** Honoured in the current inclusion year. */
	honoured: number;
	/** What the programme's package pays for in a year. */
	perYear: number;
}

/**
 * Honoured consultations per profession of each patient's current inclusion year, against the
 * package — what the RCP's case view shows beside each case. One query for every patient.
 */
export async function consultationsFor(db: Db, patientIds: string[]): Promise<Map<string, Consultations[]>> {
	const result = new Map<string, Consultations[]>();
	const ids = [...new Set(patientIds.filter(isUuid))];
	if (ids.length === 0) return result;
	const patients = await db.selectFrom('patient').select(['id', 'programme', 'included_on', 'renewal_due_on', 'exited_on']).where('id', 'in', ids).execute();
	const years = patients.flatMap((p) => {
		const year = inclusionYear(p);
		return year ? [{ id: p.id, programme: p.programme, ...year }] : [];
	});
	if (years.length === 0) return result;
	const { rows } = await sql<{ patient_id: string; profession: Profession; per_year: number; honoured: string }>`
		select y.patient_id, b.profession, b.per_year, count(a.id) as honoured
		from unnest(${years.map((y) => y.id)}::uuid[], ${years.map((y) => y.programme)}::text[], ${years.map((y) => y.from)}::date[], ${years.map((y) => y.to)}::date[])
			as y(patient_id, programme, from_on, to_on)
		join programme_budget b on b.programme = y.programme
		left join appointment a on a.patient_id = y.patient_id and a.profession = b.profession and a.status = 'venu'
			and (a.starts_at at time zone 'Europe/Paris')::date >= y.from_on
			and (a.starts_at at time zone 'Europe/Paris')::date < y.to_on
		group by y.patient_id, b.profession, b.per_year
		order by b.profession
	`.execute(db);
	for (const r of rows) {
		const list = result.get(r.patient_id) ?? [];
		list.push({ profession: r.profession, honoured: Number(r.honoured), perYear: r.per_year });
		result.set(r.patient_id, list);
	}
	return result;
}
