import { sql, type Kysely } from 'kysely';

// Secure messaging between professionals.
//
// - A conversation is a patient's thread (one per patient, readable by whoever the policy lets
//   follow the patient: care team and coordination), a microstructure's team conversation (one per
//   microstructure), or a direct / small-group conversation between named members.
// - Messages are ordered by a per-conversation sequence the server assigns under the
//   conversation row's lock (`conversation.last_seq`), so every client shows the same order.
// - The sender's client id is the idempotency key: PostgreSQL refuses a second message with the same
//   (sender, client id), so a resend after a dropped connection or a crash never duplicates.
// - Read positions are one row per person and conversation, only ever moved forward: unread counts
//   and read receipts follow from them, identical on every device.
// - Search uses a French configuration that folds accents (`fr_unaccent`), on a generated
//   column, so the index is always in step with the text.
// - Attachments (PDF, images, voice) are stored in PostgreSQL; a thumbnail is kept for images.
// - Notifications carry no content; web-push subscriptions, quiet hours and the delayed e-mail
//   for what is still unread live here too.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create extension if not exists unaccent;
	create text search configuration fr_unaccent (copy = french);
	alter text search configuration fr_unaccent alter mapping for hword, hword_part, word with unaccent, french_stem;

	create table conversation (
		id uuid primary key default gen_random_uuid(),
		kind text not null check (kind in ('patient','team','direct','group')),
		microstructure_id uuid references microstructure(id),
		patient_id uuid references patient(id) on delete cascade,
		-- The two members of a direct conversation, in order: one conversation per pair.
		direct_key text,
		title text not null default '' check (length(title) <= 80),
		created_by uuid references app_user(id),
		created_at timestamptz not null default now(),
		last_seq bigint not null default 0,
		last_message_at timestamptz,
		check ((kind = 'patient') = (patient_id is not null)),
		check (kind not in ('patient','team') or microstructure_id is not null),
		check ((kind = 'direct') = (direct_key is not null))
	);
	create unique index conversation_patient on conversation(patient_id) where kind = 'patient';
	create unique index conversation_team on conversation(microstructure_id) where kind = 'team';
	create unique index conversation_direct on conversation(direct_key) where kind = 'direct';
	create index conversation_ms on conversation(microstructure_id, last_message_at desc);

	-- The named members of direct and group conversations (patient and team conversations follow the policy).
	create table conversation_member (
		conversation_id uuid not null references conversation(id) on delete cascade,
		user_id uuid not null references app_user(id),
		added_at timestamptz not null default now(),
		primary key (conversation_id, user_id)
	);
	create index conversation_member_user on conversation_member(user_id);

	create table message (
		id uuid primary key default gen_random_uuid(),
		conversation_id uuid not null references conversation(id) on delete cascade,
		seq bigint not null,
		sender_id uuid not null references app_user(id),
		client_id uuid not null,
		body text not null default '' check (length(body) <= 4000),
		-- A compte-rendu or a PPS version shared as a link: {"type": "rcp_report" | "pps_version", "id": …}.
		link jsonb,
		mentions uuid[] not null default '{}',
		created_at timestamptz not null default now(),
		edited_at timestamptz,
		deleted_at timestamptz,
		search tsvector generated always as (to_tsvector('fr_unaccent', body)) stored,
		unique (conversation_id, seq),
		unique (sender_id, client_id)
	);
	create index message_search on message using gin (search);

	create table message_attachment (
		id uuid primary key default gen_random_uuid(),
		message_id uuid not null references message(id) on delete cascade,
		conversation_id uuid not null references conversation(id) on delete cascade,
		kind text not null check (kind in ('file','image','voice')),
		filename text not null check (length(filename) between 1 and 200),
		content_type text not null,
		size integer not null check (size > 0),
		content bytea not null,
		thumbnail bytea,
		duration_ms integer check (duration_ms is null or duration_ms between 0 and 600000),
		created_at timestamptz not null default now()
	);
	create index message_attachment_message on message_attachment(message_id);

	create table conversation_read (
		conversation_id uuid not null references conversation(id) on delete cascade,
		user_id uuid not null references app_user(id),
		last_read_seq bigint not null default 0,
		read_at timestamptz not null default now(),
		primary key (conversation_id, user_id)
	);
	create index conversation_read_user on conversation_read(user_id);

	create table push_subscription (
		id uuid primary key default gen_random_uuid(),
		user_id uuid not null references app_user(id) on delete cascade,
		endpoint text not null unique check (length(endpoint) <= 1000),
		p256dh text not null check (length(p256dh) <= 200),
		auth text not null check (length(auth) <= 100),
		created_at timestamptz not null default now()
	);
	create index push_subscription_user on push_subscription(user_id);

	-- Quiet hours (Paris wall clock; start > end spans midnight) and the delay before an e-mail for unread messages.
	alter table app_user
		add column quiet_start time,
		add column quiet_end time,
		add column message_email_delay_minutes smallint not null default 60 check (message_email_delay_minutes between 0 and 10080);

	-- Server-side settings generated once (the VAPID keys of the embedded default).
	create table app_setting (
		key text primary key,
		value text not null
	);

	-- One pending "you have unread messages" e-mail per person: written when a message reaches them,
	-- sent by a job after their delay if they still have unread messages, then cleared.
	create table message_email_due (
		user_id uuid primary key references app_user(id) on delete cascade,
		due_at timestamptz not null,
		created_at timestamptz not null default now()
	);
	`.execute(db);
}

