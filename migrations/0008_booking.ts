import { sql, type Kysely } from 'kysely';

// Appointment booking on the psychologists' and social workers' permanences.
//
// The invariants live here, in PostgreSQL, so that two secretaries, two tabs or two processes can
// never both succeed:
// - A permanence is a recurring series (weekly or fortnightly, Paris wall-clock times). Its dated
//   occurrences are materialised (`permanence_occurrence`, generated ahead and extended by a job)
//   so that the database itself refuses a professional in two places at once, across
//   microstructures, and a room held twice (exclusion constraints on time ranges, btree_gist).
//   An occurrence is where a one-off room change or an absence lands; the past is never rewritten.
// - An appointment lies inside one live occurrence of its professional (checked in the booking
//   transaction under a share lock of the occurrence row, which absences and series edits lock for
//   update), and PostgreSQL refuses two live appointments of one professional, one room or one
//   patient at the same time. The booking request's key makes a resend book once.
// - A patient's appointments stay in the patient's microstructure (composite foreign key).
// - Reminders are rows written in the booking's transaction; the job queue sends each once.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create extension if not exists btree_gist;

	alter table site add column phone text not null default '';
	alter table room add column archived_at timestamptz;
	create unique index room_name on room(site_id, lower(name)) where archived_at is null;

	-- The patient agreed to reminders (contact and consent recorded on the record).
	alter table patient
		add column reminder_email boolean not null default false,
		add column reminder_sms boolean not null default false;
	alter table patient add constraint patient_id_microstructure unique (id, microstructure_id);

	-- Consultations a programme's yearly package pays for, per profession (maintained by the coordination).
	create table programme_budget (
		programme text not null check (programme in ('MSMA','MSPC')),
		profession text not null,
		per_year smallint not null check (per_year between 0 and 100),
		primary key (programme, profession)
	);
	insert into programme_budget (programme, profession, per_year) values
		('MSMA', 'psychologue', 7), ('MSMA', 'travailleur_social', 6),
		('MSPC', 'psychologue', 7), ('MSPC', 'travailleur_social', 6), ('MSPC', 'psychiatre', 4);

	create table permanence (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		professional_id uuid not null references app_user(id),
		room_id uuid references room(id),
		-- ISO weekday, 1 = Monday.
		weekday smallint not null check (weekday between 1 and 7),
		every_weeks smallint not null check (every_weeks in (1, 2)),
		-- The first occurrence's date (the fortnight's anchor) and the last day it may fall on.
		starts_on date not null,
		ends_on date,
		start_time time not null,
		end_time time not null,
		first_minutes smallint not null check (first_minutes between 10 and 240),
		followup_minutes smallint not null check (followup_minutes between 10 and 240),
		-- Editing a series from a date ends it the day before and starts its successor.
		previous_id uuid references permanence(id),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		check (end_time > start_time),
		check (ends_on is null or ends_on >= starts_on),
		check (extract(isodow from starts_on) = weekday)
	);
	create index permanence_microstructure on permanence(microstructure_id);
	create index permanence_professional on permanence(professional_id);

	create table absence (
		id uuid primary key default gen_random_uuid(),
		professional_id uuid not null references app_user(id),
		starts_on date not null,
		ends_on date not null,
		reason text not null check (reason in ('conges','maladie','formation','autre')),
		note text not null default '' check (length(note) <= 300),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		cancelled_at timestamptz,
		check (ends_on >= starts_on)
	);
	create index absence_professional on absence(professional_id, starts_on);

	create table permanence_occurrence (
		id uuid primary key default gen_random_uuid(),
		permanence_id uuid not null references permanence(id),
		microstructure_id uuid not null references microstructure(id),
		professional_id uuid not null references app_user(id),
		room_id uuid references room(id),
		on_date date not null,
		starts_at timestamptz not null,
		ends_at timestamptz not null,
		during tstzrange generated always as (tstzrange(starts_at, ends_at, '[)')) stored,
		cancelled_at timestamptz,
		cancel_reason text check (cancel_reason in ('absence','serie_modifiee','serie_terminee','annulee')),
		absence_id uuid references absence(id),
		unique (permanence_id, on_date),
		unique (id, professional_id),
		check (ends_at > starts_at),
		check ((cancelled_at is null) = (cancel_reason is null)),
		constraint occurrence_professional_free exclude using gist (professional_id with =, during with &&) where (cancelled_at is null),
		constraint occurrence_room_free exclude using gist (room_id with =, during with &&) where (cancelled_at is null and room_id is not null)
	);
	create index occurrence_microstructure on permanence_occurrence(microstructure_id, starts_at);
	create index occurrence_professional on permanence_occurrence(professional_id, starts_at);

	create table appointment (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		patient_id uuid not null,
		professional_id uuid not null references app_user(id),
		-- The professional's profession when booked: budgets and billing count by it.
		profession text not null,
		occurrence_id uuid not null,
		room_id uuid references room(id),
		kind text not null check (kind in ('premier_contact','suivi')),
		starts_at timestamptz not null,
		ends_at timestamptz not null,
		during tstzrange generated always as (tstzrange(starts_at, ends_at, '[)')) stored,
		-- prevu → venu | excuse | absent (after the slot) or annule | deplace (before it).
		status text not null default 'prevu' check (status in ('prevu','venu','excuse','absent','annule','deplace')),
		booked_by uuid not null references app_user(id),
		booked_at timestamptz not null default now(),
		-- The client's key for this booking request: a resend books once.
		request_key uuid not null,
		-- The freed slot (a cancelled or moved appointment) this booking refilled.
		refills_id uuid references appointment(id),
		moved_to uuid references appointment(id),
		cancelled_at timestamptz,
		cancelled_by uuid references app_user(id),
		cancel_reason text check (cancel_reason in ('patient','professionnel','absence','autre')),
		cancel_note text not null default '' check (length(cancel_note) <= 300),
		late_cancel boolean not null default false,
		attendance_marked_at timestamptz,
		attendance_marked_by uuid references app_user(id),
		foreign key (patient_id, microstructure_id) references patient(id, microstructure_id),
		foreign key (occurrence_id, professional_id) references permanence_occurrence(id, professional_id),
		unique (booked_by, request_key),
		check (ends_at > starts_at and ends_at - starts_at <= interval '4 hours'),
		check ((status in ('annule','deplace')) = (cancelled_at is not null)),
		check (status <> 'deplace' or moved_to is not null),
		constraint appointment_professional_free exclude using gist (professional_id with =, during with &&) where (status not in ('annule','deplace')),
		constraint appointment_room_free exclude using gist (room_id with =, during with &&) where (status not in ('annule','deplace') and room_id is not null),
		constraint appointment_patient_free exclude using gist (patient_id with =, during with &&) where (status not in ('annule','deplace'))
	);
	create index appointment_microstructure on appointment(microstructure_id, starts_at);
	create index appointment_professional on appointment(professional_id, starts_at);
	create index appointment_patient on appointment(patient_id, starts_at);
	create index appointment_occurrence on appointment(occurrence_id);

	create table waiting_entry (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		patient_id uuid not null,
		profession text not null check (profession in ('psychologue','travailleur_social','psychiatre')),
		kind text not null check (kind in ('premier_contact','suivi')),
		-- Constraints: ISO weekdays that suit (empty = any) and parts of the day ('matin', 'apres_midi'; empty = any).
		weekdays smallint[] not null default '{}',
		periods text[] not null default '{}',
		note text not null default '' check (length(note) <= 300),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		resolved_at timestamptz,
		resolved_by uuid references app_user(id),
		appointment_id uuid references appointment(id),
		removed_at timestamptz,
		foreign key (patient_id, microstructure_id) references patient(id, microstructure_id),
		check (weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
		check (periods <@ '{matin,apres_midi}'::text[])
	);
	create unique index waiting_entry_open on waiting_entry(patient_id, profession) where resolved_at is null and removed_at is null;
	create index waiting_entry_microstructure on waiting_entry(microstructure_id, profession, created_at) where resolved_at is null and removed_at is null;

	create table appointment_reminder (
		id uuid primary key default gen_random_uuid(),
		appointment_id uuid not null references appointment(id),
		channel text not null check (channel in ('email','sms')),
		kind text not null check (kind in ('j_moins_2','matin')),
		due_at timestamptz not null,
		status text not null default 'prevu' check (status in ('prevu','envoye','annule','non_envoye')),
		sent_at timestamptz,
		attempts smallint not null default 0,
		last_error text,
		unique (appointment_id, channel, kind)
	);
	create index appointment_reminder_due on appointment_reminder(due_at) where status = 'prevu';

	-- A private, revocable calendar feed: only the token's SHA-256 is stored.
	create table calendar_feed (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references app_user(id),
		token_hash bytea not null unique,
		created_at timestamptz not null default now(),
		revoked_at timestamptz,
		last_used_at timestamptz
	);
	create unique index calendar_feed_active on calendar_feed(user_id) where revoked_at is null;
	`.execute(db);
}
