// Referral means a team, no duplicate patients, and asking the care team, against a real database:
// concurrent inclusions of one person, namesakes, what a match elsewhere in the network reveals, the
// NIR's blind index (across a key rotation), the care team and notifications an orientation writes in
// the patient's own transaction, the choice among several professionals, "Demander l'accès" and its
// one-click answer, and the folded name search of the patient list.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseUrlFor } from '../helpers/global-setup.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createNetwork } from '../../src/lib/server/org/networks.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { createUser } from '../../src/lib/server/org/users.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { loadActor, ppsDecision, type MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import { applyPathwayAction, createPatient, listPatients, type NewPatient } from '../../src/lib/server/patients/patients.ts';
import { referPatient } from '../../src/lib/server/patients/referral.ts';
import { grantAccess, pendingAccessRequests, requestAccess, requestTransfer } from '../../src/lib/server/patients/requests.ts';
import { nirIndex, parseNirKeys, prepareNir, rotateNirKeys, setNir, type NirKeys } from '../../src/lib/server/patients/nir.ts';
import { resolvePatientRef } from '../../src/lib/server/pps/pps.ts';
import type { Orientation } from '../../src/lib/server/db/schema.ts';

const TODAY = '2026-11-24';
let t: TestDb;
let tanneurs: MicrostructureRef & { name: string };
let neuhof: MicrostructureRef & { name: string };
const u: Record<string, string> = {};

const ctx = (userId: string) => ({ actorId: userId, ip: '127.0.0.1', userAgent: 'vitest' });

function identity(lastName: string, firstName: string, birthDate = '1970-05-04'): NewPatient['identity'] {
	return { lastName, firstName, birthDate, sex: null, phone: null, email: null };
}

function newPatient(lastName: string, firstName: string, orientation: Orientation | null = 'psychologue', birthDate = '1970-05-04'): NewPatient {
	return {
		identity: identity(lastName, firstName, birthDate),
		programme: 'MSMA',
		motif: 'addiction',
		orientationOrigin: null,
		medecinTraitant: null,
		start: orientation ? { kind: 'include', on: '2026-11-20', orientation, consent: { on: '2026-11-20', method: 'oral_atteste' } } : { kind: 'orient', on: '2026-11-20' }
	};
}

async function count(table: 'patient' | 'notification', where: (q: any) => any = (q) => q): Promise<number> {
	const row = await where(t.db.selectFrom(table).select((eb: any) => eb.fn.countAll().as('n'))).executeTakeFirstOrThrow();
	return Number(row.n);
}

async function team(patientId: string): Promise<string[]> {
	return (await t.db.selectFrom('patient_team_member').select('user_id').where('patient_id', '=', patientId).execute()).map((r) => r.user_id).sort();
}

async function notified(patientId: string, kind: string): Promise<string[]> {
	const rows = await t.db.selectFrom('notification').select('user_id').where('kind', '=', kind).where('link', 'like', `%/patients/${patientId}%`).execute();
	return rows.map((r) => r.user_id).sort();
}

/**
 * PostgreSQL only (the embedded database has one connection, which serialises everything anyway):
 * an exclusive lock on the patient table held by a separate connection, released once `n` backends
 * of this database wait on a lock.
 */
async function closedGate(): Promise<{ openWhenWaiting(n: number): Promise<void> } | null> {
	if (!process.env.DATABASE_URL) return null;
	const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.db);
	const client = new pg.Client({ connectionString: databaseUrlFor(process.env.DATABASE_URL, rows[0].name) });
	await client.connect();
	await client.query('begin');
	await client.query('lock table patient in access exclusive mode');
	return {
		async openWhenWaiting(n: number) {
			const deadline = Date.now() + 15_000;
			try {
				for (;;) {
					// Statistics are a snapshot per transaction: take a fresh one each time.
					await client.query('select pg_stat_clear_snapshot()');
					const r = await client.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
					if (r.rows[0].n >= n) break;
					if (Date.now() > deadline) throw new Error(`only ${r.rows[0].n} of ${n} connections reached the gate`);
					await new Promise((resolve) => setTimeout(resolve, 20));
				}
			} finally {
				await client.query('commit');
				await client.end();
			}
		}
	};
}

