import { sql, type Kysely } from 'kysely';

// The coordinator's cockpit and billing (issue 14). Invariants the database holds:
// - a tariff has no negative share and its shares never exceed its total (the GP's part is the rest);
// - a package line (one patient_event of inclusion, re-inclusion or renewal, one national code) is
//   billed at most once: a unique index over the lines no correction has voided, so two concurrent
//   runs can never both bill it;
// - a drift alert exists once per microstructure, kind and period, so a detection job run twice
//   (or in two processes) raises and notifies it once.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	-- Who seconds the psychologist decides the codes of a package: the specialised centre (EMS)
	-- seconding both professionals bills 18N27A1; with a private psychologist, the centre bills
	-- 18N27B1 for the social worker and the psychologist 18N27B2.
	alter table microstructure add column psychologist_funding text not null default 'ems'
		check (psychologist_funding in ('ems', 'liberal'));

	create table billing_tariff (
		network_id uuid not null references network(id),
		programme text not null check (programme in ('MSMA', 'MSPC')),
		valid_from date not null,
		total_cents integer not null check (total_cents > 0 and total_cents <= 10000000),
		psychologist_cents integer not null check (psychologist_cents >= 0),
		social_worker_cents integer not null check (social_worker_cents >= 0),
		admin_coordination_cents integer not null check (admin_coordination_cents >= 0),
		medical_coordination_cents integer not null check (medical_coordination_cents >= 0),
		check (psychologist_cents + social_worker_cents + admin_coordination_cents + medical_coordination_cents <= total_cents),
		updated_by uuid references app_user(id),
		updated_at timestamptz not null default now(),
		primary key (network_id, programme, valid_from)
	);

	create table billing_run (
		id uuid primary key default gen_random_uuid(),
		network_id uuid not null references network(id),
		number integer not null,
		period_from date not null,
		period_to date not null check (period_from <= period_to),
		microstructure_ids uuid[] not null,
		corrects_run_id uuid references billing_run(id),
		created_by uuid not null references app_user(id),
		created_at timestamptz not null default now(),
		line_count integer not null default 0,
		total_cents bigint not null default 0,
		unique (network_id, number)
	);

	create table billing_line (
		id bigserial primary key,
		run_id uuid not null references billing_run(id),
		patient_event_id uuid not null references patient_event(id),
		patient_id uuid not null references patient(id),
		microstructure_id uuid not null references microstructure(id),
		programme text not null,
		package_kind text not null check (package_kind in ('include', 'reinclude', 'renew')),
		package_start date not null,
		code text not null check (code in ('18N27A1', '18N27B1', '18N27B2', '18N27C1')),
		amount_cents integer not null check (amount_cents >= 0),
		voided_by_run uuid references billing_run(id)
	);
	create unique index billing_line_once on billing_line(patient_event_id, code) where voided_by_run is null;
	create index billing_line_run on billing_line(run_id);
	create index billing_line_patient on billing_line(patient_id);

	-- Drift alerts: raised by the detection job, acknowledged by a coordinator, resolved when the
	-- condition no longer holds. period_key names the occurrence (e.g. the day the condition started).
	create table drift_alert (
		id uuid primary key default gen_random_uuid(),
		microstructure_id uuid not null references microstructure(id),
		network_id uuid not null references network(id),
		kind text not null,
		period_key text not null,
		details jsonb not null default '{}'::jsonb,
		raised_at timestamptz not null default now(),
		resolved_at timestamptz,
		acknowledged_at timestamptz,
		acknowledged_by uuid references app_user(id),
		unique (microstructure_id, kind, period_key)
	);
	create index drift_alert_network_open on drift_alert(network_id) where resolved_at is null;

	create table alert_threshold (
		network_id uuid primary key references network(id),
		settings jsonb not null default '{}'::jsonb,
		updated_by uuid references app_user(id),
		updated_at timestamptz not null default now()
	);

	-- The cockpit's aggregates by microstructure and date.
	create index patient_ms_included on patient(microstructure_id, included_on);
	create index patient_event_kind_date on patient_event(kind, occurred_on);
	create index rcp_passage_session on rcp_passage(session_id);
	-- Held, missed and excused appointments by microstructure and time, covering the columns the
	-- cockpit counts (status, profession): an index-only scan instead of reading the table.
	create index appointment_attendance on appointment(microstructure_id, starts_at) include (status, profession)
		where status in ('venu', 'absent', 'excuse');
	`.execute(db);

}
