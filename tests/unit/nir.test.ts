import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
	decryptNir,
	encryptNir,
	formatNir,
	getNir,
	loadNirKeys,
	maskNir,
	normaliseNir,
	parseNirKeys,
	resetNirKeysCache,
	rotateNirKeys,
	setNir,
	validateNir
} from '../../src/lib/server/patients/nir.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';

/** The key from the rule, independently of the module: 97 − (number mod 97), 2A → 19, 2B → 18. */
function keyOf(number13: string, corsica: Record<string, string> = { '2A': '19', '2B': '18' }): string {
	const dept = number13.slice(5, 7);
	const numeric = number13.slice(0, 5) + (corsica[dept] ?? dept) + number13.slice(7);
	return String(97n - (BigInt(numeric) % 97n)).padStart(2, '0');
}
const withKey = (number13: string) => number13 + keyOf(number13);

const b64 = () => randomBytes(32).toString('base64');
const keySet = (...ids: string[]) => parseNirKeys(ids.map((id) => `${id}:${b64()}`).join(','));

afterEach(() => resetNirKeysCache());

describe('validation', () => {
	// Keys verified by hand (digit-by-digit long division by 97):
	// 2550814168025 mod 97 = 59 → key 38 (the usual textbook example);
	// 1841276451089 mod 97 = 51 → key 46.
	test.each(['2 55 08 14 168 025 38', '1 84 12 76 451 089 46', '184127645108946', '1.84.12.76.451.089-46'])(
		'known-good NIR %s',
		(input) => {
			const r = validateNir(input);
			expect(r.ok).toBe(true);
			if (r.ok) expect(r.nir).toMatch(/^\d{15}$/);
		}
	);

	test('normalisation strips spaces, dots and dashes and upper-cases', () => {
		expect(normaliseNir(' 1 80.01-2a 004\u00a0123 43 ')).toBe('180012A00412343');
		expect(formatNir('184127645108946')).toBe('1 84 12 76 451 089 46');
	});

	test('NIRs built with the rule are valid, for every first digit and month convention', () => {
		for (const number of [
			'1841276451089',
			'2920575123456',
			'3750199123001',
			'4000299350012',
			'7632099123001',
			'8994299999999',
			'1785013055001',
			'2019997123123'
		]) {
			expect(validateNir(withKey(number))).toEqual({ ok: true, nir: withKey(number) });
		}
	});

	test('wrong length', () => {
		const error = 'Le NIR comporte 15 caractères (13 + clé).';
		expect(validateNir('1841276451089')).toEqual({ ok: false, error });
		expect(validateNir('18412764510894')).toEqual({ ok: false, error });
		expect(validateNir('1841276451089460')).toEqual({ ok: false, error });
		expect(validateNir('')).toEqual({ ok: false, error: 'Le NIR est requis.' });
	});

	test('wrong key', () => {
		expect(validateNir('184127645108947')).toEqual({ ok: false, error: 'Clé de contrôle du NIR incorrecte.' });
		expect(validateNir('255081416802538'.replace(/38$/, '00'))).toEqual({ ok: false, error: 'Clé de contrôle du NIR incorrecte.' });
		// One mistyped digit of the number is caught too.
		expect(validateNir('184127645198946')).toEqual({ ok: false, error: 'Clé de contrôle du NIR incorrecte.' });
	});

	test('bad month, bad first digit, bad characters', () => {
		for (const month of ['00', '13', '19', '43', '49']) {
			const r = validateNir(withKey(`184${month}76451089`));
			expect(r.ok).toBe(false);
			if (!r.ok) expect(r.error).toMatch(/^Format du NIR invalide.*mois/);
		}
		for (const first of ['0', '5', '6', '9']) {
			const r = validateNir(withKey(`${first}841276451089`));
			expect(r.ok).toBe(false);
			if (!r.ok) expect(r.error).toMatch(/^Format du NIR invalide/);
		}
		expect(validateNir('1841276X5108946')).toEqual({ ok: false, error: 'Format du NIR invalide.' });
		expect(validateNir('18412762C108946')).toEqual({ ok: false, error: 'Format du NIR invalide.' });
		expect(validateNir('1841276451089AB')).toEqual({ ok: false, error: 'Format du NIR invalide.' });
	});

	test('Corsica: 2A and 2B with their own key (2A → 19, 2B → 18)', () => {
		// By hand: 1800119004123 mod 97 = 54 → key 43; 2750618033045 mod 97 = 59 → key 38.
		expect(validateNir('1 80 01 2A 004 123 43')).toEqual({ ok: true, nir: '180012A00412343' });
		expect(validateNir('2 75 06 2b 033 045 38')).toEqual({ ok: true, nir: '275062B03304538' });
		expect(keyOf('180012A004123')).toBe('43');
		expect(keyOf('275062B033045')).toBe('38');
		for (const number of ['180012A004123', '275062B033045', '299122A999999', '101012B000001']) {
			expect(validateNir(withKey(number)).ok).toBe(true);
			// A key computed without the substitution (2A/2B read as 20) is refused.
			const naive = keyOf(number, { '2A': '20', '2B': '20' });
			expect(naive).not.toBe(keyOf(number));
			expect(validateNir(number + naive)).toEqual({ ok: false, error: 'Clé de contrôle du NIR incorrecte.' });
		}
	});

	test('masking shows sex, year, month and key only', () => {
		expect(maskNir('184127645108946')).toBe('1 84 12 ** *** *** 46');
		expect(maskNir('1 80 01 2A 004 123 43')).toBe('1 80 01 ** *** *** 43');
		expect(maskNir('garbage')).toBe('* ** ** ** *** *** **');
		expect(maskNir('184127645108946')).not.toMatch(/76|451|089/);
	});
});

