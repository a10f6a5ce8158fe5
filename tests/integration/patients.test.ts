// The patients repository against a real database: pathway steps, optimistic locking, transfers,
// audit of every read and write, need-to-know through openPatient, anonymisation, and the
// "À faire" rules with fixed dates.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import { loadActor, type Actor, type MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import {
	anonymisePatient,
	applyPathwayAction,
	createPatient,
	exportPatient,
	listPatients,
	openPatient,
	todoForActor
} from '../../src/lib/server/patients/patients.ts';
import { todoItems, type TodoRow } from '../../src/lib/server/patients/todo.ts';

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
let tanneurs: MicrostructureRef;
let reze: MicrostructureRef;
let neuhof: MicrostructureRef;
let ines: Actor;
const TODAY = '2026-11-24';

async function ref(id: string): Promise<MicrostructureRef> {
	const row = await t.db.selectFrom('microstructure').select(['id', 'network_id']).where('id', '=', id).executeTakeFirstOrThrow();
	return { id: row.id, networkId: row.network_id };
}

beforeAll(async () => {
	t = await createTestDb();
	process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;
	ids = await seedDemo(t.db);
	tanneurs = await ref(ids.microstructures.tanneurs);
	neuhof = await ref(ids.microstructures.neuhof);
	reze = await ref(ids.microstructures.reze);
	ines = await loadActor(t.db, ids.users['ines.haddad']);
});
afterAll(async () => {
	await t?.close();
});

function ctx(userId: string) {
	return { actorId: userId, ip: '127.0.0.1', userAgent: 'vitest' };
}

async function include(actor: Actor, ms: MicrostructureRef, last = 'Test') {
	const r = await createPatient(t.db, ctx(actor.userId), ms, {
		identity: { lastName: last, firstName: 'Alice', birthDate: '1980-01-01', sex: 'F', phone: null, email: null },
		programme: 'MSMA',
		motif: 'addiction',
		orientationOrigin: null,
		medecinTraitant: null,
		start: { kind: 'include', on: '2026-01-15', orientation: 'psychologue', consent: { on: '2026-01-15', method: 'oral_atteste' } }
	}, TODAY);
	if (!r.ok) throw new Error(r.error);
	return r;
}

async function auditCount(action: string, targetId: string) {
	const row = await t.db.selectFrom('audit_event').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', action).where('target_id', '=', targetId).executeTakeFirstOrThrow();
	return Number(row.n);
}

