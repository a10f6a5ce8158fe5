// What the PPS pages share: the patient (read audited), the actor's access to the plan, and the
// people an action or a rhythm of sessions can be given to.
import { error, type RequestEvent } from '@sveltejs/kit';
import { sql } from 'kysely';
import { getDb } from '../db/index.ts';
import { ppsDecision } from '../access/policy.ts';
import { patientOf } from '../patients/guard.ts';
import { careTeam } from '../patients/patients.ts';
import { messages } from '../../i18n/index.ts';
import { ppsDocName, resolvePatientRef } from './pps.ts';

export async function ppsContext(event: RequestEvent, purpose = 'pps') {
	const base = await patientOf(event, purpose);
	const ref = await resolvePatientRef(getDb(), base.patient.id);
	if (!ref) error(404, { message: 'Page introuvable' });
	// The decision carries why the plan is read-only, for the page to say (never re-derived there).
	const decision = ppsDecision(base.actor, ref);
	const access = decision.access;
	if (access === 'none') error(404, { message: 'Page introuvable' });
	return { ...base, patientRef: ref, access, decision, docName: ppsDocName(base.patient.id) };
}

/** Care team first, then the other clinicians of the microstructure, then external partners. */
export async function ownersFor(event: RequestEvent, patientId: string, msId: string) {
	const t = messages(event.locals.locale);
	const db = getDb();
	const [team, clinicians] = await Promise.all([
		careTeam(db, patientId),
		db
			.selectFrom('membership as m')
			.innerJoin('app_user as u', 'u.id', 'm.user_id')
			.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
			.where('m.microstructure_id', '=', msId)
			.where('m.role', 'in', ['soignant', 'coordination'])
			.where(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`)
			.orderBy('u.last_name')
			.execute()
	]);
	const seen = new Set<string>();
	const people = [...team.members, ...clinicians].filter((m) => !seen.has(m.id) && seen.add(m.id));
	return [
		...people.map((m) => ({ id: m.id, label: `${m.first_name} ${m.last_name} (${t.professions[m.profession]})` })),
		...team.partners.map((p) => ({ id: `partner:${p.id}`, label: `${p.name} (${p.role})` }))
	];
}