beforeAll(async () => {
	t = await createTestDb();
	const net = await createNetwork(t.db, { name: 'Bas-Rhin', territory: '' });
	const mk = async (name: string) => ({ id: await createMicrostructure(t.db, { networkId: net, name, programmes: ['MSMA'], practiceKind: 'cabinet', city: 'Strasbourg' }), networkId: net, name });
	tanneurs = await mk('Cabinet des Tanneurs');
	neuhof = await mk('MSP du Neuhof');
	const people: [string, 'medecin_generaliste' | 'psychologue' | 'travailleur_social' | 'coordinateur_medical', [string, 'soignant' | 'coordination'][]][] = [
		['ines', 'medecin_generaliste', [[tanneurs.id, 'soignant']]],
		['paul', 'medecin_generaliste', [[tanneurs.id, 'soignant']]],
		['camille', 'psychologue', [[tanneurs.id, 'soignant'], [neuhof.id, 'soignant']]],
		['karim', 'travailleur_social', [[tanneurs.id, 'soignant']]],
		['claire', 'medecin_generaliste', [[neuhof.id, 'soignant']]],
		['zoe', 'psychologue', [[neuhof.id, 'soignant']]],
		['lea', 'travailleur_social', []],
		['marc', 'coordinateur_medical', []]
	];
	for (const [login, profession, memberships] of people) {
		u[login] = await createUser(t.db, { email: `${login}@example.org`, firstName: login[0].toUpperCase() + login.slice(1), lastName: 'Test', profession, password: 'a-long-enough-password' });
		for (const [msId, role] of memberships) await addMembership(t.db, { userId: u[login], microstructureId: msId, role, createdBy: null });
	}
	await addMembership(t.db, { userId: u.marc, networkId: net, role: 'coordination_medicale', createdBy: null });
});
afterAll(async () => {
	await t?.close();
});

