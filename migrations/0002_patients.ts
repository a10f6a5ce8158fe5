import { sql, type Kysely } from 'kysely';

// Patients and their care pathway: one record per patient per microstructure, an explicit state
// with dated, attributed events (the timeline), the care team, and the NIR kept apart, encrypted.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create table patient (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		code text not null unique,
		last_name text,
		first_name text,
		birth_date date,
		sex text check (sex in ('F','M','X')),
		phone text,
		email text,
		programme text not null check (programme in ('MSMA','MSPC')),
		motif text check (motif in ('addiction','precarite','sante_mentale')),
		orientation_origin text check (orientation_origin in ('medecin_ms','csapa','autre_medecin','hopital','autre')),
		orientation text check (orientation in ('psychologue','travailleur_social','les_deux')),
		medecin_traitant text,
		ins_status text not null default 'provisoire' check (ins_status in ('provisoire','recuperee','validee','qualifiee')),
		state text not null check (state in ('oriente','inclus','en_suivi','sorti','transfere')),
		oriented_on date,
		included_on date,
		renewal_due_on date,
		first_contact_on date,
		last_contact_on date,
		exited_on date,
		exit_reason text check (exit_reason in ('amelioration','souhait_patient','reorientation','perdu_de_vue','demenagement','deces','autre')),
		consent_on date,
		consent_method text check (consent_method in ('formulaire_signe','oral_atteste')),
		consent_attested_by uuid references app_user(id),
		transferred_from uuid references patient(id),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		updated_at timestamptz not null default now(),
		-- Optimistic locking: a write names the version it read (timestamps lose microseconds in JS).
		version integer not null default 0,
		anonymised_at timestamptz
	);
	create index patient_ms_state on patient(microstructure_id, state);
	create index patient_ms_renewal on patient(microstructure_id, renewal_due_on);
	create index patient_ms_name on patient(microstructure_id, lower(last_name), lower(first_name));

	-- The timeline: every transition and fact, dated (when it happened) and attributed.
	create table patient_event (
		id uuid primary key default gen_random_uuid(),
		patient_id uuid not null references patient(id),
		kind text not null,
		occurred_on date not null,
		recorded_by uuid references app_user(id),
		recorded_at timestamptz not null default now(),
		details jsonb not null default '{}'::jsonb
	);
	create index patient_event_patient on patient_event(patient_id, occurred_on desc, recorded_at desc);

	create table patient_team_member (
		patient_id uuid not null references patient(id),
		user_id uuid not null references app_user(id),
		primary key (patient_id, user_id)
	);

	create table patient_partner (
		id uuid primary key default gen_random_uuid(),
		patient_id uuid not null references patient(id),
		name text not null,
		role text not null,
		contact text not null default ''
	);
	create index patient_partner_patient on patient_partner(patient_id);

	create table consent_document (
		id uuid primary key default gen_random_uuid(),
		patient_id uuid not null references patient(id),
		filename text not null,
		content_type text not null,
		content bytea not null,
		uploaded_by uuid references app_user(id),
		uploaded_at timestamptz not null default now()
	);

	-- The NIR, apart from the clinical record: AES-256-GCM ciphertext (iv | tag | data) and the id of
	-- the application key that encrypted it, so that keys can be rotated.
	create table patient_nir (
		patient_id uuid primary key references patient(id),
		status text not null check (status in ('fourni','refuse','provisoire','regime_particulier')),
		ciphertext bytea,
		key_id text,
		updated_by uuid references app_user(id),
		updated_at timestamptz not null default now(),
		check ((ciphertext is null) = (key_id is null))
	);
	`.execute(db);
}
