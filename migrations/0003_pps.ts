import { sql, type Kysely } from 'kysely';

// The PPS: its live document is a Yjs document (`pps:<patientId>` in yjs_update); here are its JSON
// projection, kept up to date for search, printing and indicators, and its validated versions.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create table pps (
		patient_id uuid primary key references patient(id),
		projection jsonb not null,
		updated_at timestamptz not null default now()
	);

	create table pps_version (
		id uuid primary key default gen_random_uuid(),
		patient_id uuid not null references patient(id),
		number integer not null,
		snapshot bytea not null,
		projection jsonb not null,
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		-- The RCP that validated it, once RCPs exist (no foreign key yet).
		rcp_id uuid,
		unique (patient_id, number)
	);
	create function pps_version_immutable() returns trigger language plpgsql as $$
	begin
		raise exception 'pps_version is immutable';
	end $$;
	create trigger pps_version_no_update before update on pps_version
		for each statement execute function pps_version_immutable();
	`.execute(db);
}
