// The patient as the booking screens need them: name, code and who may see them, never a motive or
// a programme's detail. Those who book (booking.book: the care team, the secretariat, the
// coordination) see the name of the patient they book for; the secretariat has no patient record,
// so this is its only way to a patient, and each read is audited like a record's.
// Written by the booking pages' helper (BOOKUI) beside APPT's appointments.ts: small reads only.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { AuditContext } from '../audit/audit.ts';
import { audit } from '../audit/audit.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { isUuid } from '../org/microstructures.ts';
import { patientLabel } from '../patients/patients.ts';
import type { PatientState, Profession, Programme } from '../db/schema.ts';

/** The professions that hold permanences (appointments are booked with them). */
export const BOOKED_PROFESSIONS = ['psychologue', 'travailleur_social', 'psychiatre'] as const satisfies readonly Profession[];

export interface BookingPatient {
	id: string;
	code: string;
	name: string;
	state: PatientState;
	programme: Programme;
	/** Still followed here: new appointments may be booked. */
	active: boolean;
	/** The care team's members who hold permanences (the professionals the patient is oriented to). */
	professionals: { id: string; name: string; profession: Profession }[];
	/** The professions the orientation names (for the waiting list when nobody is in the team yet). */
	orientedTo: Profession[];
	/** The patient's open places on the waiting list. */
	waiting: { id: string; profession: Profession; weekdays: number[]; periods: string[]; createdAt: Date }[];
}

const ORIENTED: Record<string, Profession[]> = { psychologue: ['psychologue'], travailleur_social: ['travailleur_social'], les_deux: ['psychologue', 'travailleur_social'] };

/** One patient of the microstructure, for booking (the caller checked booking.book or booking.read). */
export async function bookingPatient(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string): Promise<BookingPatient | undefined> {
	if (!isUuid(patientId)) return undefined;
	const p = await db
		.selectFrom('patient')
		.select(['id', 'code', 'last_name', 'first_name', 'anonymised_at', 'state', 'programme', 'orientation'])
		.where('id', '=', patientId)
		.where('microstructure_id', '=', ms.id)
		.executeTakeFirst();
	if (!p) return undefined;
	const team = await db
		.selectFrom('patient_team_member as t')
		.innerJoin('app_user as u', 'u.id', 't.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.where('t.patient_id', '=', p.id)
		.where('u.profession', 'in', [...BOOKED_PROFESSIONS])
		.orderBy('u.profession')
		.orderBy('u.last_name')
		.execute();
	const waiting = await db
		.selectFrom('waiting_entry')
		.select(['id', 'profession', 'weekdays', 'periods', 'created_at'])
		.where('patient_id', '=', p.id)
		.where('microstructure_id', '=', ms.id)
		.where('resolved_at', 'is', null)
		.where('removed_at', 'is', null)
		.orderBy('created_at')
		.execute();
	await audit(db, ctx, { action: 'patient.read', targetType: 'patient', targetId: p.id, microstructureId: ms.id, networkId: ms.networkId, details: { purpose: 'booking' } });
	return {
		id: p.id,
		code: p.code,
		name: patientLabel(p),
		state: p.state,
		programme: p.programme,
		active: !p.anonymised_at && (p.state === 'inclus' || p.state === 'en_suivi'),
		professionals: team.map((m) => ({ id: m.id, name: `${m.first_name} ${m.last_name}`, profession: m.profession })),
		orientedTo: ORIENTED[p.orientation ?? ''] ?? [],
		waiting: waiting.map((w) => ({ id: w.id, profession: w.profession, weekdays: w.weekdays, periods: w.periods, createdAt: w.created_at }))
	};
}

export const SEARCH_MAX = 20;

/**
 * Patients of the microstructure who may be booked (included or followed), by name or code, for
 * the secretariat and the coordination's "book for a patient". Names are folded like the patient
 * list's search (patient_name_key). The search and the names it returned are audited.
 */
export async function searchBookablePatients(db: Db, ctx: AuditContext, ms: MicrostructureRef, query: string): Promise<{ id: string; code: string; name: string }[]> {
	const q = query.trim().slice(0, 100);
	if (q.length < 2) return [];
	const escape = (v: string) => v.replace(/[\\%_]/g, (c) => `\\${c}`);
	const { rows: keys } = await sql<{ key: string | null }>`select patient_name_key(${q}) as key`.execute(db);
	const key = keys[0]?.key ?? '';
	const like = `%${escape(key)}%`;
	const rows = await db
		.selectFrom('patient')
		.select(['id', 'code', 'last_name', 'first_name', 'anonymised_at'])
		.where('microstructure_id', '=', ms.id)
		.where('state', 'in', ['inclus', 'en_suivi'])
		.where('anonymised_at', 'is', null)
		.where((eb) =>
			eb.or([
				eb(sql`lower(code)`, '=', q.toLowerCase()),
				...(key
					? [eb('last_name_key', 'like', like), eb('first_name_key', 'like', like), eb(sql`last_name_key || first_name_key`, 'like', like), eb(sql`first_name_key || last_name_key`, 'like', like)]
					: [])
			])
		)
		.orderBy(sql`lower(last_name)`)
		.orderBy(sql`lower(first_name)`)
		.limit(SEARCH_MAX)
		.execute();
	// A list of names is a read of patient data, audited like the patient list (patient.list).
	await audit(db, ctx, {
		action: 'patient.list',
		targetType: 'microstructure',
		targetId: ms.id,
		microstructureId: ms.id,
		networkId: ms.networkId,
		details: { purpose: 'booking_search', count: rows.length, patients: rows.map((r) => r.id) }
	});
	return rows.map((r) => ({ id: r.id, code: r.code, name: patientLabel(r) }));
}
