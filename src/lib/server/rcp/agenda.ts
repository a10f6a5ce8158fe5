// The agenda a session proposes by itself, each line saying why it is there (domain §3: the
// quarterly rule, renewals, first contacts, questions from the team, cases carried over). Pure
// functions of patient rows and a date, so the rules are tested with fixed dates.
import { addDays } from '../patients/lifecycle.ts';
import type { PatientState, RcpReason, RcpTemplateContent } from '../db/schema.ts';

export const NOT_DISCUSSED_DAYS = 90;
export const RENEWAL_NOTICE_DAYS = 30;
export const FIRST_CONTACT_DAYS = 30;
/** Minutes kept for each organisational section when estimating how many cases fit. */
export const MINUTES_PER_ORGANISATION_SECTION = 10;

export interface AgendaPatient {
	id: string;
	state: PatientState;
	included_on: string | null;
	renewal_due_on: string | null;
	first_contact_on: string | null;
	/** Date of the last closed RCP that discussed the patient. */
	last_passage_on: string | null;
	/**
	 * Date of the latest no-show when it is a clinical signal (two in a row, or a first appointment
	 * missed: booking/no-shows.ts noShowOn), else null.
	 */
	no_show_on?: string | null;
}

export interface Carried {
	patientId: string;
	code: 'carried_over' | 'a_revoir';
	date: string;
}

export interface Flag {
	patientId: string;
	question: string;
	date: string;
}

export interface Proposal {
	patientId: string;
	reasons: RcpReason[];
}

const PRIORITY: RcpReason['code'][] = ['a_revoir', 'carried_over', 'flagged', 'no_show', 'renewal_due', 'no_first_contact', 'never_discussed', 'not_discussed_90', 'manual'];

/** Why each patient should be discussed at a session held on `sessionDate`, most urgent first. */
export function proposeAgenda(patients: AgendaPatient[], flags: Flag[], carried: Carried[], sessionDate: string): Proposal[] {
	const reasons = new Map<string, RcpReason[]>();
	const add = (patientId: string, reason: RcpReason) => reasons.set(patientId, [...(reasons.get(patientId) ?? []), reason]);
	const active = new Set<string>();
	for (const p of patients) {
		if (p.state !== 'inclus' && p.state !== 'en_suivi') continue;
		active.add(p.id);
		if (p.renewal_due_on && p.renewal_due_on <= addDays(sessionDate, RENEWAL_NOTICE_DAYS)) add(p.id, { code: 'renewal_due', date: p.renewal_due_on });
		if (p.state === 'inclus' && !p.first_contact_on && p.included_on && p.included_on <= addDays(sessionDate, -FIRST_CONTACT_DAYS)) {
			add(p.id, { code: 'no_first_contact', date: p.included_on });
		}
		// A no-show is a signal for the team, never a sanction: on the agenda until an RCP held after it.
		if (p.no_show_on && (!p.last_passage_on || p.last_passage_on < p.no_show_on) && p.no_show_on <= sessionDate) add(p.id, { code: 'no_show', date: p.no_show_on });
		if (!p.last_passage_on) add(p.id, { code: 'never_discussed', date: p.included_on });
		else if (p.last_passage_on < addDays(sessionDate, -NOT_DISCUSSED_DAYS)) add(p.id, { code: 'not_discussed_90', date: p.last_passage_on });
	}
	for (const c of carried) if (active.has(c.patientId)) add(c.patientId, { code: c.code, date: c.date });
	for (const f of flags) if (active.has(f.patientId)) add(f.patientId, { code: 'flagged', date: f.date, question: f.question });

	const rank = (rs: RcpReason[]) => Math.min(...rs.map((r) => PRIORITY.indexOf(r.code)));
	const dateOf = (rs: RcpReason[]) => rs.find((r) => PRIORITY.indexOf(r.code) === rank(rs))?.date ?? '';
	return [...reasons.entries()]
		.map(([patientId, rs]) => ({ patientId, reasons: rs.sort((a, b) => PRIORITY.indexOf(a.code) - PRIORITY.indexOf(b.code)) }))
		.sort((a, b) => rank(a.reasons) - rank(b.reasons) || dateOf(a.reasons).localeCompare(dateOf(b.reasons)) || a.patientId.localeCompare(b.patientId));
}

/** How many cases fit in the session's target duration at the template's minutes per case. */
export function caseCapacity(template: Pick<RcpTemplateContent, 'targetMinutes' | 'minutesPerCase' | 'sections'>): number {
	const organisation = template.sections.filter((s) => s.kind !== 'cas').length * MINUTES_PER_ORGANISATION_SECTION;
	return Math.max(1, Math.floor((template.targetMinutes - organisation) / template.minutesPerCase));
}
