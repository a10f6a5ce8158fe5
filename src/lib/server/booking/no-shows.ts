// No-shows as a clinical signal (issue 12, point 4), never a sanction: computed from the attendance
// marks, as SQL fragments the RCP agenda (rcp/sessions.ts) and the "À faire" (patients/patients.ts)
// select per patient. No imports from the domain, so that both can use it without a cycle.
import { sql, type RawBuilder } from 'kysely';

/**
 * The date (Paris) of a patient's latest no-show when it is a clinical signal: the two latest
 * marked appointments ('venu', 'excuse' or 'absent') are both 'absent', or the latest is an
 * 'absent' first contact. Null otherwise. `patientId` is a column reference such as 'p.id'.
 * An excused absence breaks the series; an honoured appointment ends the signal.
 */
export function noShowOn(patientId: string): RawBuilder<string | null> {
	return sql<string | null>`(
		select case when m.st[1] = 'absent' and (m.kd[1] = 'premier_contact' or m.st[2] = 'absent')
			then to_char(m.at[1] at time zone 'Europe/Paris', 'YYYY-MM-DD') end
		from (
			select array_agg(x.status order by x.starts_at desc) as st, array_agg(x.kind order by x.starts_at desc) as kd, array_agg(x.starts_at order by x.starts_at desc) as at
			from (select a.status, a.kind, a.starts_at from appointment a
				where a.patient_id = ${sql.ref(patientId)} and a.status in ('venu', 'excuse', 'absent')
				order by a.starts_at desc limit 2) x
		) m
	)`;
}

/**
 * The GP's "À faire": the no-show signal until the patient has a new appointment planned after it
 * (taking contact again and rebooking is what the item asks for).
 */
export function noShowToFollowUp(patientId: string): RawBuilder<string | null> {
	return sql<string | null>`(
		select s.on_date from (select ${noShowOn(patientId)} as on_date) s
		where s.on_date is not null and not exists (
			select 1 from appointment b
			where b.patient_id = ${sql.ref(patientId)} and b.status = 'prevu' and (b.starts_at at time zone 'Europe/Paris')::date >= s.on_date::date
		)
	)`;
}

