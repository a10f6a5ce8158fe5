// The yearly activity report of a network (policy 'cockpit.reports'): the figures the
// administrative coordinator sends to the funders every year, per microstructure and for the
// network. The figures come from the cockpit's indicators (computeIndicators, SQL on the main
// thread); the PDF with its charts is laid out in a render worker (render/activity-report-pdf.ts).
// The report holds counts and ratios only — no patient code, not even of overdue patients.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { can, type Actor } from '../access/policy.ts';
import { computeIndicators, type UnitIndicators } from './indicators.ts';

export interface ReportUnit {
	name: string;
	fileActive: number;
	inclusions: number;
	reinclusions: number;
	renewals: number;
	exits: number;
	transfers: number;
	includedPatients: number;
	womenShare: number | null;
	precariteShare: number | null;
	consultations: { psychologue: number; travailleur_social: number; psychiatre: number };
	consultationsPerPatient: { psychologue: number | null; travailleur_social: number | null; psychiatre: number | null };
	noShowRate: number | null;
	firstContactMedianDays: number | null;
	rcpHeld: number;
	rcpExpected: number | null;
	passages: number;
	passagesPerPatient: number | null;
	overdue: number;
}

export interface ActivityReport {
	network: string;
	year: number;
	from: string;
	to: string;
	generatedOn: string;
	units: ReportUnit[];
	total: ReportUnit;
	/** Inclusions of the network per month ('YYYY-MM'). */
	months: { month: string; total: number }[];
}

/** Only what the report prints: plain numbers (the overdue patients' codes stay out). */
export function reportUnit(u: UnitIndicators, name = u.name): ReportUnit {
	return {
		name,
		fileActive: u.fileActive,
		inclusions: u.inclusions,
		reinclusions: u.reinclusions,
		renewals: u.renewals,
		exits: u.exits,
		transfers: u.transfers,
		includedPatients: u.includedPatients,
		womenShare: u.womenShare,
		precariteShare: u.precariteShare,
		consultations: { ...u.consultations },
		consultationsPerPatient: { ...u.consultationsPerPatient },
		noShowRate: u.appointments.noShowRate,
		firstContactMedianDays: u.firstContact.medianDays,
		rcpHeld: u.rcp.held,
		rcpExpected: u.rcp.expected,
		passages: u.rcp.passages,
		passagesPerPatient: u.rcp.passagesPerPatient,
		overdue: u.rcp.overdue
	};
}

/** The years a report can be asked for: from the network's first inclusion (at most 15 years back) to this year, newest first. */
export async function reportYears(db: Db, networkId: string, today: string): Promise<number[]> {
	const current = Number(today.slice(0, 4));
	const { rows } = await sql<{ first: string | null }>`
		select min(e.occurred_on)::text as first from patient_event e
		join patient p on p.id = e.patient_id join microstructure m on m.id = p.microstructure_id
		where m.network_id = ${networkId} and e.kind in ('include', 'reinclude')`.execute(db);
	const first = rows[0]?.first ? Number(rows[0].first.slice(0, 4)) : current;
	const years: number[] = [];
	for (let y = current; y >= Math.max(first, current - 14); y--) years.push(y);
	return years;
}

/**
 * The figures of the network's report for a year, or null when the actor may not have them. Counts
 * the microstructures that were not archived before the year began.
 */
export async function activityReport(db: Db, actor: Actor, network: { id: string; name: string }, year: number, today: string): Promise<ActivityReport | null> {
	if (!can(actor, 'cockpit.reports', { networkId: network.id })) return null;
	const from = `${year}-01-01`;
	const to = `${year}-12-31`;
	const microstructures = await db
		.selectFrom('microstructure')
		.select('id')
		.where('network_id', '=', network.id)
		.where((eb) => eb.or([eb('archived_at', 'is', null), eb('archived_at', '>=', new Date(`${from}T00:00:00Z`))]))
		.execute();
	const indicators = await computeIndicators(db, { microstructureIds: microstructures.map((m) => m.id), from, to, programme: null });
	return {
		network: network.name,
		year,
		from,
		to,
		generatedOn: today,
		units: indicators.units.map((u) => reportUnit(u)),
		total: reportUnit(indicators.total, network.name),
		months: indicators.inclusionsByMonth.map((m) => ({ month: m.month, total: m.total }))
	};
}
