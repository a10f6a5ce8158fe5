import { sql, type Kysely } from 'kysely';

// Sign-in defences that hold under concurrency: attempt counters updated atomically before the
// expensive check (auth_throttle), the last TOTP time step used (a code works once), browsers where
// a person has signed in before (trusted_device: OWASP "device cookies", so a storm of wrong
// passwords from elsewhere does not lock the owner out), and one-time codes that prove the e-mail
// address before a first second factor is enrolled (enrolment_code).
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create table auth_throttle (
		-- SHA-256 of the scope and its subject (e-mail, IP, session, user, device): no address in clear.
		key text primary key,
		scope text not null,
		-- Attempts counted in the current window (refunded or reset on success).
		attempts integer not null check (attempts >= 0),
		window_start timestamptz not null,
		-- Set when an attempt reaches the limit; refused until then, without being counted.
		blocked_until timestamptz,
		-- Blocks so far: each one doubles the next (capped), forgotten after a quiet day.
		strikes integer not null default 0 check (strikes >= 0),
		last_at timestamptz not null,
		-- What the last statement decided, for its RETURNING clause.
		allowed boolean not null,
		armed boolean not null default false
	);
	create index auth_throttle_last_at on auth_throttle(last_at);

	-- The last TOTP time step accepted for this user: a code is accepted only for a later step.
	alter table app_user add column totp_last_step bigint;

	create table trusted_device (
		-- SHA-256 of the random token held in the browser's httpOnly device cookie.
		token_hash text not null,
		user_id uuid not null references app_user(id) on delete cascade,
		created_at timestamptz not null default now(),
		last_used_at timestamptz not null default now(),
		primary key (token_hash, user_id)
	);
	create index trusted_device_user on trusted_device(user_id);

	-- The session has proven the account's e-mail (code by e-mail, invitation, administrator's
	-- code): required before a first second factor is enrolled.
	alter table user_session add column enrolment_allowed boolean not null default false;

	create table enrolment_code (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references app_user(id) on delete cascade,
		-- The session that asked for it; null for a code given by an administrator.
		session_id text references user_session(id) on delete cascade,
		code_hash text not null,
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		expires_at timestamptz not null,
		used_at timestamptz
	);
	create index enrolment_code_user on enrolment_code(user_id) where used_at is null;
	`.execute(db);
}