describe('pathway', () => {
	test('inclusion, first contact and exit are stored with events and audited', async () => {
		const { id, code } = await include(ines, tanneurs);
		expect(code).toMatch(/^P-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
		let p = (await openPatient(t.db, ctx(ines.userId), ines, tanneurs, id))!;
		expect(p).toMatchObject({ state: 'inclus', renewal_due_on: '2027-01-15', consent_method: 'oral_atteste' });
		expect(await auditCount('patient.created', id)).toBe(1);
		expect(await auditCount('patient.read', id)).toBe(1);

		expect(await applyPathwayAction(t.db, ctx(ines.userId), tanneurs, p, { kind: 'first_contact', on: '2026-02-01' }, TODAY)).toEqual({ ok: true, newPatientId: undefined });
		// The same stale copy cannot be applied twice (another tab, another professional).
		expect(await applyPathwayAction(t.db, ctx(ines.userId), tanneurs, p, { kind: 'first_contact', on: '2026-02-02' }, TODAY)).toEqual({
			ok: false,
			error: 'Le dossier a été modifié entre-temps : rechargez la page et recommencez.'
		});
		p = (await openPatient(t.db, ctx(ines.userId), ines, tanneurs, id))!;
		expect(p.state).toBe('en_suivi');
		expect(await applyPathwayAction(t.db, ctx(ines.userId), tanneurs, p, { kind: 'include', on: '2026-03-01', orientation: 'les_deux', consent: { on: '2026-03-01', method: 'oral_atteste' } }, TODAY)).toEqual({
			ok: false,
			error: "L'inclusion n'est pas possible pour un patient en suivi."
		});
		expect((await applyPathwayAction(t.db, ctx(ines.userId), tanneurs, p, { kind: 'exit', on: '2026-06-01', reason: 'amelioration' }, TODAY)).ok).toBe(true);
		const events = await t.db.selectFrom('patient_event').select('kind').where('patient_id', '=', id).orderBy('recorded_at').execute();
		expect(events.map((e) => e.kind)).toEqual(['include', 'first_contact', 'exit']);
		expect(await auditCount('patient.exit', id)).toBe(1);
	});

	test('a transfer closes the record here and opens an included one there, linked', async () => {
		const camille = await loadActor(t.db, ids.users['camille.durand']);
		const { id } = await include(camille, tanneurs, 'Voyageur');
		const p = (await openPatient(t.db, ctx(camille.userId), camille, tanneurs, id))!;
		const r = await applyPathwayAction(t.db, ctx(camille.userId), tanneurs, p, { kind: 'transfer', on: '2026-05-01', toMicrostructureId: neuhof.id }, TODAY, neuhof);
		expect(r.ok && r.newPatientId).toBeTruthy();
		const moved = (await openPatient(t.db, ctx(camille.userId), camille, neuhof, (r as { newPatientId: string }).newPatientId))!;
		expect(moved).toMatchObject({ state: 'inclus', transferred_from: id, last_name: 'Voyageur', renewal_due_on: '2027-01-15' });
		const old = (await openPatient(t.db, ctx(camille.userId), camille, tanneurs, id))!;
		expect(old.state).toBe('transfere');
	});
});

describe('need-to-know', () => {
	test('only the care team and coordinators open a record; others get nothing, whatever the id', async () => {
		const { id } = await include(ines, tanneurs, 'Confidentiel');
		const elodie = await loadActor(t.db, ids.users['elodie.petit']);
		const nadia = await loadActor(t.db, ids.users['nadia.benali']);
		const marc = await loadActor(t.db, ids.users['marc.weber']);
		const anne = await loadActor(t.db, ids.users['anne.legoff']);
		const helene = await loadActor(t.db, ids.users['helene.roy']);
		expect(await openPatient(t.db, ctx(elodie.userId), elodie, tanneurs, id)).toBeUndefined();
		expect(await openPatient(t.db, ctx(elodie.userId), elodie, reze, id)).toBeUndefined(); // right id, wrong microstructure
		expect(await openPatient(t.db, ctx(nadia.userId), nadia, tanneurs, id)).toBeUndefined(); // secretariat
		expect(await openPatient(t.db, ctx(helene.userId), helene, tanneurs, id)).toBeUndefined(); // network admin, not a coordinator
		expect(await openPatient(t.db, ctx(anne.userId), anne, tanneurs, id)).toBeUndefined(); // coordinator of another network
		expect(await openPatient(t.db, ctx(ines.userId), ines, tanneurs, 'not-a-uuid')).toBeUndefined();
		expect((await openPatient(t.db, ctx(marc.userId), marc, tanneurs, id))?.id).toBe(id);
		// Refusals leave no read in the audit log; the coordinator's read is there.
		const reads = await t.db.selectFrom('audit_event').select('actor_id').where('action', '=', 'patient.read').where('target_id', '=', id).execute();
		expect(reads.map((r) => r.actor_id)).toEqual([marc.userId]);
	});

	test('the list of a microstructure shows only its patients, searches by name or code, and is audited', async () => {
		const { code } = await include(ines, tanneurs, 'Zébulon');
		const { patients } = await listPatients(t.db, ctx(ines.userId), tanneurs, { state: 'actifs', q: 'zébu' }, TODAY);
		expect(patients.map((p) => p.code)).toEqual([code]);
		const byCode = await listPatients(t.db, ctx(ines.userId), tanneurs, { q: code.toLowerCase() }, TODAY);
		expect(byCode.patients).toHaveLength(1);
		const elsewhere = await listPatients(t.db, ctx(ines.userId), reze, { q: 'zébu' }, TODAY);
		expect(elsewhere.patients).toEqual([]);
		const listed = await t.db.selectFrom('audit_event').select('id').where('action', '=', 'patient.list').where('actor_id', '=', ines.userId).execute();
		expect(listed.length).toBeGreaterThanOrEqual(3);
	});
});

describe('RGPD', () => {
	test('the export holds the record and its timeline, never the NIR; anonymisation keeps the pathway only', async () => {
		const { id } = await include(ines, tanneurs, 'Effacer');
		await t.db.insertInto('patient_nir').values({ patient_id: id, status: 'refuse', ciphertext: null, key_id: null, updated_by: null }).execute();
		let p = (await openPatient(t.db, ctx(ines.userId), ines, tanneurs, id))!;
		const exported = await exportPatient(t.db, p);
		expect(exported.patient.last_name).toBe('Effacer');
		expect(exported.nir?.status).toBe('refuse');
		expect(JSON.stringify(exported)).not.toMatch(/ciphertext/);
		expect(await anonymisePatient(t.db, ctx(ines.userId), tanneurs, p)).toEqual({ ok: false, error: "Seul le dossier d'un patient sorti peut être anonymisé." });
		await applyPathwayAction(t.db, ctx(ines.userId), tanneurs, p, { kind: 'exit', on: '2026-02-01', reason: 'demenagement' }, TODAY);
		p = (await openPatient(t.db, ctx(ines.userId), ines, tanneurs, id))!;
		expect(await anonymisePatient(t.db, ctx(ines.userId), tanneurs, p)).toEqual({ ok: true });
		p = (await openPatient(t.db, ctx(ines.userId), ines, tanneurs, id))!;
		expect(p).toMatchObject({ last_name: null, first_name: null, phone: null, birth_date: '1980-01-01', state: 'sorti', exit_reason: 'demenagement' });
		expect(p.anonymised_at).not.toBeNull();
		expect(await t.db.selectFrom('patient_nir').select('status').where('patient_id', '=', id).executeTakeFirst()).toBeUndefined();
		expect(await auditCount('patient.anonymised', id)).toBe(1);
	});
});

describe('À faire', () => {
	const row = (over: Partial<TodoRow>): TodoRow => ({
		id: 'p', code: 'P-AAAA-BBBB', microstructure_id: 'ms', state: 'en_suivi', included_on: '2026-06-01', renewal_due_on: '2027-06-01',
		last_contact_on: '2026-11-01', consent_method: 'oral_atteste', has_consent_document: false, nir_status: 'fourni', ...over
	});
	const billing = { billing: () => true };
	const clinical = { billing: () => false };

	test('rules with fixed dates', () => {
		expect(todoItems([row({})], TODAY, billing)).toEqual([]);
		expect(todoItems([row({ renewal_due_on: '2026-12-24' })], TODAY, clinical).map((i) => i.kind)).toEqual(['renewal_due']);
		expect(todoItems([row({ renewal_due_on: '2026-12-25' })], TODAY, clinical)).toEqual([]);
		expect(todoItems([row({ renewal_due_on: '2026-11-23' })], TODAY, clinical).map((i) => i.kind)).toEqual(['renewal_overdue']);
		expect(todoItems([row({ last_contact_on: '2026-08-26' })], TODAY, clinical).map((i) => i.kind)).toEqual(['lost_to_follow_up']);
		expect(todoItems([row({ last_contact_on: '2026-08-27' })], TODAY, clinical)).toEqual([]);
		expect(todoItems([row({ state: 'inclus', included_on: '2026-10-25', last_contact_on: null })], TODAY, clinical).map((i) => i.kind)).toEqual(['no_first_contact']);
		expect(todoItems([row({ state: 'inclus', included_on: '2026-10-26', last_contact_on: null })], TODAY, clinical)).toEqual([]);
		expect(todoItems([row({ consent_method: 'formulaire_signe' })], TODAY, clinical).map((i) => i.kind)).toEqual(['missing_consent']);
		expect(todoItems([row({ consent_method: 'formulaire_signe', has_consent_document: true })], TODAY, clinical)).toEqual([]);
		// The NIR is a billing matter: only billing roles are reminded of it.
		expect(todoItems([row({ nir_status: null })], TODAY, clinical)).toEqual([]);
		expect(todoItems([row({ nir_status: null })], TODAY, billing).map((i) => i.kind)).toEqual(['missing_nir']);
		expect(todoItems([row({ state: 'sorti', renewal_due_on: '2020-01-01' })], TODAY, billing)).toEqual([]);
	});

	test('from the demo: a GP sees her microstructure only, the administrative coordinator also sees missing NIRs', async () => {
		const refs = [tanneurs, neuhof, reze];
		const gpItems = await todoForActor(t.db, ines, refs, TODAY);
		expect(gpItems.length).toBeGreaterThan(0);
		expect(new Set(gpItems.map((i) => i.microstructureId))).toEqual(new Set([tanneurs.id]));
		expect(gpItems.some((i) => i.kind === 'missing_nir')).toBe(false);
		const sophie = await loadActor(t.db, ids.users['sophie.klein']);
		const billingItems = await todoForActor(t.db, sophie, refs, TODAY);
		expect(new Set(billingItems.map((i) => i.microstructureId))).toEqual(new Set([tanneurs.id, neuhof.id]));
		expect(billingItems.some((i) => i.kind === 'missing_nir')).toBe(true);
	});
});
