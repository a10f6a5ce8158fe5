// The same person, whatever the typing: the name key (the database's `patient_name_key`, the one
// function behind the stored keys and every comparison) and the matching rules of duplicates.ts —
// accents, case, hyphens, apostrophes, spaces, compound names, first and last names swapped, same
// birth date, same network, anonymised records left out, and what a report shows of each match.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { fingerprint, matchingRecords, reportFor, type IdentityProbe } from '../../src/lib/server/patients/duplicates.ts';
import { createNetwork } from '../../src/lib/server/org/networks.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { generatePatientCode } from '../../src/lib/server/patients/patients.ts';
import type { MicrostructureRef } from '../../src/lib/server/access/policy.ts';

let t: TestDb;
let here: MicrostructureRef;
let there: MicrostructureRef;
let otherNetwork: MicrostructureRef;

async function key(name: string): Promise<string | null> {
	const { rows } = await sql<{ k: string | null }>`select patient_name_key(${name}) as k`.execute(t.db);
	return rows[0].k;
}

async function patient(ms: MicrostructureRef, lastName: string, firstName: string, birthDate: string, extra: { anonymised?: boolean } = {}) {
	const row = await t.db
		.insertInto('patient')
		.values({
			microstructure_id: ms.id,
			code: generatePatientCode(),
			last_name: lastName,
			first_name: firstName,
			birth_date: birthDate,
			sex: null,
			phone: null,
			email: null,
			programme: 'MSMA',
			motif: 'addiction',
			orientation_origin: null,
			orientation: null,
			medecin_traitant: null,
			state: 'oriente',
			oriented_on: '2026-01-01',
			included_on: null,
			renewal_due_on: null,
			first_contact_on: null,
			last_contact_on: null,
			exited_on: null,
			exit_reason: null,
			consent_on: null,
			consent_method: null,
			consent_attested_by: null,
			transferred_from: null,
			created_by: null,
			anonymised_at: extra.anonymised ? new Date() : null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

beforeAll(async () => {
	t = await createTestDb();
	const net = await createNetwork(t.db, { name: 'Réseau', territory: '' });
	const net2 = await createNetwork(t.db, { name: 'Autre réseau', territory: '' });
	const mk = async (networkId: string, name: string) => ({ id: await createMicrostructure(t.db, { networkId, name, programmes: ['MSMA'], practiceKind: 'cabinet', city: 'Strasbourg' }), networkId });
	here = await mk(net, 'Ici');
	there = await mk(net, 'Là-bas');
	otherNetwork = await mk(net2, 'Ailleurs');
});
afterAll(async () => {
	await t?.close();
});

describe('name key', () => {
	test.each([
		['Lefèvre', 'LEFEVRE'],
		['Lefèvre', 'lefevre'],
		['Marie-Claire', 'Marie Claire'],
		['Marie-Claire', 'MARIE CLAIRE'],
		['Marie-Claire', 'marieclaire'],
		["N'Diaye", 'Ndiaye'],
		["N'Diaye", 'N’DIAYE'],
		['N’Diaye', 'n diaye'],
		['Jean-Pierre', '  jean   pierre '],
		['Éloïse', 'ELOISE'],
		['Ângela', 'angela'],
		['Çelik', 'celik'],
		['Œdipe', 'OEDIPE'],
		['Lætitia', 'laetitia'],
		['Straße', 'STRASSE'],
		['Le Goff', 'LEGOFF'],
		['Saint-Étienne', 'saint etienne'],
		['D’Artagnan', "d'artagnan"],
		['Müller', 'MULLER'],
		['Nuñez', 'NUNEZ'],
		['Øster', 'oster'],
		['Łukasz', 'lukasz']
	])('%s = %s', async (a, b) => {
		expect(await key(a)).toBe(await key(b));
	});

	test.each([
		['Martin', 'Martine'],
		['Lefèvre', 'Lefebvre'],
		['Marie-Claire', 'Marie'],
		['Dupont', 'Dupond']
	])('%s ≠ %s', async (a, b) => {
		expect(await key(a)).not.toBe(await key(b));
	});

	test('the key itself: folded, lower case, separators gone; null stays null', async () => {
		expect(await key("  Marie-Hélène d'Aubigné  ")).toBe('mariehelenedaubigne');
		expect(await key('---')).toBe('');
		expect(await key(null as unknown as string)).toBeNull();
	});

	test('the stored keys follow every write, including a later change of name', async () => {
		const id = await patient(here, 'Lefèvre', 'Anne-Sophie', '1980-01-01');
		const row = await t.db.selectFrom('patient').select(['last_name_key', 'first_name_key']).where('id', '=', id).executeTakeFirstOrThrow();
		expect(row).toEqual({ last_name_key: 'lefevre', first_name_key: 'annesophie' });
		await t.db.updateTable('patient').set({ last_name: 'Ndiaye' }).where('id', '=', id).execute();
		const changed = await t.db.selectFrom('patient').select('last_name_key').where('id', '=', id).executeTakeFirstOrThrow();
		expect(changed.last_name_key).toBe('ndiaye');
	});
});

describe('matching', () => {
	const probe = (lastName: string, firstName: string, birthDate = '1975-03-14'): IdentityProbe => ({ lastName, firstName, birthDate });

	test('same person typed differently, in either order', async () => {
		const id = await patient(here, "N'Diaye", 'Marie-Claire', '1975-03-14');
		for (const [last, first] of [
			['Ndiaye', 'Marie Claire'],
			['NDIAYE', 'MARIE-CLAIRE'],
			['n’diaye', 'marie claire'],
			['Marie-Claire', "N'Diaye"], // first and last swapped
			['MARIE CLAIRE', 'ndiaye']
		]) {
			const rows = await matchingRecords(t.db, here.networkId, probe(last, first), null);
			expect(rows.map((r) => r.id), `${last} ${first}`).toContain(id);
		}
	});

	test('a different birth date, a different first name or another network is not a match', async () => {
		await patient(here, 'Lefèvre', 'Paul', '1962-07-01');
		await patient(otherNetwork, 'Lefèvre', 'Paul', '1962-07-02');
		expect(await matchingRecords(t.db, here.networkId, probe('LEFEVRE', 'Paul', '1962-07-02'), null)).toEqual([]);
		expect(await matchingRecords(t.db, here.networkId, probe('LEFEVRE', 'Pauline', '1962-07-01'), null)).toEqual([]);
		expect(await matchingRecords(t.db, here.networkId, probe('LEFEVRE', 'Paul', '1962-07-01'), null)).toHaveLength(1);
	});

	test('an anonymised record has no name to match', async () => {
		await patient(here, 'Effacé', 'Jean', '1950-05-05', { anonymised: true });
		expect(await matchingRecords(t.db, here.networkId, probe('Efface', 'Jean', '1950-05-05'), null)).toEqual([]);
	});

	test('names that fold to nothing match nobody', async () => {
		await patient(here, '-', '-', '1999-09-09');
		expect(await matchingRecords(t.db, here.networkId, probe("'", '-', '1999-09-09'), null)).toEqual([]);
	});

	test('the report shows a record of the microstructure, only the existence of one elsewhere in the network', async () => {
		const mine = await patient(here, 'Muller', 'Odile', '1944-04-04');
		const theirs = await patient(there, 'Müller', 'Odile', '1944-04-04');
		const rows = await matchingRecords(t.db, here.networkId, probe('MULLER', 'odile', '1944-04-04'), null);
		const report = reportFor(here, rows)!;
		expect(report.here.map((m) => m.id)).toEqual([mine]);
		expect(report.here[0]).toMatchObject({ lastName: 'Muller', firstName: 'Odile', birthDate: '1944-04-04', state: 'oriente', byNir: false });
		expect(report.elsewhere).toEqual({ count: 1, byNir: false });
		const code = (await t.db.selectFrom('patient').select('code').where('id', '=', theirs).executeTakeFirstOrThrow()).code;
		const shown = JSON.stringify(report);
		expect(shown).not.toContain(theirs);
		expect(shown).not.toContain(code);
		expect(shown).not.toContain('Müller');
		// Seen from there, it is the other way round.
		const fromThere = reportFor(there, rows)!;
		expect(fromThere.here.map((m) => m.id)).toEqual([theirs]);
		expect(fromThere.elsewhere.count).toBe(1);
	});

	test('no match, no report; the fingerprint names the set, not the order', () => {
		expect(reportFor(here, [])).toBeNull();
		expect(fingerprint(['a', 'b'])).toBe(fingerprint(['b', 'a']));
		expect(fingerprint(['a', 'b'])).not.toBe(fingerprint(['a']));
	});
});
