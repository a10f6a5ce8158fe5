import { sql, type Kysely } from 'kysely';

// RCPs: templates (trames) per network with per-microstructure overrides, recurring series and their
// sessions, the agenda (cases and organisational points) with decisions and actions, attendance,
// preparation notes, the patients' RCP passages (billing control), and in-app notifications.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create table rcp_template (
		id uuid primary key default gen_random_uuid(),
		network_id uuid references network(id),
		microstructure_id uuid references microstructure(id),
		name text not null,
		target_minutes integer not null check (target_minutes between 15 and 480),
		min_frequency text not null check (min_frequency in ('hebdomadaire','bimensuelle','mensuelle','bimestrielle','trimestrielle')),
		-- Ordered sections: {kind: 'cas'|'organisation_pec'|'organisation_ms', title}.
		sections jsonb not null,
		quorum_professions text[] not null default '{}',
		optional_invitees text not null default '',
		patient_may_attend boolean not null default false,
		minutes_per_case integer not null check (minutes_per_case between 2 and 60),
		updated_by uuid references app_user(id),
		updated_at timestamptz not null default now(),
		-- A network default or a microstructure override, never both.
		check ((network_id is null) <> (microstructure_id is null))
	);
	create unique index rcp_template_network on rcp_template(network_id) where network_id is not null;
	create unique index rcp_template_ms on rcp_template(microstructure_id) where microstructure_id is not null;

	create table rcp_series (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		title text not null,
		-- RFC 5545 RRULE on local (Europe/Paris) dates, e.g. FREQ=MONTHLY;BYDAY=1TU.
		rrule text not null,
		starts_on date not null,
		until_on date,
		start_time time not null,
		end_time time not null,
		room_id uuid references room(id),
		visio_url text,
		programme text check (programme in ('MSMA','MSPC')),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		ended_at timestamptz
	);

	create table rcp_session (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		series_id uuid references rcp_series(id),
		title text not null,
		starts_at timestamptz not null,
		ends_at timestamptz not null check (ends_at > starts_at),
		room_id uuid references room(id),
		visio_url text,
		-- Only patients of this programme are shown, when set (merged meetings expose no one else).
		programme text check (programme in ('MSMA','MSPC')),
		status text not null default 'planifiee' check (status in ('planifiee','en_cours','cloturee','annulee')),
		-- The template as it was when the session was planned: minutes per case, quorum, sections.
		template jsonb not null,
		agenda_built_at timestamptz,
		animator_id uuid references app_user(id),
		pointer_item_id uuid,
		pointer_since timestamptz,
		started_at timestamptz,
		closed_at timestamptz,
		closed_by uuid references app_user(id),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		unique (series_id, starts_at)
	);
	create index rcp_session_ms_start on rcp_session(microstructure_id, starts_at);

	create table rcp_participant (
		session_id uuid not null references rcp_session(id),
		user_id uuid not null references app_user(id),
		-- membre: the team; invite: a guest who sees only the cases listed in item_ids.
		kind text not null default 'membre' check (kind in ('membre','invite')),
		item_ids uuid[] not null default '{}',
		rsvp text check (rsvp in ('oui','non','peut_etre')),
		attendance text check (attendance in ('present','distance','excuse','absent')),
		-- Who set the attendance: null when it came from presence in the live session.
		attendance_set_by uuid references app_user(id),
		primary key (session_id, user_id)
	);
	create index rcp_participant_user on rcp_participant(user_id);

	create table rcp_item (
		id uuid primary key default gen_random_uuid(),
		session_id uuid not null references rcp_session(id),
		kind text not null check (kind in ('cas','organisation_pec','organisation_ms')),
		patient_id uuid references patient(id),
		title text,
		-- Why the item is on the agenda: [{code, date?, question?}].
		reasons jsonb not null default '[]'::jsonb,
		position integer not null,
		discussed_seconds integer not null default 0,
		decision text check (decision in ('poursuite','adaptation_pps','renouvellement','fin_de_suivi','reorientation','a_revoir')),
		decision_details jsonb not null default '{}'::jsonb,
		decided_by uuid references app_user(id),
		decided_at timestamptz,
		pps_version integer,
		-- The case notes (a Yjs document while the session is live) as they were at closing.
		minutes_notes text,
		carried_to uuid references rcp_item(id),
		added_by uuid references app_user(id),
		check ((kind = 'cas') = (patient_id is not null)),
		unique (session_id, patient_id)
	);
	create index rcp_item_session on rcp_item(session_id, position);
	create index rcp_item_patient on rcp_item(patient_id);
	alter table rcp_session add foreign key (pointer_item_id) references rcp_item(id);

	create table rcp_prep_note (
		item_id uuid not null references rcp_item(id),
		author_id uuid not null references app_user(id),
		profession text not null,
		body text not null,
		updated_at timestamptz not null default now(),
		primary key (item_id, author_id)
	);

	-- A member's question about a patient, for the next RCP's agenda.
	create table rcp_flag (
		id uuid primary key default gen_random_uuid(),
		patient_id uuid not null references patient(id),
		question text not null,
		flagged_by uuid not null references app_user(id),
		flagged_at timestamptz not null default now(),
		handled_item_id uuid references rcp_item(id)
	);
	create index rcp_flag_open on rcp_flag(patient_id) where handled_item_id is null;

	-- Actions decided in RCP: they land on the owner's "À faire" list.
	create table rcp_action (
		id uuid primary key default gen_random_uuid(),
		item_id uuid not null references rcp_item(id),
		patient_id uuid not null references patient(id),
		what text not null,
		owner_id uuid not null references app_user(id),
		due_on date,
		done_at timestamptz,
		done_by uuid references app_user(id),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now()
	);
	create index rcp_action_owner on rcp_action(owner_id) where done_at is null;

	-- One row per patient discussed in a closed RCP: the billing control file reads it.
	create table rcp_passage (
		patient_id uuid not null references patient(id),
		session_id uuid not null references rcp_session(id),
		on_date date not null,
		decision text not null,
		primary key (patient_id, session_id)
	);
	create index rcp_passage_patient on rcp_passage(patient_id, on_date desc);

	create table notification (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references app_user(id),
		kind text not null,
		title text not null,
		body text not null default '',
		link text,
		created_at timestamptz not null default now(),
		read_at timestamptz
	);
	create index notification_user on notification(user_id, created_at desc);

	alter table pps_version add foreign key (rcp_id) references rcp_session(id);
	`.execute(db);
}
