// The per-patient control file (fichier de contrôle): what the billing of a patient's packages rests
// on — inclusion dates, consultations actually held per professional, RCP passages, renewals and
// the exit — in one place the coordinator and the practice can check line by line (domain §7).
// Read for a patient the caller has already opened through the patient guard (policy
// 'patient.read'); the NIR is never part of it. Shown as a page, a CSV and a PDF (render worker).
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { AppointmentStatus, ExitReason, Patient, Profession, RcpDecision } from '../db/schema.ts';
import type { WithCockpit as Messages } from '../../i18n/cockpit.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { csvDocument } from '../csv.ts';

export interface ControlFileConsultations {
	professionalId: string;
	name: string;
	profession: Profession;
	/** Paris days of the appointments held ('venu'), oldest first. */
	held: string[];
	absent: string[];
	excused: string[];
}

export interface ControlFile {
	patient: {
		id: string;
		code: string;
		/** Name as the record shows it, or the code once anonymised. */
		label: string;
		programme: Patient['programme'];
		state: Patient['state'];
		microstructure: string;
	};
	/** Inclusions and re-inclusions, oldest first. */
	inclusions: { kind: 'include' | 'reinclude'; on: string }[];
	consultations: ControlFileConsultations[];
	totals: { held: number; absent: number; excused: number };
	rcp: { on: string; decision: RcpDecision }[];
	renewals: string[];
	renewalDueOn: string | null;
	/** Exits and transfers, oldest first ('transfert' for a transfer to another microstructure). */
	exits: { on: string; reason: ExitReason | 'transfert' | null }[];
	generatedOn: string;
}

const STATUSES: AppointmentStatus[] = ['venu', 'absent', 'excuse'];

export async function controlFile(
	db: Db,
	patient: Pick<Patient, 'id' | 'code' | 'last_name' | 'first_name' | 'anonymised_at' | 'programme' | 'state' | 'renewal_due_on' | 'exited_on' | 'exit_reason'>,
	microstructure: string,
	today: string
): Promise<ControlFile> {
	const [events, appointments, passages] = await Promise.all([
		db
			.selectFrom('patient_event')
			.select(['kind', 'occurred_on', 'details'])
			.where('patient_id', '=', patient.id)
			.where('kind', 'in', ['include', 'reinclude', 'renew', 'exit', 'transfer'])
			.orderBy('occurred_on')
			.orderBy('recorded_at')
			.execute(),
		db
			.selectFrom('appointment as a')
			.innerJoin('app_user as u', 'u.id', 'a.professional_id')
			.select([
				'a.professional_id',
				'a.profession',
				'a.status',
				'u.first_name',
				'u.last_name',
				sql<string>`(a.starts_at at time zone 'Europe/Paris')::date`.as('day')
			])
			.where('a.patient_id', '=', patient.id)
			.where('a.status', 'in', STATUSES)
			.orderBy('a.starts_at')
			.execute(),
		db.selectFrom('rcp_passage').select(['on_date', 'decision']).where('patient_id', '=', patient.id).orderBy('on_date').execute()
	]);

	const byProfessional = new Map<string, ControlFileConsultations>();
	for (const a of appointments) {
		// One line per professional and profession (someone may have seen the patient in two roles).
		const key = `${a.professional_id}:${a.profession}`;
		let line = byProfessional.get(key);
		if (!line) byProfessional.set(key, (line = { professionalId: a.professional_id, name: `${a.first_name} ${a.last_name}`, profession: a.profession, held: [], absent: [], excused: [] }));
		(a.status === 'venu' ? line.held : a.status === 'absent' ? line.absent : line.excused).push(a.day);
	}
	const consultations = [...byProfessional.values()].sort((a, b) => a.profession.localeCompare(b.profession) || a.name.localeCompare(b.name, 'fr'));
	const sum = (f: (c: ControlFileConsultations) => string[]) => consultations.reduce((n, c) => n + f(c).length, 0);

	const exits = events
		.filter((e) => e.kind === 'exit' || e.kind === 'transfer')
		.map((e) => ({ on: e.occurred_on, reason: e.kind === 'transfer' ? ('transfert' as const) : ((e.details as { reason?: ExitReason }).reason ?? null) }));
	// A record exited before events were kept still shows its exit (the record's own fields).
	if (exits.length === 0 && patient.exited_on) exits.push({ on: patient.exited_on, reason: patient.state === 'transfere' ? 'transfert' : patient.exit_reason });

	return {
		patient: {
			id: patient.id,
			code: patient.code,
			label: patient.anonymised_at ? patient.code : `${patient.last_name?.toUpperCase() ?? ''} ${patient.first_name ?? ''}`.trim() || patient.code,
			programme: patient.programme,
			state: patient.state,
			microstructure
		},
		inclusions: events.filter((e) => e.kind === 'include' || e.kind === 'reinclude').map((e) => ({ kind: e.kind as 'include' | 'reinclude', on: e.occurred_on })),
		consultations,
		totals: { held: sum((c) => c.held), absent: sum((c) => c.absent), excused: sum((c) => c.excused) },
		rcp: passages.map((p) => ({ on: p.on_date, decision: p.decision })),
		renewals: events.filter((e) => e.kind === 'renew').map((e) => e.occurred_on),
		renewalDueOn: patient.state === 'inclus' || patient.state === 'en_suivi' ? patient.renewal_due_on : null,
		exits,
		generatedOn: today
	};
}

