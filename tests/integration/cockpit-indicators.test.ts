// The cockpit's indicators against a small network built by hand, every figure computed by hand
// (see the comments next to each patient), over the period 2026-01-01 → 2026-06-30 (181 days).
// Plus the filters of the cockpit pages and the CSV export of the same figures.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/lib/server/db/index.ts';
import type { Profession } from '../../src/lib/server/db/schema.ts';
import { computeIndicators, expectedRcps, type Indicators } from '../../src/lib/server/cockpit/indicators.ts';
import { parseIndicatorQuery } from '../../src/lib/server/cockpit/indicators-filter.ts';
import { indicatorsCsv } from '../../src/lib/server/cockpit/indicators-csv.ts';
import { withCockpit } from '../../src/lib/i18n/cockpit.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';

// The app's dictionary with the cockpit's sections (kept out of the one every page downloads).
const fr = withCockpit('fr');

const FROM = '2026-01-01';
const TO = '2026-06-30';

let testDb: TestDb;
let db: Db;
const ids: Record<string, string> = {};

async function user(profession: Profession, name: string) {
	const row = await db
		.insertInto('app_user')
		.values({ email: `${randomUUID()}@example.test`, first_name: name, last_name: name, profession, rpps: null, adeli: null, password_hash: 'x', totp_key: null, totp_last_step: null, disabled_at: null })
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

async function membership(userId: string, msId: string, startsOn: string, endsOn: string | null, role: 'soignant' | 'coordination' = 'soignant') {
	await db.insertInto('membership').values({ user_id: userId, microstructure_id: msId, network_id: null, role, starts_on: startsOn, ends_on: endsOn, created_by: null, ended_by: null }).execute();
}

interface PatientSpec {
	ms: string;
	sex: 'F' | 'M' | null;
	birth: string | null;
	motif: 'addiction' | 'precarite' | 'sante_mentale';
	programme?: 'MSMA' | 'MSPC';
	state: 'oriente' | 'inclus' | 'en_suivi' | 'sorti' | 'transfere';
	included?: string | null;
	orientation?: 'psychologue' | 'travailleur_social' | 'les_deux' | null;
	firstContact?: string | null;
	exited?: string | null;
	exitReason?: 'perdu_de_vue' | 'amelioration' | null;
	events: [kind: string, on: string, details?: Record<string, unknown>][];
}

async function patient(code: string, p: PatientSpec) {
	const row = await db
		.insertInto('patient')
		.values({
			microstructure_id: p.ms,
			code,
			last_name: 'Nom',
			first_name: 'Prénom',
			birth_date: p.birth,
			sex: p.sex,
			phone: null,
			email: null,
			programme: p.programme ?? 'MSMA',
			motif: p.motif,
			orientation_origin: null,
			orientation: p.orientation ?? null,
			medecin_traitant: null,
			state: p.state,
			oriented_on: p.included ?? '2025-01-01',
			included_on: p.included ?? null,
			renewal_due_on: null,
			first_contact_on: p.firstContact ?? null,
			last_contact_on: p.firstContact ?? null,
			exited_on: p.exited ?? null,
			exit_reason: p.exitReason ?? null,
			consent_on: p.included ?? null,
			consent_method: p.included ? 'formulaire_signe' : null,
			consent_attested_by: null,
			transferred_from: null,
			created_by: null,
			anonymised_at: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	for (const [kind, on, details] of p.events) {
		await db.insertInto('patient_event').values({ patient_id: row.id, kind, occurred_on: on, recorded_by: null, details: JSON.stringify(details ?? {}) }).execute();
	}
	ids[code] = row.id;
	return row.id;
}

const occurrences = new Map<string, string>();
const permanences = new Map<string, string>();
async function appointment(patientCode: string, msId: string, professionalId: string, profession: Profession, on: string, status: 'venu' | 'absent' | 'excuse' | 'annule', hour = 10) {
	let permanenceId = permanences.get(professionalId + msId);
	if (!permanenceId) {
		permanenceId = (
			await db
				.insertInto('permanence')
				.values({ microstructure_id: msId, professional_id: professionalId, room_id: null, weekday: 1, every_weeks: 1, starts_on: '2025-01-06', ends_on: null, start_time: '08:00', end_time: '19:00', first_minutes: 60, followup_minutes: 60, previous_id: null, created_by: null })
				.returning('id')
				.executeTakeFirstOrThrow()
		).id;
		permanences.set(professionalId + msId, permanenceId);
	}
	let occurrenceId = occurrences.get(permanenceId + on);
	if (!occurrenceId) {
		occurrenceId = (
			await db
				.insertInto('permanence_occurrence')
				.values({ permanence_id: permanenceId, microstructure_id: msId, professional_id: professionalId, room_id: null, on_date: on, starts_at: new Date(`${on}T07:00:00Z`), ends_at: new Date(`${on}T17:00:00Z`), cancelled_at: null, cancel_reason: null, absence_id: null })
				.returning('id')
				.executeTakeFirstOrThrow()
		).id;
		occurrences.set(permanenceId + on, occurrenceId);
	}
	const startsAt = `${on}T${String(hour).padStart(2, '0')}:00:00Z`;
	await db
		.insertInto('appointment')
		.values({
			microstructure_id: msId,
			patient_id: ids[patientCode],
			professional_id: professionalId,
			profession,
			occurrence_id: occurrenceId,
			room_id: null,
			kind: 'suivi',
			starts_at: new Date(startsAt),
			ends_at: new Date(`${on}T${String(hour + 1).padStart(2, '0')}:00:00Z`),
			status,
			booked_by: professionalId,
			request_key: randomUUID(),
			refills_id: null,
			moved_to: null,
			cancelled_at: status === 'annule' ? new Date(`${on}T06:00:00Z`) : null,
			cancelled_by: null,
			cancel_reason: status === 'annule' ? 'patient' : null,
			attendance_marked_at: null,
			attendance_marked_by: null
		})
		.execute();
}

async function session(msId: string, on: string, status: 'cloturee' | 'annulee' | 'planifiee', minFrequency: string, passages: string[] = []) {
	const template = { name: 'Trame', targetMinutes: 90, minFrequency, sections: [], quorumProfessions: [], optionalInvitees: '', patientMayAttend: false, minutesPerCase: 10 };
	const row = await db
		.insertInto('rcp_session')
		.values({ microstructure_id: msId, series_id: null, title: 'RCP', starts_at: new Date(`${on}T10:30:00Z`), ends_at: new Date(`${on}T12:00:00Z`), room_id: null, visio_url: null, programme: null, status, template: JSON.stringify(template), agenda_built_at: null, animator_id: null, pointer_item_id: null, pointer_since: null, started_at: null, closed_at: null, closed_by: null, created_by: null, occurrence_at: null })
		.returning('id')
		.executeTakeFirstOrThrow();
	for (const code of passages) await db.insertInto('rcp_passage').values({ patient_id: ids[code], session_id: row.id, on_date: on, decision: 'poursuite' }).execute();
}

beforeAll(async () => {
	testDb = await createTestDb();
	db = testDb.db;
	const network = await db.insertInto('network').values({ name: 'Réseau test' }).returning('id').executeTakeFirstOrThrow();
	const other = await db.insertInto('network').values({ name: 'Autre réseau' }).returning('id').executeTakeFirstOrThrow();
	ids.network = network.id;
	ids.other = other.id;
	const ms = async (name: string, networkId: string) =>
		(await db.insertInto('microstructure').values({ network_id: networkId, name, programmes: ['MSMA', 'MSPC'], archived_at: null }).returning('id').executeTakeFirstOrThrow()).id;
	const A = (ids.A = await ms('MS Alpha', network.id));
	const B = (ids.B = await ms('MS Bêta', network.id));
	const C = (ids.C = await ms('MS Gamma', other.id));

	const psyA = await user('psychologue', 'PsyA');
	const tsA = await user('travailleur_social', 'TsA');
	const psyB = await user('psychologue', 'PsyB');
	const psychiatre = await user('psychiatre', 'Psychiatre');
	const psyC = await user('psychologue', 'PsyC');
	// A: psychologist throughout; social worker until 15 March → April, May, June without one.
	await membership(psyA, A, '2025-01-01', null);
	await membership(tsA, A, '2025-01-01', '2026-03-15');
	// B: psychologist from 10 February → January without one; no social worker in the care team
	// (the social worker's coordination role does not count) → 6 months.
	await membership(psyB, B, '2026-02-10', null);
	await membership(tsA, B, '2025-01-01', null, 'coordination');
	await membership(psyC, C, '2025-01-01', null);

	// MS Alpha.
	// A1: woman, 35 at inclusion, précarité, included 10 Jan (psychologue), first contact 15 Jan (5 days).
	await patient('A1', { ms: A, sex: 'F', birth: '1990-05-01', motif: 'precarite', state: 'en_suivi', included: '2026-01-10', orientation: 'psychologue', firstContact: '2026-01-15', events: [['include', '2026-01-10', { orientation: 'psychologue' }], ['first_contact', '2026-01-15']] });
	// A2: man, 75, included 1 Feb (social worker), no recorded first contact but an appointment
	// attended on 21 Feb (20 days).
	await patient('A2', { ms: A, sex: 'M', birth: '1950-03-01', motif: 'addiction', state: 'inclus', included: '2026-02-01', orientation: 'travailleur_social', events: [['include', '2026-02-01', { orientation: 'travailleur_social' }]] });
	// A3: included in 2025, renewed on 25 Feb: in the file active, not an inclusion of the period.
	await patient('A3', { ms: A, sex: 'F', birth: null, motif: 'addiction', state: 'en_suivi', included: '2025-03-01', orientation: 'psychologue', firstContact: '2025-03-10', events: [['include', '2025-03-01'], ['renew', '2026-02-25']] });
	// A4: included in 2025, exit on 1 March (lost to follow-up): in the file active, one exit.
	await patient('A4', { ms: A, sex: 'M', birth: '2005-01-01', motif: 'precarite', state: 'sorti', included: '2025-06-01', orientation: 'psychologue', firstContact: '2025-06-10', exited: '2026-03-01', exitReason: 'perdu_de_vue', events: [['include', '2025-06-01'], ['exit', '2026-03-01', { reason: 'perdu_de_vue' }]] });
	// A5: MSPC, woman, birth date unknown, included 10 April (both), no contact yet.
	await patient('A5', { ms: A, sex: 'F', birth: null, motif: 'addiction', programme: 'MSPC', state: 'inclus', included: '2026-04-10', orientation: 'les_deux', events: [['include', '2026-04-10', { orientation: 'les_deux' }]] });
	// A6: oriented only; A7: left before the period. Neither counts.
	await patient('A6', { ms: A, sex: 'M', birth: '1980-01-01', motif: 'addiction', state: 'oriente', events: [['orient', '2026-02-01']] });
	await patient('A7', { ms: A, sex: 'M', birth: '1980-01-01', motif: 'addiction', state: 'sorti', included: '2025-01-05', orientation: 'psychologue', firstContact: '2025-01-10', exited: '2025-12-01', exitReason: 'amelioration', events: [['include', '2025-01-05'], ['exit', '2025-12-01', { reason: 'amelioration' }]] });

	// MS Bêta.
	// B1: man, 55, santé mentale, included 1 March (psychologue), first contact 15 May (75 days).
	await patient('B1', { ms: B, sex: 'M', birth: '1970-07-01', motif: 'sante_mentale', state: 'en_suivi', included: '2026-03-01', orientation: 'psychologue', firstContact: '2026-05-15', events: [['include', '2026-03-01', { orientation: 'psychologue' }]] });
	// B2: woman, 29, précarité, included 20 Jan (both), first contact 30 Jan (10 days), exit 1 May (improvement).
	await patient('B2', { ms: B, sex: 'F', birth: '1996-06-30', motif: 'precarite', state: 'sorti', included: '2026-01-20', orientation: 'les_deux', firstContact: '2026-01-30', exited: '2026-05-01', exitReason: 'amelioration', events: [['include', '2026-01-20', { orientation: 'les_deux' }], ['exit', '2026-05-01', { reason: 'amelioration' }]] });
	// B3: included in 2025, transferred on 1 Feb: in the file active, one transfer (not an exit).
	await patient('B3', { ms: B, sex: 'M', birth: '1960-01-01', motif: 'addiction', state: 'transfere', included: '2025-10-01', orientation: 'psychologue', firstContact: '2025-10-05', exited: '2026-02-01', events: [['include', '2025-10-01'], ['transfer', '2026-02-01']] });

	// Another network's patient: never counted.
	await patient('C1', { ms: C, sex: 'F', birth: '1990-01-01', motif: 'precarite', state: 'inclus', included: '2026-01-05', orientation: 'psychologue', events: [['include', '2026-01-05']] });

	// Appointments. A: attended 4 (psy 2, social worker 2), absent 3, excused 1, one cancelled, one before the period.
	await appointment('A1', A, psyA, 'psychologue', '2026-01-15', 'venu');
	await appointment('A1', A, psyA, 'psychologue', '2026-02-15', 'venu');
	await appointment('A1', A, tsA, 'travailleur_social', '2026-03-01', 'absent');
	await appointment('A1', A, psyA, 'psychologue', '2026-03-10', 'excuse');
	await appointment('A1', A, psyA, 'psychologue', '2026-03-20', 'annule');
	await appointment('A2', A, tsA, 'travailleur_social', '2026-02-21', 'venu');
	await appointment('A2', A, tsA, 'travailleur_social', '2026-03-05', 'venu');
	await appointment('A3', A, psyA, 'psychologue', '2025-12-20', 'venu');
	await appointment('A3', A, psyA, 'psychologue', '2026-04-01', 'absent');
	await appointment('A5', A, psyA, 'psychologue', '2026-05-05', 'absent');
	// B: attended 3 (psy 2, psychiatrist 1).
	await appointment('B1', B, psyB, 'psychologue', '2026-05-15', 'venu');
	await appointment('B1', B, psychiatre, 'psychiatre', '2026-06-01', 'venu');
	await appointment('B2', B, psyB, 'psychologue', '2026-01-30', 'venu');
	await appointment('C1', C, psyC, 'psychologue', '2026-02-02', 'venu');

	// RCPs of A: closed 20 Jan (A1, A3), 20 March (A1, A4), 10 May (A3); cancelled 20 April; planned
	// 25 June with a quarterly template (the latest template: 181 days × 4 / 365 → 1 expected);
	// one closed in December 2025 (A3). B has none.
	await session(A, '2025-12-15', 'cloturee', 'mensuelle', ['A3']);
	await session(A, '2026-01-20', 'cloturee', 'mensuelle', ['A1', 'A3']);
	await session(A, '2026-03-20', 'cloturee', 'mensuelle', ['A1', 'A4']);
	await session(A, '2026-04-20', 'annulee', 'hebdomadaire');
	await session(A, '2026-05-10', 'cloturee', 'mensuelle', ['A3']);
	await session(A, '2026-06-25', 'planifiee', 'trimestrielle');
	await session(C, '2026-02-10', 'cloturee', 'hebdomadaire', ['C1']);
}, 60_000);

afterAll(async () => {
	await testDb?.close();
});

describe('computeIndicators', () => {
	let result: Indicators;
	beforeAll(async () => {
		result = await computeIndicators(db, { microstructureIds: [ids.A, ids.B], from: FROM, to: TO });
	});
	const unit = (id: string) => result.units.find((u) => u.id === id)!;

	it('lists the microstructures by name, and the period', () => {
		expect(result.units.map((u) => u.name)).toEqual(['MS Alpha', 'MS Bêta']);
		expect(result.days).toBe(181);
	});

	it('counts the file active, inclusions, renewals, exits by reason and transfers', () => {
		const a = unit(ids.A);
		const b = unit(ids.B);
		expect([a.fileActive, a.inclusions, a.reinclusions, a.renewals, a.exits, a.transfers]).toEqual([5, 3, 0, 1, 1, 0]);
		expect(a.exitsByReason).toMatchObject({ perdu_de_vue: 1, amelioration: 0 });
		expect([b.fileActive, b.inclusions, b.renewals, b.exits, b.transfers]).toEqual([3, 2, 0, 1, 1]);
		expect(b.exitsByReason).toMatchObject({ amelioration: 1, perdu_de_vue: 0 });
		const t = result.total;
		expect([t.fileActive, t.inclusions, t.renewals, t.exits, t.transfers]).toEqual([8, 5, 1, 2, 1]);
		expect(t.exitsByReason).toEqual({ amelioration: 1, souhait_patient: 0, reorientation: 0, perdu_de_vue: 1, demenagement: 0, deces: 0, autre: 0 });
	});

	it('gives the inclusions per month, per microstructure and in total', () => {
		expect(result.inclusionsByMonth.map((m) => m.month)).toEqual(['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06']);
		expect(result.inclusionsByMonth.map((m) => m.total)).toEqual([2, 1, 1, 1, 0, 0]);
		expect(result.inclusionsByMonth.map((m) => m.byUnit[ids.A] ?? 0)).toEqual([1, 1, 0, 1, 0, 0]);
		expect(result.inclusionsByMonth.map((m) => m.byUnit[ids.B] ?? 0)).toEqual([1, 0, 1, 0, 0, 0]);
	});

	it('describes the patients included: women, précarité, age bands, orientations', () => {
		const a = unit(ids.A);
		expect([a.includedPatients, a.women, a.precarite]).toEqual([3, 2, 1]);
		expect(a.womenShare).toBeCloseTo(2 / 3);
		expect(a.ageBands).toEqual({ lt25: 0, a25_39: 1, a40_54: 0, a55_69: 0, a70: 1, unknown: 1 });
		expect(a.orientations).toEqual({ psychologue: 1, travailleur_social: 1, les_deux: 1, unknown: 0 });
		const t = result.total;
		expect([t.includedPatients, t.women, t.precarite]).toEqual([5, 3, 2]);
		expect(t.womenShare).toBeCloseTo(0.6);
		expect(t.precariteShare).toBeCloseTo(0.4);
		expect(t.ageBands).toEqual({ lt25: 0, a25_39: 2, a40_54: 0, a55_69: 1, a70: 1, unknown: 1 });
		expect(t.orientations).toEqual({ psychologue: 2, travailleur_social: 1, les_deux: 2, unknown: 0 });
	});

	it('counts consultations per profession and per followed patient, and no-shows', () => {
		const a = unit(ids.A);
		expect(a.consultations).toEqual({ psychologue: 2, travailleur_social: 2, psychiatre: 0 });
		expect(a.consultationsPerPatient.psychologue).toBeCloseTo(0.4);
		expect(a.appointments).toMatchObject({ venu: 4, absent: 3, excuse: 1 });
		expect(a.appointments.noShowRate).toBeCloseTo(3 / 8);
		const b = unit(ids.B);
		expect(b.consultations).toEqual({ psychologue: 2, travailleur_social: 0, psychiatre: 1 });
		expect(b.consultationsPerPatient.psychiatre).toBeCloseTo(1 / 3);
		expect(b.appointments.noShowRate).toBe(0);
		const t = result.total;
		expect(t.consultations).toEqual({ psychologue: 4, travailleur_social: 2, psychiatre: 1 });
		expect(t.consultationsPerPatient).toEqual({ psychologue: 0.5, travailleur_social: 0.25, psychiatre: 0.125 });
		expect(t.appointments.noShowRate).toBeCloseTo(3 / 11);
	});

	it('measures the wait from inclusion to first contact', () => {
		const a = unit(ids.A);
		expect(a.firstContact).toEqual({ patients: 3, medianDays: 12.5, buckets: { le7: 1, d8_15: 0, d16_30: 1, d31_60: 0, gt60: 0, none: 1 } });
		const b = unit(ids.B);
		expect(b.firstContact).toEqual({ patients: 2, medianDays: 42.5, buckets: { le7: 0, d8_15: 1, d16_30: 0, d31_60: 0, gt60: 1, none: 0 } });
		expect(result.total.firstContact).toEqual({ patients: 5, medianDays: 15, buckets: { le7: 1, d8_15: 1, d16_30: 1, d31_60: 0, gt60: 1, none: 1 } });
	});

	it('counts RCPs held against the template, passages and overdue patients with their codes', () => {
		const a = unit(ids.A);
		expect(a.rcp).toMatchObject({ held: 3, frequency: 'trimestrielle', expected: 1, passages: 5, passagesPerPatient: 1, overdue: 2, overdueCodes: ['A1', 'A2'] });
		expect(a.rcp.overduePatientIds).toEqual([ids.A1, ids.A2]);
		const b = unit(ids.B);
		expect(b.rcp).toMatchObject({ held: 0, frequency: null, expected: null, passages: 0, passagesPerPatient: 0, overdue: 1, overdueCodes: ['B1'] });
		expect(result.total.rcp).toMatchObject({ held: 3, expected: 1, passages: 5, overdue: 3, overdueCodes: [] });
		expect(result.total.rcp.passagesPerPatient).toBeCloseTo(5 / 8);
	});

	it('finds the months without a psychologist or a social worker', () => {
		expect(unit(ids.A).missingMonthList).toEqual({ psychologue: [], travailleur_social: ['2026-04', '2026-05', '2026-06'] });
		expect(unit(ids.B).missingMonthList).toEqual({ psychologue: ['2026-01'], travailleur_social: ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'] });
		expect(result.total.missingMonths).toEqual({ psychologue: 1, travailleur_social: 9 });
	});

	it('filters by programme', async () => {
		const mspc = await computeIndicators(db, { microstructureIds: [ids.A, ids.B], from: FROM, to: TO, programme: 'MSPC' });
		expect([mspc.total.fileActive, mspc.total.inclusions, mspc.total.appointments.absent, mspc.total.appointments.venu]).toEqual([1, 1, 1, 0]);
		expect(mspc.total.orientations.les_deux).toBe(1);
		// The passages follow their patient's programme: all of A's are of MSMA patients (A5, the
		// MSPC one, has none); C1's counts in C, nationally.
		expect(mspc.total.rcp.passages).toBe(0);
		const msma = await computeIndicators(db, { microstructureIds: [ids.A, ids.B], from: FROM, to: TO, programme: 'MSMA' });
		expect([msma.units.map((u) => u.rcp.passages), msma.total.rcp.passages]).toEqual([[5, 0], 5]);
		// Beyond 100 microstructures they are counted by patient first (ids of no microstructure are no unit).
		const padding = Array.from({ length: 120 }, () => randomUUID());
		for (const microstructureIds of [[ids.A, ids.B, ids.C], [ids.A, ids.B, ids.C, ...padding]]) {
			const national = await computeIndicators(db, { microstructureIds, from: FROM, to: TO, programme: 'MSMA', groupBy: 'network' });
			expect([national.units.find((u) => u.id === ids.network)!.rcp.passages, national.total.rcp.passages]).toEqual([5, 6]);
			const none = await computeIndicators(db, { microstructureIds, from: FROM, to: TO, programme: 'MSPC', groupBy: 'network' });
			expect(none.total.rcp.passages).toBe(0);
		}
	});

	it('groups by network for the national view, with the same totals', async () => {
		const national = await computeIndicators(db, { microstructureIds: [ids.A, ids.B, ids.C], from: FROM, to: TO, groupBy: 'network' });
		expect(national.units.map((u) => u.name)).toEqual(['Autre réseau', 'Réseau test']);
		const ours = national.units.find((u) => u.id === ids.network)!;
		expect([ours.fileActive, ours.inclusions, ours.rcp.held, ours.rcp.overdue, ours.rcp.overdueCodes.length]).toEqual([8, 5, 3, 3, 0]);
		expect(ours.missingMonths).toEqual({ psychologue: 1, travailleur_social: 9 });
		expect(ours.firstContact.medianDays).toBe(15);
		expect(national.total.inclusions).toBe(6);
		expect(national.total.rcp.expected).toBe(1 + expectedRcps('hebdomadaire', 181));
		// A's five passages of the period (none in B), and C1's on 10 February.
		expect([ours.rcp.passages, national.total.rcp.passages]).toEqual([5, 6]);
	});

	it('counts the passages the same way for many microstructures (by session first)', async () => {
		// Beyond 100 microstructures the passages are counted by session before the join; ids
		// of no microstructure are no unit, so the figures are those of A, B and C.
		const padding = Array.from({ length: 120 }, () => randomUUID());
		for (const groupBy of ['network', 'microstructure'] as const) {
			const many = await computeIndicators(db, { microstructureIds: [ids.A, ids.B, ids.C, ...padding], from: FROM, to: TO, groupBy });
			expect(many.total.rcp.passages).toBe(6);
			if (groupBy === 'network') expect(many.units.find((u) => u.id === ids.network)!.rcp.passages).toBe(5);
			else expect(many.units.map((u) => u.rcp.passages)).toEqual([5, 0, 1]);
		}
	});

	it('answers zeros for a microstructure without data, and nothing for no microstructure', async () => {
		const empty = await computeIndicators(db, { microstructureIds: [ids.A], from: '2020-01-01', to: '2020-03-31' });
		expect(empty.units).toHaveLength(1);
		expect([empty.total.fileActive, empty.total.inclusions, empty.total.appointments.venu]).toEqual([0, 0, 0]);
		expect(empty.total.womenShare).toBeNull();
		const none = await computeIndicators(db, { microstructureIds: [], from: FROM, to: TO });
		expect(none.units).toEqual([]);
	});

	it('exports the same figures as CSV for French spreadsheets', () => {
		const csv = indicatorsCsv(result, fr.cockpit);
		expect(csv.startsWith('\ufeffcode;indicateur;MS Alpha;MS Bêta;Total\r\n')).toBe(true);
		const lines = csv.slice(1).split('\r\n');
		expect(lines).toContain('file_active;File active (patients suivis);5;3;8');
		expect(lines).toContain('no_show_rate;Taux d’absence non excusée (%);37,5;0;27,3');
		expect(lines).toContain('rcp_expected;RCP attendues selon la trame;1;;1');
		expect(lines).toContain('inclusions_2026-01;Inclusions par mois — 2026-01;1;1;2');
		expect(csv).not.toContain('A1');
	});
});

describe('expectedRcps', () => {
	it('gives the yearly count over a year and whole intervals over a shorter period', () => {
		expect([expectedRcps('hebdomadaire', 365), expectedRcps('bimensuelle', 365), expectedRcps('mensuelle', 366), expectedRcps('bimestrielle', 365), expectedRcps('trimestrielle', 365)]).toEqual([52, 26, 12, 6, 4]);
		expect(expectedRcps('mensuelle', 181)).toBe(5);
		expect(expectedRcps('trimestrielle', 60)).toBe(0);
	});
});

describe('parseIndicatorQuery', () => {
	const allowed = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
	const parse = (query: string) => parseIndicatorQuery(new URLSearchParams(query), { allowedIds: allowed, idParam: 'ms', today: '2026-12-04', locale: 'fr' });

	it('defaults to this calendar year up to today, both programmes, every microstructure', () => {
		expect(parse('')).toMatchObject({ ok: true, from: '2026-01-01', to: '2026-12-04', programme: null, ids: allowed });
	});

	it('keeps a valid choice', () => {
		expect(parse(`from=2025-03-01&to=2025-12-31&programme=MSPC&ms=${allowed[1]}&ms=${allowed[1]}`)).toMatchObject({ ok: true, from: '2025-03-01', to: '2025-12-31', programme: 'MSPC', ids: [allowed[1]] });
	});

	it('refuses impossible dates, an inverted or too long period, an unknown programme', () => {
		expect(parse('from=2026-02-30')).toMatchObject({ ok: false, errors: { from: fr.cockpit.errors.date } });
		expect(parse('from=hier&to=<script>')).toMatchObject({ ok: false, errors: { from: fr.cockpit.errors.date, to: fr.cockpit.errors.date } });
		expect(parse('from=2026-06-01&to=2026-05-31')).toMatchObject({ ok: false, errors: { to: fr.cockpit.errors.inverted } });
		expect(parse('from=2020-01-01&to=2025-01-01')).toMatchObject({ ok: false, errors: { to: fr.cockpit.errors.tooLong } });
		expect(parse('from=2020-01-01&to=2024-12-31')).toMatchObject({ ok: true });
		expect(parse('programme=MSXX')).toMatchObject({ ok: false, errors: { programme: fr.cockpit.errors.programme } });
	});

	it('shows back malformed values cleaned and bounded, and refuses them', () => {
		const r = parse(`from=${encodeURIComponent('2026\u0000-01-01')}&to=${'9'.repeat(5000)}&programme=%ED%A0%80`);
		expect(r).toMatchObject({ ok: false, values: { from: '2026-01-01', to: '9'.repeat(100) } });
		expect(r.ok ? null : Object.keys(r.errors).sort()).toEqual(['from', 'programme', 'to']);
	});

	it('refuses a microstructure outside the network or not an id', () => {
		expect(parse('ms=33333333-3333-4333-8333-333333333333')).toMatchObject({ ok: false, errors: { ids: fr.cockpit.errors.microstructure } });
		expect(parse(`ms=${allowed[0]}&ms=nope`)).toMatchObject({ ok: false, errors: { ids: fr.cockpit.errors.microstructure } });
	});
});