describe('no duplicate patients', () => {
	test('a burst of 10 identical inclusions creates exactly one patient; the others are told of it', async () => {
		const before = await count('patient');
		// On PostgreSQL, hold the burst at the door until every connection is inside its transaction:
		// a lock on the patient table, from a connection of its own, stops them at their first read of
		// it (the duplicate check), so that without the identity lock they would all pass it together.
		const gate = await closedGate();
		const burst = Promise.all(
			Array.from({ length: 10 }, (_, i) => createPatient(t.db, ctx(i % 2 ? u.ines : u.paul), tanneurs, newPatient(i % 3 ? 'Rafale' : 'RAFALÉ', i % 2 ? 'Jean-Marc' : 'jean marc'), TODAY))
		);
		await gate?.openWhenWaiting(5);
		const results = await burst;
		const created = results.filter((r) => r.ok);
		const refused = results.filter((r) => !r.ok);
		expect(created).toHaveLength(1);
		expect(await count('patient')).toBe(before + 1);
		for (const r of refused) {
			expect(r.ok).toBe(false);
			if (r.ok) continue;
			expect(r.error).toBe('Ce patient est peut-être déjà enregistré');
			expect(r.duplicate?.here.map((m) => m.id)).toEqual([created[0].ok ? created[0].id : '']);
		}
		const audited = await t.db.selectFrom('audit_event').select('id').where('action', '=', 'patient.duplicate_found').where('target_id', '=', tanneurs.id).execute();
		expect(audited.length).toBeGreaterThanOrEqual(9);
	});

	test('confirming a namesake creates a second record, audited; a stale confirmation is asked again', async () => {
		const first = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Homonyme', 'Luc', 'psychologue', '1981-01-01'), TODAY);
		expect(first.ok).toBe(true);
		const again = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('HOMONYME', 'Luc', 'psychologue', '1981-01-01'), TODAY);
		expect(again.ok).toBe(false);
		const report = !again.ok ? again.duplicate! : null!;
		expect(report.here).toHaveLength(1);
		// A fingerprint of some other set of records is not a confirmation of this one.
		const stale = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Homonyme', 'Luc', 'psychologue', '1981-01-01'), TODAY, { homonymOf: 'not-the-same-set' });
		expect(stale).toMatchObject({ ok: false, error: 'Les dossiers correspondants ont changé entre-temps\u00a0: vérifiez-les de nouveau.' });
		const second = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Homonyme', 'Luc', 'psychologue', '1981-01-01'), TODAY, { homonymOf: report.fingerprint });
		expect(second.ok).toBe(true);
		const audit = await t.db.selectFrom('audit_event').select(['action', 'details']).where('target_id', '=', second.ok ? second.id : '').execute();
		expect(audit.map((a) => a.action).sort()).toEqual(['patient.created', 'patient.homonym_confirmed']);
		// Two records now: a third inclusion must confirm against both.
		const third = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Homonyme', 'Luc', 'psychologue', '1981-01-01'), TODAY, { homonymOf: report.fingerprint });
		expect(third.ok).toBe(false);
		expect(!third.ok && third.duplicate?.here).toHaveLength(2);
	});

	test('a match in another microstructure of the network reveals that it exists, nothing more', async () => {
		const theirs = await createPatient(t.db, ctx(u.claire), neuhof, newPatient('Ailleurs', 'Solène', 'psychologue', '1990-02-02'), TODAY);
		expect(theirs.ok).toBe(true);
		const code = theirs.ok ? theirs.code : '';
		const id = theirs.ok ? theirs.id : '';
		const mine = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('AILLEURS', 'Solene', 'psychologue', '1990-02-02'), TODAY);
		expect(mine.ok).toBe(false);
		if (mine.ok) return;
		expect(mine.duplicate!.here).toEqual([]);
		expect(mine.duplicate!.elsewhere).toEqual({ count: 1, byNir: false });
		const shown = JSON.stringify(mine);
		for (const secret of [id, code, 'Solène', 'Neuhof', neuhof.id]) expect(shown).not.toContain(secret);

		// The way to ask for the transfer: the holders hear of it (the requester learns nothing more), once a day.
		expect(await requestTransfer(t.db, ctx(u.ines), tanneurs, { lastName: 'Ailleurs', firstName: 'Solene', birthDate: '1990-02-02' }, null)).toEqual({ ok: true });
		expect(await requestTransfer(t.db, ctx(u.ines), tanneurs, { lastName: 'Ailleurs', firstName: 'Solene', birthDate: '1990-02-02' }, null)).toEqual({ ok: false, reason: 'already' });
		// Its care team (two psychologists work at the Neuhof: none was picked) and the network's coordination.
		const told = await notified(id, 'transfer_request');
		expect(told).toEqual([u.claire, u.marc].sort());
		expect(await requestTransfer(t.db, ctx(u.ines), tanneurs, { lastName: 'Personne', firstName: 'Inconnue', birthDate: '1990-02-02' }, null)).toEqual({ ok: false, reason: 'none' });
	});

	test('the same NIR is found through its blind index, typed differently, and across a key rotation', async () => {
		const keysA = parseNirKeys(`a:${randomBytes(32).toString('base64')}`);
		const original = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Numéro', 'Sécu', 'psychologue', '1984-12-01'), TODAY);
		expect(original.ok).toBe(true);
		const pid = original.ok ? original.id : '';
		expect(await setNir(t.db, pid, { status: 'fourni', nir: '1 84 12 76 451 089 46' }, u.ines, keysA)).toEqual({ ok: true });
		const stored = await t.db.selectFrom('patient_nir').select(['nir_index', 'ciphertext']).where('patient_id', '=', pid).executeTakeFirstOrThrow();
		expect(Buffer.from(stored.nir_index!)).toEqual(nirIndex('184127645108946', keysA.current));
		expect(Buffer.from(stored.ciphertext!).includes(Buffer.from('184127645108946'))).toBe(false);

		// Another name, another birth date, the same number: the same person.
		const tryWith = (keys: NirKeys, extra: { homonymOf?: string } = {}) => {
			const nir = prepareNir({ status: 'fourni', nir: '184127645108946' }, keys);
			if (!nir.ok) throw new Error(nir.error);
			return createPatient(t.db, ctx(u.paul), tanneurs, newPatient('Autrenom', 'Bob', 'psychologue', '1960-01-01'), TODAY, { nir, nirKeys: keys, ...extra });
		};
		const found = await tryWith(keysA);
		expect(found.ok).toBe(false);
		const report = !found.ok ? found.duplicate! : null!;
		expect(report.byNir).toBe(true);
		expect(report.here.map((m) => [m.id, m.byNir])).toEqual([[pid, true]]);
		// A NIR match is no namesake.
		expect(await tryWith(keysA, { homonymOf: report.fingerprint })).toMatchObject({ ok: false, error: 'Le même NIR désigne la même personne\u00a0: ouvrez ou faites transférer le dossier existant, ou corrigez le NIR.' });

		// Rotation: while both keys are known the old index is still found; after it, the new one.
		const keysBA = parseNirKeys(`b:${randomBytes(32).toString('base64')},a:${keysA.current.key.toString('base64')}`);
		expect((await tryWith(keysBA)).ok).toBe(false);
		await rotateNirKeys(t.db, keysBA);
		const rotated = await t.db.selectFrom('patient_nir').select(['nir_index', 'key_id']).where('patient_id', '=', pid).executeTakeFirstOrThrow();
		expect(rotated.key_id).toBe('b');
		expect(Buffer.from(rotated.nir_index!)).toEqual(nirIndex('184127645108946', keysBA.current));
		const keysB = parseNirKeys(`b:${keysBA.current.key.toString('base64')}`);
		expect((await tryWith(keysB)).ok).toBe(false);

		// A row stored without an index (before the column existed) is indexed by the rotation tool.
		await t.db.updateTable('patient_nir').set({ nir_index: null }).where('patient_id', '=', pid).execute();
		expect((await tryWith(keysB)).ok).toBe(true);
		await rotateNirKeys(t.db, keysB);
		const refilled = await t.db.selectFrom('patient_nir').select('nir_index').where('patient_id', '=', pid).executeTakeFirstOrThrow();
		expect(Buffer.from(refilled.nir_index!)).toEqual(nirIndex('184127645108946', keysB.current));
	});
});