/** The label of an exit reason (or of a transfer). */
export function exitLabel(t: Messages, reason: ControlFile['exits'][number]['reason']): string {
	if (reason === null) return '—';
	if (reason === 'transfert') return t.reports.control.transfer;
	return reason === 'autre' ? t.reports.control.otherReason : t.patients.exitReasons[reason];
}

/**
 * The control file as CSV: one line per fact (an inclusion, a consultation held, a missed one, an
 * RCP passage…), so that a spreadsheet can filter and count them. Columns documented in the header.
 */
export function controlFileCsv(file: ControlFile, t: Messages): string {
	const c = t.reports.control;
	const rows: (string | number)[][] = [];
	for (const i of file.inclusions) rows.push([i.kind === 'include' ? 'inclusion' : 'reinclusion', i.on, '', '', '']);
	for (const line of file.consultations) {
		const profession = t.professions[line.profession];
		for (const d of line.held) rows.push(['consultation', d, line.name, profession, '']);
		for (const d of line.absent) rows.push(['absence', d, line.name, profession, '']);
		for (const d of line.excused) rows.push(['excuse', d, line.name, profession, '']);
	}
	for (const p of file.rcp) rows.push(['rcp', p.on, '', '', t.rcp.decisions[p.decision]]);
	for (const d of file.renewals) rows.push(['renouvellement', d, '', '', '']);
	if (file.renewalDueOn) rows.push(['prochaine_echeance', file.renewalDueOn, '', '', '']);
	for (const e of file.exits) rows.push([e.reason === 'transfert' ? 'transfert' : 'sortie', e.on, '', '', exitLabel(t, e.reason)]);
	return csvDocument(
		[
			`${c.title} — ${file.patient.code} — ${file.patient.microstructure} — ${file.generatedOn}`,
			...c.csvColumns
		],
		['rubrique', 'date', 'professionnel', 'profession', 'detail'],
		rows
	);
}

/** Every view and download of a control file is in the audit log, with its format. */
export function auditControlFile(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string, format: 'page' | 'csv' | 'pdf') {
	return audit(db, ctx, { action: 'patient.control_file', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId, details: { format } });
}

/** A patient code as a file name (codes are generated, but a file name must never carry a quote or a slash). */
export function fileSafe(code: string): string {
	return code.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60) || 'patient';
}
