// The NIR vault: the French social-security number (numéro d'inscription au répertoire), needed for
// billing only. It is validated on input, encrypted with AES-256-GCM under an application key and
// stored apart from the clinical record (table patient_nir), with the id of the key that encrypted
// it so that keys can be rotated (`npm run nir:rotate`).
//
// The ciphertext cannot be compared (a random IV each time), so each row also carries a keyed blind
// index (`nir_index`): HMAC-SHA-256 of the normalised NIR under a key derived (HKDF) from the AES key
// that encrypted the row. It finds the same NIR (duplicate patients) without decrypting anything and
// means nothing without the keys. Rotation recomputes it with the new key; a lookup tries every key.
//
// Never log a NIR or a key: error messages here name key ids and files, never their contents.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { sql } from 'kysely';
import { audit } from '../audit/audit.ts';
import { config, readConfig } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { NirStatus } from '../db/schema.ts';

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export const NIR_STATUSES: readonly NirStatus[] = ['fourni', 'refuse', 'provisoire', 'regime_particulier'];

/** Statuses that come with a number (a definitive NIR, or a provisional one). */
export function nirStatusNeedsNumber(status: NirStatus): boolean {
	return status === 'fourni' || status === 'provisoire';
}

/** Removes spaces (including non-breaking ones), dots and dashes; upper-cases (2a → 2A). */
export function normaliseNir(input: string): string {
	return String(input ?? '')
		.replace(/[\s.\-‐‑‒–—]/g, '')
		.toUpperCase();
}

/**
 * The control key of the 13-character number: 97 − (number mod 97), where Corsica's 2A counts as
 * 19 and 2B as 18. Returns null when the number is not 13 digits (after that substitution).
 */
export function nirKey(number13: string): number | null {
	if (number13.length !== 13) return null;
	const numeric = number13.slice(0, 5) + corsica(number13.slice(5, 7)) + number13.slice(7);
	if (!/^\d{13}$/.test(numeric)) return null;
	return 97 - Number(BigInt(numeric) % 97n);
}

function corsica(department: string): string {
	if (department === '2A') return '19';
	if (department === '2B') return '18';
	return department;
}

// sex (1) | year (2) | month (2) | department (2) | commune (3) | order (3) | key (2)
// First digit: 1/2 (men/women), 3/4 (foreign-born, pending), 7/8 (provisional numbers).
// Month: 01–12, or the conventions for an unknown month: 20–42 and 50–99.
const SEX = /^[123478]$/;
const MONTH = /^(0[1-9]|1[0-2]|[23]\d|4[0-2]|[5-9]\d)$/;
const SHAPE = /^\d{5}(\d{2}|2A|2B)\d{8}$/;

export type NirValidation = { ok: true; nir: string } | { ok: false; error: string };

/** Validates a NIR as typed by a person; on success `nir` is the normalised 15-character form. */
export function validateNir(input: string): NirValidation {
	const nir = normaliseNir(input);
	if (nir.length === 0) return { ok: false, error: 'Le NIR est requis.' };
	if (nir.length !== 15) return { ok: false, error: 'Le NIR comporte 15 caractères (13 + clé).' };
	if (!SHAPE.test(nir)) return { ok: false, error: 'Format du NIR invalide.' };
	if (!SEX.test(nir[0])) return { ok: false, error: 'Format du NIR invalide : le premier chiffre doit être 1, 2, 3, 4, 7 ou 8.' };
	if (!MONTH.test(nir.slice(3, 5))) return { ok: false, error: 'Format du NIR invalide : mois de naissance incorrect.' };
	const key = nirKey(nir.slice(0, 13));
	if (key === null) return { ok: false, error: 'Format du NIR invalide.' };
	if (key !== Number(nir.slice(13))) return { ok: false, error: 'Clé de contrôle du NIR incorrecte.' };
	return { ok: true, nir };
}

/** '1 84 12 ** *** *** 46': sex, year and month of birth and the key only. */
export function maskNir(nir: string): string {
	const n = normaliseNir(nir);
	if (n.length !== 15) return '* ** ** ** *** *** **';
	return `${n[0]} ${n.slice(1, 3)} ${n.slice(3, 5)} ** *** *** ${n.slice(13)}`;
}