describe('referral means a team', () => {
	test('an orientation to both puts the psychologist and the social worker in the team and tells them, the GP too', async () => {
		const r = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Orienté', 'Deux', 'les_deux'), TODAY);
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(await team(r.id)).toEqual([u.ines, u.camille, u.karim].sort());
		expect(r.referral).toEqual({ add: [u.camille, u.karim], pending: [], missing: [] });
		expect(await notified(r.id, 'orientation')).toEqual([u.camille, u.karim].sort());
		const note = await t.db.selectFrom('notification').select(['title', 'body']).where('user_id', '=', u.camille).where('link', '=', `/ms/${tanneurs.id}/patients/${r.id}`).executeTakeFirstOrThrow();
		expect(note.title).toBe(`Nouvelle orientation\u00a0: ${r.code}`);
		expect(note.body).toContain('Ines Test');
		// They may now edit the plan.
		const ref = (await resolvePatientRef(t.db, r.id))!;
		expect(ppsDecision(await loadActor(t.db, u.camille), ref)).toEqual({ access: 'rw', reason: null });
		expect(ppsDecision(await loadActor(t.db, u.paul), ref)).toEqual({ access: 'ro', reason: 'not_in_team' });
	});

	test('team and notifications are written in the patient’s transaction: a failing notification leaves no patient', async () => {
		await sql`create function refuse_orientation() returns trigger language plpgsql as $$ begin raise exception 'no notification today'; end $$`.execute(t.db);
		await sql`create trigger refuse_orientation before insert on notification for each row when (new.kind = 'orientation') execute function refuse_orientation()`.execute(t.db);
		try {
			const before = await count('patient');
			await expect(createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Atomique', 'Anna', 'les_deux'), TODAY)).rejects.toThrow(/no notification today/);
			expect(await count('patient')).toBe(before);
			const orphans = await t.db.selectFrom('patient_team_member as m').leftJoin('patient as p', 'p.id', 'm.patient_id').select('m.user_id').where('p.id', 'is', null).execute();
			expect(orphans).toEqual([]);
		} finally {
			await sql`drop trigger refuse_orientation on notification`.execute(t.db);
			await sql`drop function refuse_orientation()`.execute(t.db);
		}
	});

	test('several psychologists: nobody is added by default, the choice is asked and then made', async () => {
		// Zoé joins the Tanneurs: two psychologists there now.
		await addMembership(t.db, { userId: u.zoe, microstructureId: tanneurs.id, role: 'soignant', createdBy: null });
		try {
			const r = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Choix', 'Pendant', 'les_deux'), TODAY);
			expect(r.ok && r.referral).toEqual({ add: [u.karim], pending: ['psychologue'], missing: [] });
			const id = r.ok ? r.id : '';
			expect(await team(id)).toEqual([u.ines, u.karim].sort());
			expect(await notified(id, 'orientation')).toEqual([u.karim]);
			// A pick that is not a candidate is refused, nothing written.
			const before = await count('patient');
			const forged = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Choix', 'Forgé', 'psychologue'), TODAY, { referTo: { psychologue: u.claire } });
			expect(forged).toMatchObject({ ok: false, field: 'referTo_psychologue' });
			expect(await count('patient')).toBe(before);
			// Chosen at inclusion.
			const picked = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Choix', 'Fait', 'psychologue'), TODAY, { referTo: { psychologue: u.zoe } });
			expect(picked.ok && (await team(picked.id))).toEqual([u.ines, u.zoe].sort());
			// Chosen afterwards, from the record ("À qui orienter ce patient ?").
			const patient = await t.db.selectFrom('patient').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
			expect(await referPatient(t.db, ctx(u.ines), tanneurs, patient, 'psychologue', u.claire)).toMatchObject({ ok: false });
			expect(await referPatient(t.db, ctx(u.ines), tanneurs, patient, 'psychologue', u.camille)).toEqual({ ok: true, joined: [u.camille] });
			expect(await team(id)).toEqual([u.ines, u.karim, u.camille].sort());
			expect(await notified(id, 'orientation')).toEqual([u.camille, u.karim].sort());
		} finally {
			await t.db.deleteFrom('membership').where('user_id', '=', u.zoe).where('microstructure_id', '=', tanneurs.id).execute();
		}
	});

	test('an orientation nobody here can take is said, not promised; re-inclusion refers again', async () => {
		const r = await createPatient(t.db, ctx(u.claire), neuhof, newPatient('Sans', 'Travailleur', 'travailleur_social'), TODAY);
		expect(r.ok && r.referral).toEqual({ add: [], pending: [], missing: ['travailleur_social'] });
		// Included from "orienté" on the record, later: the orientation then names the team.
		const oriented = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Plus', 'Tard', null), TODAY);
		const id = oriented.ok ? oriented.id : '';
		expect(await team(id)).toEqual([u.ines]);
		const patient = await t.db.selectFrom('patient').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
		const included = await applyPathwayAction(t.db, ctx(u.paul), tanneurs, patient, { kind: 'include', on: '2026-11-21', orientation: 'travailleur_social', consent: { on: '2026-11-21', method: 'oral_atteste' } }, TODAY);
		expect(included).toMatchObject({ ok: true, joined: [u.paul, u.karim] });
		expect(await team(id)).toEqual([u.ines, u.paul, u.karim].sort());
		expect(await notified(id, 'orientation')).toEqual([u.karim]);
	});
});

describe('asking the care team', () => {
	test('"Demander l’accès" reaches the team once, and "Ajouter à l’équipe" makes the plan editable', async () => {
		const r = await createPatient(t.db, ctx(u.ines), tanneurs, newPatient('Accès', 'Demandé', 'psychologue'), TODAY);
		const patient = await t.db.selectFrom('patient').selectAll().where('id', '=', r.ok ? r.id : '').executeTakeFirstOrThrow();
		// Five clicks at once (two tabs, a double tap): one request, one notification each.
		const asked = await Promise.all(Array.from({ length: 5 }, () => requestAccess(t.db, ctx(u.paul), tanneurs, patient)));
		expect(asked.filter((a) => a.ok)).toHaveLength(1);
		expect(asked.filter((a) => !a.ok)).toEqual(Array(4).fill({ ok: false, reason: 'already' }));
		expect(await notified(patient.id, 'access_request')).toEqual([u.ines, u.camille].sort());
		expect((await pendingAccessRequests(t.db, patient.id)).map((p) => p.id)).toEqual([u.paul]);
		const audited = await t.db.selectFrom('audit_event').select('id').where('action', '=', 'patient.access_requested').where('target_id', '=', patient.id).execute();
		expect(audited).toHaveLength(1);

		expect(await grantAccess(t.db, ctx(u.ines), tanneurs, patient, u.paul)).toEqual({ ok: true, name: 'Paul Test' });
		expect(await team(patient.id)).toContain(u.paul);
		expect(await pendingAccessRequests(t.db, patient.id)).toEqual([]);
		expect(await notified(patient.id, 'access_granted')).toEqual([u.paul]);
		const ref = (await resolvePatientRef(t.db, patient.id))!;
		expect(ppsDecision(await loadActor(t.db, u.paul), ref).access).toBe('rw');
		// A second click finds it done; someone who does not work here cannot be added.
		expect(await grantAccess(t.db, ctx(u.camille), tanneurs, patient, u.paul)).toEqual({ ok: false, reason: 'already_in', name: 'Paul Test' });
		expect(await grantAccess(t.db, ctx(u.ines), tanneurs, patient, u.lea)).toEqual({ ok: false, reason: 'not_eligible' });
		// Answered, it may be asked again later (after being removed, say): not throttled by the old one.
		await t.db.deleteFrom('patient_team_member').where('patient_id', '=', patient.id).where('user_id', '=', u.paul).execute();
		expect(await requestAccess(t.db, ctx(u.paul), tanneurs, patient)).toEqual({ ok: true });
	});
});

describe('patient list search', () => {
	test('names are searched folded: accents, case, hyphens, apostrophes, order', async () => {
		await createPatient(t.db, ctx(u.claire), neuhof, newPatient('Lefèvre', 'Marie-Claire', 'psychologue', '1950-01-01'), TODAY);
		await createPatient(t.db, ctx(u.claire), neuhof, newPatient("N'Diaye", 'Aminata', 'psychologue', '1951-01-01'), TODAY);
		const search = async (q: string) => (await listPatients(t.db, ctx(u.claire), neuhof, { q }, TODAY)).patients.map((p) => p.last_name);
		expect(await search('lefevre')).toEqual(['Lefèvre']);
		expect(await search('LEFÈVRE')).toEqual(['Lefèvre']);
		expect(await search('marie claire')).toEqual(['Lefèvre']);
		expect(await search('mariecl')).toEqual(['Lefèvre']);
		expect(await search('lefevre marie')).toEqual(['Lefèvre']);
		expect(await search('ndiaye')).toEqual(["N'Diaye"]);
		expect(await search('n’diaye')).toEqual(["N'Diaye"]);
		expect(await search('%')).toEqual([]);
		expect(await search("'")).toEqual([]);
	});

	test('"Dans mon équipe de soins" lists the patients whose team holds me', async () => {
		const mine = (await listPatients(t.db, ctx(u.camille), tanneurs, { teamOf: u.camille }, TODAY)).patients.map((p) => p.id);
		const all = (await listPatients(t.db, ctx(u.camille), tanneurs, {}, TODAY)).patients.map((p) => p.id);
		expect(mine.length).toBeGreaterThan(0);
		expect(mine.length).toBeLessThan(all.length);
		for (const id of mine) expect(await team(id)).toContain(u.camille);
	});
});