describe('keys and encryption', () => {
	test('encryption round trip, fresh iv every time, layout iv | tag | data', () => {
		const keys = keySet('a');
		const one = encryptNir('184127645108946', keys);
		const two = encryptNir('184127645108946', keys);
		expect(one.keyId).toBe('a');
		expect(one.ciphertext.length).toBe(12 + 16 + 15);
		expect(Buffer.from(one.ciphertext).equals(Buffer.from(two.ciphertext))).toBe(false);
		expect(Buffer.from(one.ciphertext).includes('184127645108946')).toBe(false);
		expect(decryptNir(one, keys)).toBe('184127645108946');
		expect(decryptNir({ ciphertext: new Uint8Array(two.ciphertext), keyId: 'a' }, keys)).toBe('184127645108946');
	});

	test('tampered ciphertext is rejected (data, tag, iv, truncation)', () => {
		const keys = keySet('a');
		const { ciphertext, keyId } = encryptNir('184127645108946', keys);
		for (const index of [0, 12, 28, ciphertext.length - 1]) {
			const tampered = Buffer.from(ciphertext);
			tampered[index] ^= 0x01;
			expect(() => decryptNir({ ciphertext: tampered, keyId }, keys)).toThrow(/failed authentication/);
		}
		expect(() => decryptNir({ ciphertext: ciphertext.subarray(0, 28), keyId }, keys)).toThrow(/truncated/);
	});

	test('unknown key id, wrong key, and a relabelled key id are rejected', () => {
		const keys = keySet('a', 'b');
		const encrypted = encryptNir('184127645108946', keys);
		expect(() => decryptNir({ ...encrypted, keyId: 'zz' }, keys)).toThrow(/Unknown NIR key id 'zz'/);
		// Same id, different key material.
		expect(() => decryptNir(encrypted, keySet('a'))).toThrow(/failed authentication/);
		// The key id is authenticated: claiming another known id fails even with that id mapped to the same key.
		const key = keys.current.key.toString('base64');
		const twin = parseNirKeys(`a:${key},b:${key}`);
		expect(decryptNir(encrypted, twin)).toBe('184127645108946');
		expect(() => decryptNir({ ...encrypted, keyId: 'b' }, twin)).toThrow(/failed authentication/);
	});

	test('NIR_KEYS parsing: good values, first key current', () => {
		const k1 = b64();
		const k2 = b64();
		const keys = loadNirKeys({ NIR_KEYS: ` 2026-01:${k1} , 2025-01:${k2}`, DATABASE_URL: 'postgres://x/y' });
		expect(keys.current.id).toBe('2026-01');
		expect(keys.all.map((k) => k.id)).toEqual(['2026-01', '2025-01']);
		expect(keys.all[1].key.equals(Buffer.from(k2, 'base64'))).toBe(true);
		// Keys never show up when logged.
		expect(inspect(keys)).not.toContain(k1);
		expect(JSON.stringify(keys)).not.toContain(k1);
		expect(JSON.stringify(keys.current)).not.toContain(k1);
	});

	test('NIR_KEYS parsing: bad values', () => {
		const short = randomBytes(16).toString('base64');
		expect(() => loadNirKeys({ NIR_KEYS: `a:${short}` })).toThrow(/key 'a' must be 32 bytes.*got 16/);
		expect(() => loadNirKeys({ NIR_KEYS: `a:${b64()},b:${randomBytes(33).toString('base64')}` })).toThrow(/key 'b' must be 32 bytes/);
		expect(() => loadNirKeys({ NIR_KEYS: b64() })).toThrow(/entry 1 must look like "id:base64key"/);
		expect(() => loadNirKeys({ NIR_KEYS: `a:${b64()},a:${b64()}` })).toThrow(/duplicate key id 'a'/);
		expect(() => loadNirKeys({ NIR_KEYS: 'a:not base64!' })).toThrow(/not valid base64/);
		expect(() => loadNirKeys({ NIR_KEYS: `bad id:${b64()}` })).toThrow(/invalid key id/);
		expect(() => loadNirKeys({ NIR_KEYS: ' , ' })).toThrow(/NIR_KEYS is empty/);
		// Error messages never contain the key material.
		try {
			loadNirKeys({ NIR_KEYS: `a:${short}` });
		} catch (e) {
			expect((e as Error).message).not.toContain(short);
		}
	});

	test('with DATABASE_URL and no NIR_KEYS (production), loading fails', () => {
		const dir = mkdtempSync(join(tmpdir(), 'nir-keys-'));
		try {
			expect(() => loadNirKeys({ DATABASE_URL: 'postgres://db/app' }, dir)).toThrow(/NIR_KEYS must be set in production/);
			expect(() => loadNirKeys({ DATABASE_URL: 'postgres://db/app', NIR_KEYS: '' }, dir)).toThrow(/NIR_KEYS must be set/);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	test('embedded default: the key file is created once (mode 0600), then reused', () => {
		const dir = join(mkdtempSync(join(tmpdir(), 'nir-keys-')), 'data');
		try {
			const first = loadNirKeys({}, dir);
			const file = join(dir, 'nir-keys.json');
			const content = readFileSync(file, 'utf8');
			if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
			expect(first.current.key.length).toBe(32);
			// Cached per process: same object until the cache is reset.
			expect(loadNirKeys({}, dir)).toBe(first);
			resetNirKeysCache();
			const second = loadNirKeys({}, dir);
			expect(second).not.toBe(first);
			expect(second.current.id).toBe(first.current.id);
			expect(second.current.key.equals(first.current.key)).toBe(true);
			expect(readFileSync(file, 'utf8')).toBe(content);
			// NIR_KEYS takes precedence over the file.
			const env = loadNirKeys({ NIR_KEYS: `env:${b64()}` }, dir);
			expect(env.current.id).toBe('env');
			// A value encrypted with the file's key reads back after a "restart".
			resetNirKeysCache();
			expect(decryptNir(encryptNir('184127645108946', first), loadNirKeys({}, dir))).toBe('184127645108946');
		} finally {
			rmSync(join(dir, '..'), { recursive: true, force: true });
		}
	});
});

describe('repository and rotation (real database)', () => {
	let t: TestDb;
	let patients: string[];
	let userId: string;
	const nirs = ['184127645108946', '255081416802538', '180012A00412343', '275062B03304538', withKey('8994299999999')];

	beforeAll(async () => {
		t = await createTestDb();
		const network = await t.db.insertInto('network').values({ name: 'Réseau test' }).returning('id').executeTakeFirstOrThrow();
		const ms = await t.db
			.insertInto('microstructure')
			.values({ network_id: network.id, name: 'MS test', programmes: ['MSMA'] })
			.returning('id')
			.executeTakeFirstOrThrow();
		const user = await t.db
			.insertInto('app_user')
			.values({ email: 'nir@test.fr', first_name: 'A', last_name: 'B', profession: 'coordinateur_administratif', password_hash: 'x' })
			.returning('id')
			.executeTakeFirstOrThrow();
		userId = user.id;
		const rows = await t.db
			.insertInto('patient')
			.values(
				Array.from({ length: 7 }, (_, i) => ({
					microstructure_id: ms.id,
					code: `NIR-${i}`,
					programme: 'MSMA' as const,
					state: 'inclus' as const
				}))
			)
			.returning('id')
			.execute();
		patients = rows.map((r) => r.id);
	});
	afterAll(async () => {
		await t?.close();
	});

	test('setNir validates, stores ciphertext only, and getNir decrypts', async () => {
		const keys = keySet('A');
		const [p] = patients;
		expect(await getNir(t.db, p, keys)).toBeNull();
		expect(await setNir(t.db, p, { status: 'fourni' }, userId, keys)).toEqual({ ok: false, error: 'Le NIR est requis pour ce statut.' });
		expect(await setNir(t.db, p, { status: 'fourni', nir: '184127645108947' }, userId, keys)).toEqual({
			ok: false,
			error: 'Clé de contrôle du NIR incorrecte.'
		});
		expect(await setNir(t.db, p, { status: 'refuse', nir: '184127645108946' }, userId, keys)).toEqual({
			ok: false,
			error: 'Aucun NIR ne doit être saisi pour ce statut.'
		});
		expect(await setNir(t.db, '00000000-0000-0000-0000-000000000000', { status: 'refuse' }, userId, keys)).toEqual({
			ok: false,
			error: 'Patient introuvable.'
		});
		expect(await setNir(t.db, 'not-a-uuid', { status: 'refuse' }, userId, keys)).toEqual({ ok: false, error: 'Patient introuvable.' });
		expect(await t.db.selectFrom('patient_nir').selectAll().execute()).toEqual([]);

		expect(await setNir(t.db, p, { status: 'fourni', nir: '1 84 12 76 451 089 46' }, userId, keys)).toEqual({ ok: true });
		expect(await getNir(t.db, p, keys)).toEqual({ status: 'fourni', nir: '184127645108946' });
		const row = await t.db.selectFrom('patient_nir').selectAll().where('patient_id', '=', p).executeTakeFirstOrThrow();
		expect(row.key_id).toBe('A');
		expect(row.updated_by).toBe(userId);
		expect(Buffer.from(row.ciphertext!).includes('184127645108946')).toBe(false);

		// Switching to a status without a number clears the ciphertext.
		expect(await setNir(t.db, p, { status: 'refuse', nir: '' }, userId, keys)).toEqual({ ok: true });
		expect(await getNir(t.db, p, keys)).toEqual({ status: 'refuse', nir: null });
		const cleared = await t.db.selectFrom('patient_nir').selectAll().where('patient_id', '=', p).executeTakeFirstOrThrow();
		expect(cleared.ciphertext).toBeNull();
		expect(cleared.key_id).toBeNull();

		// Audited, without the number.
		const events = await t.db.selectFrom('audit_event').selectAll().where('action', '=', 'patient.nir_updated').orderBy('at').execute();
		expect(events.map((e) => e.details)).toEqual([{ status: 'fourni' }, { status: 'refuse' }]);
		expect(JSON.stringify(events)).not.toContain('184127645108946');
	});

	test('rotation re-encrypts every row under the current key, in batches, then does nothing', async () => {
		const keysA = keySet('A');
		const b = b64();
		const keysB = parseNirKeys(`B:${b}`);
		const keysBA = parseNirKeys(`B:${b},A:${keysA.current.key.toString('base64')}`);

		// Five NIRs under key A, one provisional, one patient without a number.
		for (const [i, nir] of nirs.entries()) {
			const status = i === 4 ? 'provisoire' : 'fourni';
			expect(await setNir(t.db, patients[i], { status, nir }, userId, keysA)).toEqual({ ok: true });
		}
		expect(await setNir(t.db, patients[5], { status: 'regime_particulier' }, userId, keysA)).toEqual({ ok: true });
		const before = await t.db.selectFrom('patient_nir').select(['key_id']).where('key_id', 'is not', null).execute();
		expect(before.map((r) => r.key_id)).toEqual(Array(5).fill('A'));

		// Rotation with a key set that lacks A fails without changing anything.
		await expect(rotateNirKeys(t.db, keysB)).rejects.toThrow(/Unknown NIR key id 'A'/);

		expect(await rotateNirKeys(t.db, keysBA, { batchSize: 2 })).toBe(5);
		const after = await t.db.selectFrom('patient_nir').select(['patient_id', 'key_id', 'status']).execute();
		expect(after.filter((r) => r.key_id !== null).map((r) => r.key_id)).toEqual(Array(5).fill('B'));
		expect(after.find((r) => r.patient_id === patients[5])).toMatchObject({ status: 'regime_particulier', key_id: null });

		// Readable with B alone; no longer with A alone.
		for (const [i, nir] of nirs.entries()) {
			expect(await getNir(t.db, patients[i], keysB)).toEqual({ status: i === 4 ? 'provisoire' : 'fourni', nir });
		}
		await expect(getNir(t.db, patients[0], keysA)).rejects.toThrow(/Unknown NIR key id 'B'/);

		expect(await rotateNirKeys(t.db, keysBA)).toBe(0);
		expect(await rotateNirKeys(t.db, keysB, { batchSize: 1 })).toBe(0);

		const rotations = await t.db.selectFrom('audit_event').select('details').where('action', '=', 'patient.nir_keys_rotated').execute();
		expect(rotations.map((r) => r.details)).toEqual([{ count: 5, keyId: 'B' }]);
	});

	test('a batch size that divides the row count exactly terminates with the right count', async () => {
		const keysX = keySet('X');
		const keysYX = parseNirKeys(`Y:${b64()},X:${keysX.current.key.toString('base64')}`);
		for (const [i, nir] of nirs.entries()) {
			expect(await setNir(t.db, patients[i], { status: 'fourni', nir }, userId, keysX)).toEqual({ ok: true });
		}
		expect(await rotateNirKeys(t.db, keysYX, { batchSize: 5 })).toBe(5);
		expect(await rotateNirKeys(t.db, keysYX, { batchSize: 5 })).toBe(0);
		expect(await getNir(t.db, patients[2], parseNirKeys(`Y:${keysYX.current.key.toString('base64')}`))).toEqual({
			status: 'fourni',
			nir: nirs[2]
		});
	});
});