/** '1 84 12 76 451 089 46': the usual grouping, for the rare screens that show the full number. */
export function formatNir(nir: string): string {
	const n = normaliseNir(nir);
	if (n.length !== 15) return n;
	return [n[0], n.slice(1, 3), n.slice(3, 5), n.slice(5, 7), n.slice(7, 10), n.slice(10, 13), n.slice(13)].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

export interface NirKey {
	readonly id: string;
	/** 32 bytes (AES-256). */
	readonly key: Buffer;
}

export interface NirKeys {
	/** Encrypts every new value. */
	readonly current: NirKey;
	/** All keys, current first; the others only decrypt (until rotation has moved every row). */
	readonly all: readonly NirKey[];
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Hides key material from console.log / util.inspect / JSON.stringify. */
function redact<T extends object>(value: T, shown: () => unknown): T {
	Object.defineProperty(value, inspect.custom, { value: () => shown(), enumerable: false });
	Object.defineProperty(value, 'toJSON', { value: () => shown(), enumerable: false });
	return value;
}

/** Builds a key set (first = current), checking ids and key lengths. `source` names where they came from. */
export function nirKeysFrom(list: readonly { id: string; key: Uint8Array }[], source = 'NIR keys'): NirKeys {
	if (list.length === 0) throw new Error(`${source}: no key given.`);
	const seen = new Set<string>();
	const all = list.map(({ id, key }) => {
		if (!KEY_ID.test(id)) throw new Error(`${source}: invalid key id '${id.slice(0, 64)}' (use 1-64 of A-Z a-z 0-9 . _ -).`);
		if (seen.has(id)) throw new Error(`${source}: duplicate key id '${id}'.`);
		seen.add(id);
		if (key.length !== 32) throw new Error(`${source}: key '${id}' must be 32 bytes (AES-256), got ${key.length}.`);
		const entry: NirKey = { id, key: Buffer.from(key) };
		return Object.freeze(redact(entry, () => ({ id, key: '[redacted]' })));
	});
	const keys: NirKeys = { current: all[0], all: Object.freeze(all) };
	return Object.freeze(redact(keys, () => ({ current: all[0].id, ids: all.map((k) => k.id) })));
}

function decodeKey(base64: string, id: string, source: string): Buffer {
	if (!BASE64.test(base64)) throw new Error(`${source}: key '${id}' is not valid base64.`);
	return Buffer.from(base64, 'base64');
}

/** Parses NIR_KEYS: "id1:base64key,id2:base64key" (first = current key). */
export function parseNirKeys(value: string, source = 'NIR_KEYS'): NirKeys {
	const entries = value
		.split(',')
		.map((e) => e.trim())
		.filter(Boolean);
	if (entries.length === 0) throw new Error(`${source} is empty: expected "id:base64key[,id:base64key…]".`);
	const list = entries.map((entry, i) => {
		const colon = entry.indexOf(':');
		if (colon <= 0 || colon === entry.length - 1) {
			throw new Error(`${source}: entry ${i + 1} must look like "id:base64key".`);
		}
		const id = entry.slice(0, colon).trim();
		return { id, key: decodeKey(entry.slice(colon + 1).trim(), id, source) };
	});
	return nirKeysFrom(list, source);
}

export const NIR_KEY_FILE = 'nir-keys.json';

interface KeyFile {
	comment?: string;
	keys: { id: string; key: string }[];
}

function readKeyFile(file: string): NirKeys {
	let parsed: KeyFile;
	try {
		parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
	} catch (e) {
		throw new Error(`Cannot read the NIR key file ${file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
	}
	if (!parsed || !Array.isArray(parsed.keys)) throw new Error(`NIR key file ${file}: expected {"keys": [{"id", "key"}…]}.`);
	const list = parsed.keys.map((k, i) => {
		if (typeof k?.id !== 'string' || typeof k?.key !== 'string') {
			throw new Error(`NIR key file ${file}: entry ${i + 1} must have string "id" and "key".`);
		}
		return { id: k.id, key: decodeKey(k.key, k.id, `NIR key file ${file}`) };
	});
	return nirKeysFrom(list, `NIR key file ${file}`);
}

/** Creates the key file with one fresh key, atomically: a concurrent creator's file wins. */
function createKeyFile(dataDir: string, file: string): void {
	mkdirSync(dataDir, { recursive: true, mode: 0o700 });
	const content: KeyFile = {
		comment:
			'AES-256 keys encrypting the NIRs of the embedded database. The first key encrypts, the others only decrypt. ' +
			'Keep this file secret (mode 0600) and back it up with the database: without it the NIRs cannot be read.',
		keys: [{ id: `local-${randomBytes(4).toString('hex')}`, key: randomBytes(32).toString('base64') }]
	};
	const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
	writeFileSync(tmp, JSON.stringify(content, null, '\t') + '\n', { mode: 0o600, flag: 'wx' });
	try {
		linkSync(tmp, file);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
	} finally {
		unlinkSync(tmp);
	}
}

let cache: { signature: string; keys: NirKeys } | undefined;

/**
 * The application's NIR keys, cached per process.
 * - NIR_KEYS set: "id1:base64key,id2:base64key" (first = current).
 * - Otherwise, embedded database (no DATABASE_URL): `<dataDir>/nir-keys.json`, created on first use.
 * - Otherwise (DATABASE_URL without NIR_KEYS): an error.
 */
export function loadNirKeys(env: NodeJS.ProcessEnv = process.env, dataDir?: string): NirKeys {
	const nirKeys = env.NIR_KEYS?.trim() || undefined;
	const databaseUrl = env.DATABASE_URL || undefined;
	const dir = dataDir ?? (env === process.env ? config.dataDir : readConfig(env).dataDir);
	const signature = JSON.stringify([nirKeys ?? null, Boolean(databaseUrl), nirKeys ? null : dir]);
	if (cache?.signature === signature) return cache.keys;

	let keys: NirKeys;
	if (nirKeys) {
		keys = parseNirKeys(nirKeys);
	} else if (databaseUrl) {
		throw new Error(
			'NIR_KEYS must be set in production (DATABASE_URL is set): NIR_KEYS="id:base64key" with a 32-byte key, ' +
				'see README.md, "NIR keys and rotation".'
		);
	} else {
		const file = join(dir, NIR_KEY_FILE);
		try {
			keys = readKeyFile(file);
		} catch (e) {
			if (((e as Error).cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw e;
			createKeyFile(dir, file);
			keys = readKeyFile(file);
		}
	}
	cache = { signature, keys };
	return keys;
}

/** Forgets the cached keys (tests, or after changing NIR_KEYS in-process). */
export function resetNirKeysCache(): void {
	cache = undefined;
}

// ---------------------------------------------------------------------------------------------
// Encryption: AES-256-GCM, ciphertext = iv (12) | tag (16) | data, the key id as AAD.
// ---------------------------------------------------------------------------------------------

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptedNir {
	ciphertext: Uint8Array;
	keyId: string;
}

export function encryptNir(nir: string, keys: NirKeys): { ciphertext: Buffer; keyId: string } {
	const { id, key } = keys.current;
	const iv = randomBytes(IV_BYTES);
	const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
	cipher.setAAD(Buffer.from(id, 'utf8'));
	const data = Buffer.concat([cipher.update(nir, 'utf8'), cipher.final()]);
	return { ciphertext: Buffer.concat([iv, cipher.getAuthTag(), data]), keyId: id };
}

/** Throws on an unknown key id, a truncated value, or any tampering (ciphertext, tag, iv or key id). */
export function decryptNir(encrypted: EncryptedNir, keys: NirKeys): string {
	const { ciphertext, keyId } = encrypted;
	const entry = keys.all.find((k) => k.id === keyId);
	if (!entry) throw new Error(`Unknown NIR key id '${keyId}': add that key to NIR_KEYS to read this value.`);
	const bytes = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
	if (bytes.length <= IV_BYTES + TAG_BYTES) throw new Error('NIR ciphertext is truncated.');
	const decipher = createDecipheriv('aes-256-gcm', entry.key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
	decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
	decipher.setAAD(Buffer.from(keyId, 'utf8'));
	try {
		return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
	} catch (e) {
		throw new Error(`NIR ciphertext failed authentication (key '${keyId}'): tampered or wrong key.`, { cause: e });
	}
}

// ---------------------------------------------------------------------------------------------
// Blind index: HMAC-SHA-256(normalised NIR) under HKDF(AES key, "nir-blind-index")
// ---------------------------------------------------------------------------------------------

const indexKeys = new WeakMap<Buffer, Buffer>();

function indexKey(key: NirKey): Buffer {
	let derived = indexKeys.get(key.key);
	if (!derived) {
		derived = Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), 'microstructures/nir-blind-index/v1', 32));
		indexKeys.set(key.key, derived);
	}
	return derived;
}

/** The blind index of a NIR under one key (the key that encrypts the row it is stored with). */
export function nirIndex(nir: string, key: NirKey): Buffer {
	return createHmac('sha256', indexKey(key)).update(normaliseNir(nir), 'utf8').digest();
}

/** The blind indexes a stored NIR may carry: one per known key (current first), for lookups during a rotation. */
export function nirIndexes(nir: string, keys: NirKeys): Buffer[] {
	return keys.all.map((k) => nirIndex(nir, k));
}

/** What a `patient_nir` row stores for a number: ciphertext, key id and blind index, all under the current key. */
export function sealNir(nir: string, keys: NirKeys): { ciphertext: Buffer; key_id: string; nir_index: Buffer } {
	const encrypted = encryptNir(nir, keys);
	return { ciphertext: encrypted.ciphertext, key_id: encrypted.keyId, nir_index: nirIndex(nir, keys.current) };
}

/**
 * Fills the blind index of rows stored without one (written before it existed, or by a tool that
 * did not compute it), under the key of each row. Returns how many rows it filled.
 */
export async function backfillNirIndex(db: Db, keys: NirKeys, batchSize = 200): Promise<number> {
	let count = 0;
	for (;;) {
		const filled = await db.transaction().execute(async (trx) => {
			const rows = await trx
				.selectFrom('patient_nir')
				.select(['patient_id', 'ciphertext', 'key_id'])
				.where('key_id', 'is not', null)
				.where('nir_index', 'is', null)
				.orderBy('patient_id')
				.limit(batchSize)
				.forUpdate()
				.skipLocked()
				.execute();
			for (const row of rows) {
				const key = keys.all.find((k) => k.id === row.key_id);
				if (!key) throw new Error(`Unknown NIR key id '${row.key_id}': add that key to NIR_KEYS to index this value.`);
				const nir = decryptNir({ ciphertext: row.ciphertext!, keyId: row.key_id! }, keys);
				await trx.updateTable('patient_nir').set({ nir_index: nirIndex(nir, key) }).where('patient_id', '=', row.patient_id).execute();
			}
			return rows.length;
		});
		count += filled;
		if (filled < batchSize) return count;
	}
}

// ---------------------------------------------------------------------------------------------
// Repository
// ---------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NirInput {
	status: NirStatus;
	/** Required for 'fourni' and 'provisoire', absent (or empty) otherwise. */
	nir?: string | null;
}

export type SetNirResult = { ok: true } | { ok: false; error: string };

export interface NirRow {
	status: NirStatus;
	ciphertext: Buffer | null;
	key_id: string | null;
	nir_index: Buffer | null;
}

/**
 * Checks a NIR input and seals it for storage: the row's values and the normalised number (null
 * for a status without one), or a French error.
 */
export function prepareNir(input: NirInput, keys: NirKeys): { ok: true; row: NirRow; nir: string | null } | { ok: false; error: string } {
	if (!NIR_STATUSES.includes(input.status)) return { ok: false, error: 'Statut du NIR invalide.' };
	const typed = normaliseNir(input.nir ?? '');
	if (nirStatusNeedsNumber(input.status)) {
		if (!typed) return { ok: false, error: 'Le NIR est requis pour ce statut.' };
		const valid = validateNir(typed);
		if (!valid.ok) return valid;
		return { ok: true, row: { status: input.status, ...sealNir(valid.nir, keys) }, nir: valid.nir };
	}
	if (typed) return { ok: false, error: 'Aucun NIR ne doit être saisi pour ce statut.' };
	return { ok: true, row: { status: input.status, ciphertext: null, key_id: null, nir_index: null }, nir: null };
}

/** Stores a prepared NIR row for a patient (insert or replace), as one step of the caller's transaction. */
export async function writeNir(db: Db, patientId: string, row: NirRow, userId: string | null): Promise<void> {
	const values = { ...row, updated_by: userId };
	await db
		.insertInto('patient_nir')
		.values({ patient_id: patientId, ...values })
		.onConflict((oc) => oc.column('patient_id').doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
		.execute();
}

/**
 * Records a patient's NIR status and, when there is one, the encrypted number (audited, without
 * the number). Validation problems come back as French messages; database errors are thrown.
 */
export async function setNir(
	db: Db,
	patientId: string,
	input: NirInput,
	userId: string | null,
	keys: NirKeys
): Promise<SetNirResult> {
	const prepared = prepareNir(input, keys);
	if (!prepared.ok) return prepared;
	if (!UUID.test(patientId)) return { ok: false, error: 'Patient introuvable.' };

	return db.transaction().execute(async (trx) => {
		const patient = await trx
			.selectFrom('patient')
			.select(['id', 'microstructure_id'])
			.where('id', '=', patientId)
			.executeTakeFirst();
		if (!patient) return { ok: false, error: 'Patient introuvable.' } as const;
		await writeNir(trx, patientId, prepared.row, userId);
		await audit(
			trx,
			{ actorId: userId },
			{
				action: 'patient.nir_updated',
				targetType: 'patient',
				targetId: patientId,
				microstructureId: patient.microstructure_id,
				details: { status: input.status }
			}
		);
		return { ok: true } as const;
	});
}

/** The patient's NIR status and decrypted number (null when the status has none); null if never set. */
export async function getNir(
	db: Db,
	patientId: string,
	keys: NirKeys
): Promise<{ status: NirStatus; nir: string | null } | null> {
	if (!UUID.test(patientId)) return null;
	const row = await db
		.selectFrom('patient_nir')
		.select(['status', 'ciphertext', 'key_id'])
		.where('patient_id', '=', patientId)
		.executeTakeFirst();
	if (!row) return null;
	const nir = row.ciphertext && row.key_id ? decryptNir({ ciphertext: row.ciphertext, keyId: row.key_id }, keys) : null;
	return { status: row.status, nir };
}

/**
 * Re-encrypts with the current key every NIR encrypted under another key, `batchSize` rows per
 * transaction (rows locked while re-encrypted), their blind index recomputed under the current key,
 * then indexes the rows that have none. Returns how many rows were re-encrypted; throws if
 * a row uses a key that is not in `keys`. `updated_by`/`updated_at` are left alone: the NIR did not change.
 */
export async function rotateNirKeys(db: Db, keys: NirKeys, opts: { batchSize?: number } = {}): Promise<number> {
	const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 200));
	const currentId = keys.current.id;
	let count = 0;
	let after: string | null = null;
	for (;;) {
		const from: string | null = after;
		const batch: string[] = await db.transaction().execute(async (trx): Promise<string[]> => {
			const rows = await trx
				.selectFrom('patient_nir')
				.select(['patient_id', 'ciphertext', 'key_id'])
				.where('key_id', 'is not', null)
				.where('key_id', '<>', currentId)
				.$if(from !== null, (q) => q.where('patient_id', '>', from!))
				.orderBy('patient_id')
				.limit(batchSize)
				.forUpdate()
				.execute();
			for (const row of rows) {
				const nir = decryptNir({ ciphertext: row.ciphertext!, keyId: row.key_id! }, keys);
				// The blind index follows the key: recomputed under the new one.
				const sealed = sealNir(nir, keys);
				await trx
					.updateTable('patient_nir')
					.set({ ciphertext: sealed.ciphertext, key_id: sealed.key_id, nir_index: sealed.nir_index })
					.where('patient_id', '=', row.patient_id)
					.execute();
			}
			return rows.map((r) => r.patient_id);
		});
		count += batch.length;
		if (batch.length < batchSize) break;
		after = batch[batch.length - 1];
	}
	if (count > 0) {
		await audit(db, { actorId: null }, { action: 'patient.nir_keys_rotated', details: { count, keyId: currentId } });
	}
	// Rows stored without a blind index (before it existed) get one now.
	await backfillNirIndex(db, keys);
	return count;
}
