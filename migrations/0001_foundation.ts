import { sql, type Kysely } from 'kysely';

// Networks, microstructures and their people; Lucia-guide sessions with TOTP; invitations;
// the append-only audit log; Yjs document storage.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create table network (
		id uuid primary key default gen_random_uuid(),
		name text not null,
		territory text not null default '',
		created_at timestamptz not null default now()
	);

	create table microstructure (
		id uuid primary key default gen_random_uuid(),
		network_id uuid not null references network(id),
		name text not null,
		programmes text[] not null check (cardinality(programmes) > 0 and programmes <@ array['MSMA','MSPC']),
		practice_kind text not null default 'cabinet' check (practice_kind in ('cabinet','msp','centre_de_sante')),
		city text not null default '',
		created_at timestamptz not null default now(),
		archived_at timestamptz
	);
	create index microstructure_network on microstructure(network_id);

	create table site (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		name text not null,
		address text not null default '',
		postal_code text not null default '',
		city text not null default ''
	);
	create index site_microstructure on site(microstructure_id);

	create table room (
		id uuid primary key default gen_random_uuid(),
		site_id uuid not null references site(id),
		name text not null
	);

	create table app_user (
		id uuid primary key default gen_random_uuid(),
		email text not null,
		first_name text not null,
		last_name text not null,
		profession text not null check (profession in ('medecin_generaliste','psychologue','travailleur_social',
			'psychiatre','infirmier','coordinateur_medical','coordinateur_administratif','secretariat','autre')),
		rpps text,
		adeli text,
		password_hash text not null,
		totp_key bytea,
		locale text not null default 'fr' check (locale in ('fr','en')),
		platform_admin boolean not null default false,
		created_at timestamptz not null default now(),
		disabled_at timestamptz
	);
	create unique index app_user_email on app_user(lower(email));

	create table recovery_code (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references app_user(id) on delete cascade,
		code_hash text not null,
		used_at timestamptz
	);
	create index recovery_code_user on recovery_code(user_id);

	create table user_session (
		id text primary key,
		user_id uuid not null references app_user(id) on delete cascade,
		expires_at timestamptz not null,
		two_factor_verified boolean not null default false,
		created_at timestamptz not null default now(),
		ip text,
		user_agent text
	);
	create index user_session_user on user_session(user_id);

	-- A membership ties a person to exactly one microstructure or one network, with a role and dates.
	create table membership (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references app_user(id),
		microstructure_id uuid references microstructure(id),
		network_id uuid references network(id),
		role text not null,
		starts_on date not null default current_date,
		ends_on date,
		created_at timestamptz not null default now(),
		created_by uuid references app_user(id),
		ended_by uuid references app_user(id),
		check ((microstructure_id is null) <> (network_id is null)),
		check (microstructure_id is null or role in ('soignant','coordination','secretariat')),
		check (network_id is null or role in ('coordination_medicale','coordination_administrative','admin')),
		check (ends_on is null or ends_on >= starts_on)
	);
	create index membership_user on membership(user_id);
	create index membership_microstructure on membership(microstructure_id);
	create index membership_network on membership(network_id);

	create table invitation (
		id uuid primary key default gen_random_uuid(),
		token_hash text not null unique,
		email text not null,
		first_name text not null default '',
		last_name text not null default '',
		profession text not null default 'autre',
		microstructure_id uuid references microstructure(id),
		network_id uuid references network(id),
		role text not null,
		invited_by uuid not null references app_user(id),
		created_at timestamptz not null default now(),
		expires_at timestamptz not null,
		accepted_at timestamptz,
		accepted_by uuid references app_user(id),
		revoked_at timestamptz,
		check ((microstructure_id is null) <> (network_id is null))
	);

	create table audit_event (
		id bigserial primary key,
		at timestamptz not null default now(),
		actor_id uuid references app_user(id),
		action text not null,
		target_type text not null default '',
		target_id text not null default '',
		microstructure_id uuid,
		network_id uuid,
		ip text,
		user_agent text,
		details jsonb not null default '{}'::jsonb
	);
	create index audit_event_at on audit_event(at desc);
	create index audit_event_action_target on audit_event(action, target_id, at desc);
	create index audit_event_ip on audit_event(ip, at desc);
	create index audit_event_network on audit_event(network_id, at desc);

	create function audit_event_append_only() returns trigger language plpgsql as $$
	begin
		raise exception 'audit_event is append-only';
	end $$;
	create trigger audit_event_no_update before update or delete on audit_event
		for each statement execute function audit_event_append_only();

	create table yjs_update (
		id bigserial primary key,
		doc_name text not null,
		update bytea not null,
		created_at timestamptz not null default now()
	);
	create index yjs_update_doc on yjs_update(doc_name, id);
	`.execute(db);
}
