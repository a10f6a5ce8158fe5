// The patient as the booking screens see them (booking/booking-patients.ts): the care team's
// professionals and open waiting entries, the secretariat's name search (folded like the patient
// list, only patients who may be booked, bounded, audited with the names it returned).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bookingPatient, searchBookablePatients, SEARCH_MAX } from '../../src/lib/server/booking/booking-patients.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createPatient, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';

let t: TestDb;
let practice: Practice;
let other: Practice;
const ctx = { actorId: null, ip: null, userAgent: 'test' };
const ref = () => ({ id: practice.microstructureId, networkId: practice.networkId });

beforeAll(async () => {
	t = await createTestDb();
	practice = await createPractice(t.db);
	other = await createPractice(t.db);
});
afterAll(async () => t?.close());

describe('bookingPatient', () => {
	test('names the patient, lists the team’s professionals who hold permanences and the open waiting entries, audited as a read', async () => {
		const p = await createPatient(t.db, practice, { lastName: 'Lefèvre', firstName: 'Anaïs' });
		const psy = await createUser(t.db, 'psychologue', 'Durand');
		const gp = await createUser(t.db, 'medecin_generaliste', 'Haddad', 'Inès');
		await t.db.insertInto('patient_team_member').values([{ patient_id: p.id, user_id: psy.id }, { patient_id: p.id, user_id: gp.id }]).execute();
		await t.db.insertInto('waiting_entry').values({ microstructure_id: practice.microstructureId, patient_id: p.id, profession: 'travailleur_social', kind: 'premier_contact' }).execute();
		const seen = await bookingPatient(t.db, ctx, ref(), p.id);
		expect(seen).toMatchObject({ name: 'LEFÈVRE Anaïs', active: true, orientedTo: ['psychologue'] });
		expect(seen!.professionals).toEqual([{ id: psy.id, name: 'Camille Durand', profession: 'psychologue' }]);
		expect(seen!.waiting.map((w) => w.profession)).toEqual(['travailleur_social']);
		const audited = await t.db.selectFrom('audit_event').select(['action', 'details']).where('target_id', '=', p.id).execute();
		expect(audited).toEqual([{ action: 'patient.read', details: { purpose: 'booking' } }]);
	});

	test('a patient of another microstructure, or a malformed id, is not found', async () => {
		const elsewhere = await createPatient(t.db, other);
		expect(await bookingPatient(t.db, ctx, ref(), elsewhere.id)).toBeUndefined();
		expect(await bookingPatient(t.db, ctx, ref(), "' or 1=1 --")).toBeUndefined();
	});
});

describe('searchBookablePatients', () => {
	test('folds accents, case and hyphens; only included or followed patients of this microstructure; bounded', async () => {
		await createPatient(t.db, practice, { lastName: 'Marie-Claire', firstName: 'Dubois' });
		const left = await createPatient(t.db, practice, { lastName: 'Mariet', firstName: 'Sortie' });
		await t.db.updateTable('patient').set({ state: 'sorti' }).where('id', '=', left.id).execute();
		await createPatient(t.db, other, { lastName: 'Marie', firstName: 'Ailleurs' });
		const found = await searchBookablePatients(t.db, ctx, ref(), 'marie claire');
		const foundAudit = await t.db.selectFrom('audit_event').select('details').where('action', '=', 'patient.list').execute();
		expect(foundAudit.map((a) => a.details)).toEqual([{ purpose: 'booking_search', count: 1, patients: [found[0].id] }]);
		expect(found.map((f) => f.name)).toEqual(['MARIE-CLAIRE Dubois']);
		expect(await searchBookablePatients(t.db, ctx, ref(), 'lefevre')).toHaveLength(1);
		expect(await searchBookablePatients(t.db, ctx, ref(), 'm')).toEqual([]);
		// LIKE's own characters are text, not wildcards.
		expect(await searchBookablePatients(t.db, ctx, ref(), '%%')).toEqual([]);
		for (let i = 0; i < SEARCH_MAX + 5; i++) await createPatient(t.db, practice, { lastName: `Nombreux${i}`, firstName: 'Test' });
		expect(await searchBookablePatients(t.db, ctx, ref(), 'nombreux')).toHaveLength(SEARCH_MAX);
		// Every search is audited (the one too short to run is not a read).
		expect(await t.db.selectFrom('audit_event').select('id').where('action', '=', 'patient.list').execute()).toHaveLength(4);
	});
});
