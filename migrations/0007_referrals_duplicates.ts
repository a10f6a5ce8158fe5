import { sql, type Kysely } from 'kysely';
import type { Db } from '../src/lib/server/db/index.ts';
import { log } from '../src/lib/server/log.ts';
import { backfillNirIndex, loadNirKeys } from '../src/lib/server/patients/nir.ts';

// No duplicate patients, and referrals that reach the professionals.
// - `patient_name_key(text)`: a name folded for comparison — accents and ligatures removed, lower
//   case, without spaces, hyphens, apostrophes, dots or commas ("Marie-Claire" = "marie claire",
//   "N'Diaye" = "NDIAYE", "Lefèvre" = "LEFEVRE"). One immutable SQL function, used by two stored
//   generated columns and by every query that compares or searches names: the database computes the
//   keys for every writer (inclusion, identity change, transfer copy, anonymisation, demo, imports),
//   works the same on PostgreSQL and on the embedded PGlite (no extension: `normalize` and regular
//   expressions are core), and existing rows get their keys when the columns are added.
// - `patient_nir.nir_index`: the NIR's keyed blind index (HMAC, see nir.ts), the only way to find
//   the same NIR since the ciphertext is randomised. Rows already stored are indexed here when the
//   keys can be loaded; otherwise `npm run nir:rotate` does it.
// - `patient_request`: requests to join a patient's care team or to transfer a patient, one row per
//   kind, patient and person, so that repeats are throttled by one atomic statement.
export async function up(db: Kysely<unknown>): Promise<void> {
	await sql`
	create function patient_name_key(name text) returns text
	language sql immutable strict parallel safe
	as $$
		select regexp_replace(
			lower(translate(
				replace(replace(replace(replace(replace(replace(
					regexp_replace(normalize(name, NFD), '[\\u0300-\\u036f]', '', 'g'),
				'Œ', 'oe'), 'œ', 'oe'), 'Æ', 'ae'), 'æ', 'ae'), 'ß', 'ss'), 'ẞ', 'ss'),
				'ØøŁłĐđı', 'OoLlDdi')),
			'[[:space:]\\u00a0''’‘ʼ\`´.,_‐‑‒–—-]', '', 'g')
	$$;

	alter table patient
		add column last_name_key text generated always as (patient_name_key(last_name)) stored,
		add column first_name_key text generated always as (patient_name_key(first_name)) stored;
	-- Same person: same birth date, same two keys (either way round).
	create index patient_identity on patient(birth_date, last_name_key, first_name_key);

	alter table patient_nir add column nir_index bytea;
	create index patient_nir_index on patient_nir(nir_index) where nir_index is not null;

	create table patient_request (
		kind text not null check (kind in ('access','transfer')),
		patient_id uuid not null references patient(id),
		user_id uuid not null references app_user(id),
		requested_at timestamptz not null default now(),
		resolved_at timestamptz,
		resolved_by uuid references app_user(id),
		details jsonb not null default '{}'::jsonb,
		primary key (kind, patient_id, user_id)
	);
	create index patient_request_pending on patient_request(patient_id) where resolved_at is null;
	`.execute(db);

	const pending = await sql<{ n: number }>`select count(*)::int as n from patient_nir where key_id is not null`.execute(db);
	if (pending.rows[0].n === 0) return;
	try {
		await backfillNirIndex(db as unknown as Db, loadNirKeys());
	} catch (e) {
		// Without the keys the numbers cannot be indexed: duplicates are then found by name only,
		// until `npm run nir:rotate` is run with the keys.
		log('warn', 'NIR blind index not filled: run `npm run nir:rotate` with NIR_KEYS set', { error: (e as Error).message });
	}
}
