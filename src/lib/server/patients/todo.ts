// The "À faire" rules, as a pure function of patient rows and a date, so they can be tested with
// fixed dates; patients.ts feeds it from the database.
import { addDays } from './lifecycle.ts';
import type { NirStatus, PatientState } from '../db/schema.ts';

export interface TodoRow {
	id: string;
	code: string;
	microstructure_id: string;
	state: PatientState;
	included_on: string | null;
	renewal_due_on: string | null;
	last_contact_on: string | null;
	consent_method: string | null;
	has_consent_document: boolean;
	nir_status: NirStatus | null;
	/** A missed appointment not followed up yet (booking/no-shows.ts noShowToFollowUp). */
	no_show_on?: string | null;
}

export type TodoKind = 'renewal_overdue' | 'renewal_due' | 'missing_consent' | 'missing_nir' | 'no_first_contact' | 'lost_to_follow_up' | 'no_show';

export interface TodoItem {
	kind: TodoKind;
	patientId: string;
	code: string;
	microstructureId: string;
	/** The date the item is about (due date, last contact…). */
	date: string | null;
}

export const RENEWAL_NOTICE_DAYS = 30;
export const FIRST_CONTACT_DAYS = 30;
export const LOST_AFTER_DAYS = 90;

export function todoItems(rows: TodoRow[], today: string, options: { billing: (microstructureId: string) => boolean }): TodoItem[] {
	const items: TodoItem[] = [];
	for (const r of rows) {
		if (r.state !== 'inclus' && r.state !== 'en_suivi') continue;
		const base = { patientId: r.id, code: r.code, microstructureId: r.microstructure_id };
		if (r.renewal_due_on && r.renewal_due_on < today) items.push({ ...base, kind: 'renewal_overdue', date: r.renewal_due_on });
		else if (r.renewal_due_on && r.renewal_due_on <= addDays(today, RENEWAL_NOTICE_DAYS)) items.push({ ...base, kind: 'renewal_due', date: r.renewal_due_on });
		if (r.consent_method === 'formulaire_signe' && !r.has_consent_document) items.push({ ...base, kind: 'missing_consent', date: r.included_on });
		if (options.billing(r.microstructure_id) && (r.nir_status === null || r.nir_status === 'provisoire')) {
			items.push({ ...base, kind: 'missing_nir', date: r.included_on });
		}
		const lastContact = r.last_contact_on ?? r.included_on;
		if (r.state === 'inclus' && r.included_on && r.included_on <= addDays(today, -FIRST_CONTACT_DAYS)) {
			items.push({ ...base, kind: 'no_first_contact', date: r.included_on });
		}
		// Two no-shows in a row, or a first appointment missed: take contact again (until rebooked).
		if (r.no_show_on) items.push({ ...base, kind: 'no_show', date: r.no_show_on });
		if (lastContact && lastContact <= addDays(today, -LOST_AFTER_DAYS)) items.push({ ...base, kind: 'lost_to_follow_up', date: lastContact });
	}
	const order: TodoKind[] = ['renewal_overdue', 'no_show', 'lost_to_follow_up', 'no_first_contact', 'renewal_due', 'missing_consent', 'missing_nir'];
	return items.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.date ?? '').localeCompare(b.date ?? ''));
}
