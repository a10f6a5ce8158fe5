import { sql, type Kysely } from 'kysely';

// The cockpit's national view (issue 14, bench/cockpit.ts) reads whole periods of RCP passages and
// appointments; these indexes let it read them from the index alone.
// - RCP passages by date, with the session and the patient: the passages of a period counted by
//   session (read in (on_date, session_id) order, grouped without hashing), those of a programme
//   joined to their patient, and the followed patients with a passage in the last 90 days (overdue).
// - The attendance index of 0011 now also carries the patient: with a programme, each appointment
//   is kept or not by its patient's programme, which otherwise read ~12,000 heap pages of
//   `appointment` per national view. It replaces the 0011 index (same key, same rows).
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create index rcp_passage_date on rcp_passage(on_date, session_id) include (patient_id);
	create index appointment_attendance_patient on appointment(microstructure_id, starts_at) include (status, profession, patient_id)
		where status in ('venu', 'absent', 'excuse');
	drop index appointment_attendance;
	`.execute(db);
}
