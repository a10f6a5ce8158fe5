import { sql, type Kysely } from 'kysely';

// Honest RCP attendance and sessions moved in time.
// - Presence in a live session is accounted in the database (not in a process's memory), so that it
//   survives a restart and adds up across several processes: the seconds a person has been connected
//   as a participant, cumulated across reconnections; when one of their participant connections was
//   last seen (null: none open) and where from; whether they were there when a decision was taken.
// - A session of a series may be moved (to today, when it is started on another day): the series'
//   occurrence it stands for is kept, so that the series does not create that occurrence again.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	alter table rcp_participant
		add column present_seconds double precision not null default 0 check (present_seconds >= 0),
		add column seen_at timestamptz,
		add column seen_place text check (seen_place in ('present','distance')),
		add column at_decision boolean not null default false;

	-- Attendance derived from the old rule (any presence, even for seconds) in sessions still live is
	-- dropped: it is derived again from the time accounted from now on. Corrections are kept.
	update rcp_participant p set attendance = null
		from rcp_session s
		where s.id = p.session_id and s.status = 'en_cours' and p.attendance_set_by is null;

	alter table rcp_session add column occurrence_at timestamptz;
	alter table rcp_session drop constraint rcp_session_series_id_starts_at_key;
	create unique index rcp_session_occurrence on rcp_session(series_id, coalesce(occurrence_at, starts_at));
	`.execute(db);
}
