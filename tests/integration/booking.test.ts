// Appointments against a real database (PostgreSQL with DATABASE_URL): 50 concurrent transactions
// on one slot, a burst of one request key, moving and cancelling (late or not) with their
// reminders, attendance feeding the pathway, no-shows reaching the RCP agenda and the "À faire",
// the waiting list's offers and refill statistics, the yearly budget, audited reads with nothing
// clinical for the secretariat, and the live socket.io room of a microstructure's booking screens.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import type { Server } from 'node:http';
import { sql } from 'kysely';
import pg from 'pg';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { databaseUrlFor } from '../helpers/global-setup.ts';
import { createDb, type Db } from '../../src/lib/server/db/index.ts';
import { sessionCookie, startRealtimeServer, stopRealtimeServer, withTimeout } from '../helpers/realtime.ts';
import type { Realtime } from '../../src/lib/server/realtime/attach.ts';
import { createNetwork } from '../../src/lib/server/org/networks.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { createUser } from '../../src/lib/server/org/users.ts';
import { addMembership, endMembership } from '../../src/lib/server/org/memberships.ts';
import { reauthorizeUser } from '../../src/lib/server/live.ts';
import { loadActor, type MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import { createPatient, todoForActor } from '../../src/lib/server/patients/patients.ts';
import { parisToday, addDays } from '../../src/lib/server/patients/lifecycle.ts';
import { parisInstant } from '../../src/lib/server/rcp/schedule.ts';
import { addCase, createSession, proposals, getSession } from '../../src/lib/server/rcp/sessions.ts';
import { liveState } from '../../src/lib/server/rcp/live.ts';
import { book, cancel, markAttendance, microstructureAgenda, move, patientAppointments, professionalAgenda, todayAppointments, type BookInput } from '../../src/lib/server/booking/appointments.ts';
import { addToWaitingList, freedSlotOf, freedSlots, offersFor, refillStats, removeFromWaitingList, waitingList } from '../../src/lib/server/booking/waiting-list.ts';
import { budgetFor } from '../../src/lib/server/booking/budget.ts';
import type { Orientation } from '../../src/lib/server/db/schema.ts';

let t: TestDb;
let ms: MicrostructureRef;
let other: MicrostructureRef;
const u: Record<string, string> = {};
const ctx = (userId: string) => ({ actorId: userId, ip: '127.0.0.1', userAgent: 'vitest' });
const key = () => crypto.randomUUID();
const TODAY = parisToday();
/** Distinct days ahead, one per group of tests, so that their slots never meet. */
const day = (n: number) => addDays(TODAY, n);
let roomId: string;
let counter = 0;

async function newPatient(orientation: Orientation = 'psychologue', where: MicrostructureRef = ms): Promise<string> {
	counter++;
	const r = await createPatient(
		t.db,
		ctx(u.ines),
		where,
		{
			identity: { lastName: `Patient${String.fromCharCode(65 + (counter % 26))}${counter}`, firstName: `Prénom${counter}`, birthDate: `19${50 + (counter % 40)}-0${1 + (counter % 9)}-1${counter % 9}`, sex: null, phone: null, email: `p${counter}@example.org` },
			programme: 'MSMA',
			motif: 'addiction',
			orientationOrigin: null,
			medecinTraitant: null,
			start: { kind: 'include', on: addDays(TODAY, -60), orientation, consent: { on: addDays(TODAY, -60), method: 'oral_atteste' } }
		},
		TODAY
	);
	if (!r.ok) throw new Error(r.error);
	return r.id;
}

/**
 * A live occurrence on `date`, by default the psychologist's 09:00–12:00 Paris (60 min first
 * contact, 45 min follow-up), with a series of its own (one occurrence per series and date).
 */
async function occurrence(date: string, professionalId = u.camille, start = '09:00', end = '12:00', where: MicrostructureRef = ms, room: string | null = roomId): Promise<{ id: string; startsAt: Date }> {
	const startsAt = parisInstant(date, start);
	const weekday = ((new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;
	const permanence = await t.db
		.insertInto('permanence')
		.values({ microstructure_id: where.id, professional_id: professionalId, room_id: room, weekday, every_weeks: 1, starts_on: date, ends_on: date, start_time: start, end_time: end, first_minutes: 60, followup_minutes: 45 })
		.returning('id')
		.executeTakeFirstOrThrow();
	const row = await t.db
		.insertInto('permanence_occurrence')
		.values({ permanence_id: permanence.id, microstructure_id: where.id, professional_id: professionalId, room_id: room, on_date: date, starts_at: startsAt, ends_at: parisInstant(date, end) })
		.returning('id')
		.executeTakeFirstOrThrow();
	return { id: row.id, startsAt };
}

const at = (date: string, time: string) => parisInstant(date, time);
const minutes = (d: Date, m: number) => new Date(d.getTime() + m * 60_000);

function input(patientId: string, occurrenceId: string, startsAt: Date, kind: BookInput['kind'] = 'suivi', professionalId = u.camille): BookInput {
	return { patientId, professionalId, occurrenceId, startsAt, kind, requestKey: key() };
}

async function bookOk(by: string, i: BookInput, now?: Date) {
	const r = await book(t.db, ctx(by), ms, i, now);
	if (!r.ok) throw new Error(r.error);
	return r.appointment;
}

async function auditRows(action: string, actorId: string) {
	return t.db.selectFrom('audit_event').selectAll().where('action', '=', action).where('actor_id', '=', actorId).orderBy('id').execute();
}

/** A pool of `n` connections to the test database (PostgreSQL only). */
async function widePool(n: number): Promise<{ db: Db; close(): Promise<void> } | null> {
	if (!process.env.DATABASE_URL) return null;
	const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.db);
	const pool = new pg.Pool({ connectionString: databaseUrlFor(process.env.DATABASE_URL, rows[0].name), max: n });
	const db = createDb(pool);
	return { db, close: () => db.destroy() };
}

/**
 * PostgreSQL only: the appointment table locked by a separate connection, released once `n`
 * backends of this database wait on a lock.
 */
async function closedGate(n: number): Promise<{ openWhenWaiting(): Promise<void> } | null> {
	if (!process.env.DATABASE_URL) return null;
	const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.db);
	const client = new pg.Client({ connectionString: databaseUrlFor(process.env.DATABASE_URL, rows[0].name) });
	await client.connect();
	await client.query('begin');
	await client.query('lock table appointment in access exclusive mode');
	return {
		async openWhenWaiting() {
			const deadline = Date.now() + 20_000;
			try {
				for (;;) {
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
	t = await createSharedTestDb();
	const net = await createNetwork(t.db, { name: 'Bas-Rhin', territory: '' });
	ms = { id: await createMicrostructure(t.db, { networkId: net, name: 'Cabinet des Tanneurs', programmes: ['MSMA'], practiceKind: 'cabinet', city: 'Strasbourg' }), networkId: net };
	other = { id: await createMicrostructure(t.db, { networkId: net, name: 'MSP du Neuhof', programmes: ['MSMA'], practiceKind: 'cabinet', city: 'Strasbourg' }), networkId: net };
	const people: [string, 'medecin_generaliste' | 'psychologue' | 'travailleur_social' | 'secretariat', [string, 'soignant' | 'secretariat'][]][] = [
		['ines', 'medecin_generaliste', [[ms.id, 'soignant']]],
		['camille', 'psychologue', [[ms.id, 'soignant'], [other.id, 'soignant']]],
		['karim', 'travailleur_social', [[ms.id, 'soignant']]],
		['sophie', 'secretariat', [[ms.id, 'secretariat']]],
		['zoe', 'psychologue', [[other.id, 'soignant']]]
	];
	for (const [login, profession, memberships] of people) {
		u[login] = await createUser(t.db, { email: `${login}@example.org`, firstName: login[0].toUpperCase() + login.slice(1), lastName: 'Test', profession, password: 'a-long-enough-password' });
		for (const [msId, role] of memberships) await addMembership(t.db, { userId: u[login], microstructureId: msId, role, createdBy: null });
	}
	const site = await t.db.insertInto('site').values({ microstructure_id: ms.id, name: 'Cabinet', address: '1 rue des Tanneurs', city: 'Strasbourg', phone: '03 88 00 00 00' }).returning('id').executeTakeFirstOrThrow();
	roomId = (await t.db.insertInto('room').values({ site_id: site.id, name: 'Bureau 2' }).returning('id').executeTakeFirstOrThrow()).id;
}, 60_000);

afterAll(async () => {
	await t?.close();
});

describe('no double booking, by the database', () => {
	test('50 concurrent transactions on one slot: exactly one booked, the others get the French error and the next free slots', async () => {
		const occ = await occurrence(day(3));
		const patients: string[] = [];
		for (let i = 0; i < 50; i++) patients.push(await newPatient());
		// On PostgreSQL, 50 connections of their own, held at a gate (the appointment table locked by
		// another connection) until all 50 wait on it: the bookings then really run at once.
		const wide = await widePool(50);
		const gate = await closedGate(50);
		const db = wide?.db ?? t.db;
		const pending = Promise.all(patients.map((p, i) => book(db, ctx(i % 2 ? u.sophie : u.ines), ms, input(p, occ.id, occ.startsAt))));
		await gate?.openWhenWaiting();
		const results = await pending;
		await wide?.close();
		const won = results.filter((r) => r.ok);
		expect(won).toHaveLength(1);
		const rows = await t.db.selectFrom('appointment').select('id').where('occurrence_id', '=', occ.id).execute();
		expect(rows).toHaveLength(1);
		for (const r of results.filter((x) => !x.ok)) {
			if (r.ok) continue;
			expect(r.error).toMatch(/créneau|rendez-vous/);
			expect(r.error).not.toMatch(/violates|constraint|error/i);
			// The next free slots of that professional, the taken one not among them.
			expect(r.nextSlots.length).toBeGreaterThan(0);
			expect(r.nextSlots.every((s) => s.startsAt.getTime() !== occ.startsAt.getTime() && s.professionalId === u.camille)).toBe(true);
			expect(r.nextSlots[0].startsAt.getTime()).toBe(minutes(occ.startsAt, 45).getTime());
		}
	}, 60_000);

	test('one patient, two professionals, the same instant, 30 requests at once: one booked, every other answered in French', async () => {
		const date = day(7);
		const psy = await occurrence(date);
		const social = await occurrence(date, u.karim, '09:00', '12:00', ms, null);
		const patient = await newPatient('les_deux');
		const wide = await widePool(30);
		const gate = await closedGate(30);
		const db = wide?.db ?? t.db;
		const pending = Promise.all(
			Array.from({ length: 30 }, (_, i) => (i % 2 ? input(patient, psy.id, psy.startsAt) : input(patient, social.id, social.startsAt, 'suivi', u.karim))).map((i) => book(db, ctx(u.sophie), ms, i))
		);
		await gate?.openWhenWaiting();
		const results = await pending;
		await wide?.close();
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		for (const r of results) if (!r.ok) expect(r.error).toMatch(/^(Le patient a déjà un rendez-vous|Ce créneau)/);
		expect(await t.db.selectFrom('appointment').select('id').where('patient_id', '=', patient).execute()).toHaveLength(1);
	}, 60_000);

	test('a burst of 20 sends of the same request key books once and answers the same appointment', async () => {
		const occ = await occurrence(day(4));
		const patient = await newPatient();
		const same = input(patient, occ.id, occ.startsAt);
		const results = await Promise.all(Array.from({ length: 20 }, () => book(t.db, ctx(u.sophie), ms, same)));
		expect(results.every((r) => r.ok)).toBe(true);
		const ids = new Set(results.map((r) => (r.ok ? r.appointment.id : '')));
		expect(ids.size).toBe(1);
		expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
		expect(await t.db.selectFrom('appointment').select('id').where('request_key', '=', same.requestKey).execute()).toHaveLength(1);
		// The same key for another patient is refused, not silently answered with someone else's booking.
		const reuse = await book(t.db, ctx(u.sophie), ms, { ...same, patientId: await newPatient() });
		expect(reuse.ok).toBe(false);
		// One booking audited, not twenty.
		const audited = (await auditRows('booking.booked', u.sophie)).filter((a) => (a.details as { appointmentId?: string }).appointmentId === [...ids][0]);
		expect(audited).toHaveLength(1);
	}, 30_000);

	test('bad input gets a French error and writes nothing', async () => {
		const occ = await occurrence(day(5));
		const patient = await newPatient();
		const elsewhere = await newPatient('psychologue', other);
		const before = await t.db.selectFrom('appointment').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
		const cases: [BookInput, RegExp][] = [
			[{ ...input(patient, occ.id, occ.startsAt), requestKey: 'not-a-uuid' }, /invalide/],
			[input(elsewhere, occ.id, occ.startsAt), /introuvable/],
			[input(patient, occ.id, minutes(occ.startsAt, 10)), /grille|libre/],
			[input(patient, occ.id, at(day(5), '11:30')), /horaires|dure|libre/],
			[input(patient, occ.id, occ.startsAt, 'suivi', u.karim), /introuvable/],
			[input(patient, occ.id, occ.startsAt, 'suivi', u.zoe), /ne travaille pas/],
			[{ ...input(patient, occ.id, occ.startsAt), startsAt: new Date('invalid') }, /invalide/]
		];
		for (const [i, error] of cases) {
			const r = await book(t.db, ctx(u.sophie), ms, i);
			expect(r.ok, JSON.stringify(i)).toBe(false);
			if (!r.ok) expect(r.error).toMatch(error);
		}
		// A slot in the past.
		const past = await book(t.db, ctx(u.sophie), ms, input(patient, occ.id, occ.startsAt), minutes(occ.startsAt, 5));
		expect(past.ok).toBe(false);
		const after = await t.db.selectFrom('appointment').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
		expect(after.n).toBe(before.n);
	});

	test('the patient cannot be in two places: a clash with another professional is refused in French', async () => {
		const date = day(6);
		const occ = await occurrence(date);
		const karimOcc = await occurrence(date, u.karim, '09:00', '12:00', ms, null);
		const patient = await newPatient('les_deux');
		await bookOk(u.sophie, input(patient, occ.id, occ.startsAt));
		const r = await book(t.db, ctx(u.sophie), ms, input(patient, karimOcc.id, karimOcc.startsAt, 'suivi', u.karim));
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.error).toBe('Le patient a déjà un rendez-vous à cette heure-là.');
	});
});

describe('moving and cancelling', () => {
	test('a move is one step: the old row is "deplace" pointing at the new one, reminders follow, a resend answers the same', async () => {
		const occ = await occurrence(day(8));
		const patient = await newPatient();
		await t.db.updateTable('patient').set({ reminder_email: true }).where('id', '=', patient).execute();
		const first = await bookOk(u.sophie, input(patient, occ.id, occ.startsAt));
		const oldReminders = await t.db.selectFrom('appointment_reminder').select(['status']).where('appointment_id', '=', first.id).execute();
		expect(oldReminders.length).toBeGreaterThan(0);
		const requestKey = key();
		// Moved by one follow-up length: overlapping nothing but its own old slot's neighbour.
		const moved = await move(t.db, ctx(u.sophie), ms, { appointmentId: first.id, occurrenceId: occ.id, startsAt: minutes(occ.startsAt, 45), requestKey });
		expect(moved.ok).toBe(true);
		if (!moved.ok) return;
		const old = await t.db.selectFrom('appointment').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
		expect(old.status).toBe('deplace');
		expect(old.moved_to).toBe(moved.appointment.id);
		expect(moved.appointment.status).toBe('prevu');
		expect(moved.appointment.starts_at.getTime()).toBe(minutes(occ.startsAt, 45).getTime());
		expect((await t.db.selectFrom('appointment_reminder').select('status').where('appointment_id', '=', first.id).execute()).every((r) => r.status === 'annule')).toBe(true);
		expect((await t.db.selectFrom('appointment_reminder').select('status').where('appointment_id', '=', moved.appointment.id).execute()).length).toBe(oldReminders.length);
		const again = await move(t.db, ctx(u.sophie), ms, { appointmentId: first.id, occurrenceId: occ.id, startsAt: minutes(occ.startsAt, 45), requestKey });
		expect(again.ok && again.replayed && again.appointment.id === moved.appointment.id).toBe(true);
		// Moving the moved one again is refused: it is no longer planned.
		const stale = await move(t.db, ctx(u.sophie), ms, { appointmentId: first.id, occurrenceId: occ.id, startsAt: minutes(occ.startsAt, 90), requestKey: key() });
		expect(stale.ok).toBe(false);
		// Moving by a quarter of an hour onto its own old time works (the old slot is freed first).
		const back = await move(t.db, ctx(u.sophie), ms, { appointmentId: moved.appointment.id, occurrenceId: occ.id, startsAt: occ.startsAt, requestKey: key() });
		expect(back.ok).toBe(true);
	});

	test('cancelling records who, when and why; under 24 h it is late; reminders are withdrawn; the agenda keeps it', async () => {
		const occ = await occurrence(day(9));
		const patient = await newPatient();
		await t.db.updateTable('patient').set({ reminder_email: true }).where('id', '=', patient).execute();
		const early = await bookOk(u.sophie, input(patient, occ.id, occ.startsAt));
		const r1 = await cancel(t.db, ctx(u.sophie), ms, early.id, { reason: 'patient', note: 'A appelé le secrétariat' });
		expect(r1.ok).toBe(true);
		if (!r1.ok) return;
		expect(r1.appointment).toMatchObject({ status: 'annule', cancelled_by: u.sophie, cancel_reason: 'patient', cancel_note: 'A appelé le secrétariat', late_cancel: false });
		expect(r1.appointment.cancelled_at).toBeInstanceOf(Date);
		expect((await t.db.selectFrom('appointment_reminder').select('status').where('appointment_id', '=', early.id).execute()).every((r) => r.status === 'annule')).toBe(true);
		// Twice: refused in French.
		const twice = await cancel(t.db, ctx(u.sophie), ms, early.id, { reason: 'patient' });
		expect(twice.ok).toBe(false);
		// Late: cancelled 3 hours before.
		const late = await bookOk(u.sophie, input(patient, occ.id, minutes(occ.startsAt, 45)));
		const r2 = await cancel(t.db, ctx(u.sophie), ms, late.id, { reason: 'professionnel' }, minutes(late.starts_at, -180));
		expect(r2.ok && r2.appointment.late_cancel).toBe(true);
		// A bad reason or an appointment of another microstructure: refused, nothing written.
		const third = await bookOk(u.sophie, input(patient, occ.id, minutes(occ.startsAt, 90)));
		expect((await cancel(t.db, ctx(u.sophie), ms, third.id, { reason: 'caprice' as 'autre' })).ok).toBe(false);
		expect((await cancel(t.db, ctx(u.sophie), other, third.id, { reason: 'autre' })).ok).toBe(false);
		expect((await t.db.selectFrom('appointment').select('status').where('id', '=', third.id).executeTakeFirstOrThrow()).status).toBe('prevu');
	});
});

describe('attendance feeds the pathway; no-shows are a clinical signal', () => {
	test('the first honoured appointment is the first contact (en suivi), the next ones update the last contact; the budget and the RCP case view count them', async () => {
		const d1 = day(10);
		const d2 = day(17);
		const o1 = await occurrence(d1);
		const o2 = await occurrence(d2);
		const patient = await newPatient();
		const first = await bookOk(u.ines, input(patient, o1.id, o1.startsAt, 'premier_contact'));
		const camille = await loadActor(t.db, u.camille);
		const ines = await loadActor(t.db, u.ines);
		// Before the slot: refused. By the GP: refused (not her appointment).
		expect((await markAttendance(t.db, ctx(u.camille), camille, ms, first.id, 'venu')).ok).toBe(false);
		const byGp = await markAttendance(t.db, ctx(u.ines), ines, ms, first.id, 'venu', minutes(first.starts_at, 70));
		expect(byGp.ok).toBe(false);
		const marked = await markAttendance(t.db, ctx(u.camille), camille, ms, first.id, 'venu', minutes(first.starts_at, 70));
		expect(marked.ok && marked.pathway).toBe('first_contact');
		let p = await t.db.selectFrom('patient').selectAll().where('id', '=', patient).executeTakeFirstOrThrow();
		expect(p.state).toBe('en_suivi');
		expect(p.first_contact_on).toBe(d1);
		// A second first contact with the same profession is refused: a follow-up now.
		const again = await book(t.db, ctx(u.ines), ms, input(patient, o2.id, o2.startsAt, 'premier_contact'));
		expect(again.ok).toBe(false);
		if (!again.ok) expect(again.error).toMatch(/suivi/);
		const second = await bookOk(u.ines, input(patient, o2.id, o2.startsAt, 'suivi'));
		const m2 = await markAttendance(t.db, ctx(u.camille), camille, ms, second.id, 'venu', minutes(second.starts_at, 50));
		expect(m2.ok && m2.pathway).toBe('contact');
		p = await t.db.selectFrom('patient').selectAll().where('id', '=', patient).executeTakeFirstOrThrow();
		expect(p.first_contact_on).toBe(d1);
		expect(p.last_contact_on).toBe(d2);
		const events = await t.db.selectFrom('patient_event').select('kind').where('patient_id', '=', patient).execute();
		expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['first_contact', 'contact']));
		// The budget counts both honoured consultations with the psychologist (MSMA: 7 a year).
		const budget = await budgetFor(t.db, patient);
		const psy = budget?.lines.find((l) => l.profession === 'psychologue');
		expect(psy).toMatchObject({ perYear: 7, honoured: 2, planned: 0, remaining: 5, full: false, over: false });
		expect(budget?.lines.find((l) => l.profession === 'travailleur_social')).toMatchObject({ perYear: 6, honoured: 0 });
		// The RCP's case view shows the same counts beside the case.
		const sessionId = await createSession(t.db, ctx(u.ines), ms, { title: 'RCP', roomId: null, visioUrl: null, programme: null, date: day(40), startTime: '12:30', endTime: '14:00' });
		await addCase(t.db, (await getSession(t.db, sessionId))!, patient, [{ code: 'manual' }], u.ines);
		const item = (await liveState(t.db, sessionId))!.items.find((i) => i.patientId === patient)!;
		expect(item.consultations).toEqual([
			{ profession: 'psychologue', honoured: 2, perYear: 7 },
			{ profession: 'travailleur_social', honoured: 0, perYear: 6 }
		]);
	});

	test('a missed first appointment puts the patient on the next RCP agenda and on the GP\u2019s "À faire"; rebooking clears the À faire', async () => {
		const o = await occurrence(day(11));
		const patient = await newPatient();
		const appt = await bookOk(u.ines, input(patient, o.id, o.startsAt, 'premier_contact'));
		const camille = await loadActor(t.db, u.camille);
		const r = await markAttendance(t.db, ctx(u.camille), camille, ms, appt.id, 'absent', minutes(appt.starts_at, 70));
		expect(r.ok).toBe(true);
		const sessionId = await createSession(t.db, ctx(u.ines), ms, { title: 'RCP', roomId: null, visioUrl: null, programme: null, date: day(30), startTime: '12:30', endTime: '14:00' });
		const session = (await getSession(t.db, sessionId))!;
		const proposal = (await proposals(t.db, session)).find((x) => x.patientId === patient);
		expect(proposal?.reasons.map((x) => x.code)).toContain('no_show');
		expect(proposal?.reasons.find((x) => x.code === 'no_show')?.date).toBe(day(11));
		const ines = await loadActor(t.db, u.ines);
		const todo = async () => (await todoForActor(t.db, ines, [ms], day(12))).filter((i) => i.patientId === patient && i.kind === 'no_show');
		expect(await todo()).toHaveLength(1);
		// Booked again: the GP's item is done, the RCP still discusses it.
		const o2 = await occurrence(day(18));
		await bookOk(u.ines, input(patient, o2.id, o2.startsAt, 'premier_contact'));
		expect(await todo()).toHaveLength(0);
		expect((await proposals(t.db, session)).find((x) => x.patientId === patient)?.reasons.map((x) => x.code)).toContain('no_show');
	});

	test('one missed follow-up is not a signal; two in a row are; an excused one breaks the series', async () => {
		const patient = await newPatient();
		const camille = await loadActor(t.db, u.camille);
		const mark = async (n: number, status: 'venu' | 'absent' | 'excuse') => {
			const o = await occurrence(day(40 + n));
			const a = await bookOk(u.ines, input(patient, o.id, o.startsAt, n === 0 ? 'premier_contact' : 'suivi'));
			const r = await markAttendance(t.db, ctx(u.camille), camille, ms, a.id, status, minutes(a.starts_at, 60));
			expect(r.ok).toBe(true);
		};
		const sessionId = await createSession(t.db, ctx(u.ines), ms, { title: 'RCP', roomId: null, visioUrl: null, programme: null, date: day(60), startTime: '12:30', endTime: '14:00' });
		const session = (await getSession(t.db, sessionId))!;
		const signalled = async () => ((await proposals(t.db, session)).find((x) => x.patientId === patient)?.reasons ?? []).some((x) => x.code === 'no_show');
		await mark(0, 'venu');
		await mark(1, 'absent');
		expect(await signalled()).toBe(false);
		await mark(2, 'excuse');
		await mark(3, 'absent');
		expect(await signalled()).toBe(false);
		await mark(4, 'absent');
		expect(await signalled()).toBe(true);
		await mark(5, 'venu');
		expect(await signalled()).toBe(false);
	});
});

describe('waiting list', () => {
	test('a freed slot is offered to the waiting patients who fit, first waiting first; booking from the offer refills it and resolves the entry', async () => {
		const date = day(20);
		const o = await occurrence(date);
		const [booked, first, second, afternoon, social] = [await newPatient(), await newPatient(), await newPatient(), await newPatient(), await newPatient('travailleur_social')];
		const weekday = ((new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;
		const a = await bookOk(u.sophie, input(booked, o.id, o.startsAt));
		const w1 = await addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: first, profession: 'psychologue', kind: 'suivi', weekdays: [weekday], periods: ['matin'] });
		const w2 = await addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: second, profession: 'psychologue', kind: 'suivi', weekdays: [], periods: [] });
		await addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: afternoon, profession: 'psychologue', kind: 'suivi', weekdays: [], periods: ['apres_midi'] });
		await addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: social, profession: 'travailleur_social', kind: 'suivi', weekdays: [], periods: [] });
		expect(w1.ok && w2.ok).toBe(true);
		// Twice, even at once: one open entry per patient and profession.
		const dup = await Promise.all([1, 2, 3].map(() => addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: first, profession: 'psychologue', kind: 'suivi', weekdays: [], periods: [] })));
		expect(dup.every((r) => !r.ok && /déjà sur la liste/.test(r.error))).toBe(true);
		expect((await addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: first, profession: 'plombier' as 'psychologue', kind: 'suivi', weekdays: [], periods: [] })).ok).toBe(false);
		expect((await addToWaitingList(t.db, ctx(u.sophie), ms, { patientId: first, profession: 'psychologue', kind: 'suivi', weekdays: [9], periods: [] })).ok).toBe(false);

		const cancelled = await cancel(t.db, ctx(u.sophie), ms, a.id, { reason: 'patient' });
		expect(cancelled.ok).toBe(true);
		if (!cancelled.ok) return;
		const freed = freedSlotOf(cancelled.appointment);
		expect((await freedSlots(t.db, ms)).map((f) => f.id)).toContain(a.id);
		const offers = await offersFor(t.db, ms, freed);
		expect(offers.map((e) => e.patientId)).toEqual([first, second]);
		const refill = await book(t.db, ctx(u.sophie), ms, { ...input(first, freed.occurrenceId, freed.startsAt), refillsId: freed.id });
		expect(refill.ok).toBe(true);
		if (!refill.ok) return;
		expect(refill.appointment.refills_id).toBe(a.id);
		const entry = await t.db.selectFrom('waiting_entry').selectAll().where('patient_id', '=', first).executeTakeFirstOrThrow();
		expect(entry.resolved_at).not.toBeNull();
		expect(entry.appointment_id).toBe(refill.appointment.id);
		expect(await offersFor(t.db, ms, freed)).toEqual([]);
		expect((await freedSlots(t.db, ms)).map((f) => f.id)).not.toContain(a.id);
		// Statistics over that day: one freed slot, one refilled; a second freed one not refilled.
		const b = await bookOk(u.sophie, input(booked, o.id, minutes(o.startsAt, 90)));
		await cancel(t.db, ctx(u.sophie), ms, b.id, { reason: 'autre' });
		expect(await refillStats(t.db, ms, parisInstant(date, '00:00'), parisInstant(addDays(date, 1), '00:00'))).toEqual({ freed: 2, refilled: 1 });
		// The list: audited with its patients; removing an entry.
		const list = await waitingList(t.db, ctx(u.sophie), ms);
		expect(list.map((e) => e.patientId)).toEqual([second, afternoon, social]);
		expect((await removeFromWaitingList(t.db, ctx(u.sophie), ms, list[0].id)).ok).toBe(true);
		expect((await removeFromWaitingList(t.db, ctx(u.sophie), ms, list[0].id)).ok).toBe(false);
		const audited = (await auditRows('booking.waiting_read', u.sophie)).at(-1)!;
		expect((audited.details as { patients: string[] }).patients).toEqual([second, afternoon, social]);
	});
});

describe('reads: audited, nothing clinical for the secretariat', () => {
	test('the microstructure agenda names patient, time, professional and room, and nothing clinical; each read is audited with its patients', async () => {
		const date = day(22);
		const o = await occurrence(date);
		const patient = await newPatient();
		const a = await bookOk(u.sophie, input(patient, o.id, o.startsAt));
		const agenda = await microstructureAgenda(t.db, ctx(u.sophie), ms, parisInstant(date, '00:00'), parisInstant(addDays(date, 1), '00:00'));
		const line = agenda.find((e) => e.id === a.id)!;
		expect(line).toMatchObject({ professionalName: 'Camille Test', roomName: 'Bureau 2', patientId: patient });
		expect(line.patientName).toMatch(/^PATIENT/);
		const allowed = ['id', 'microstructureId', 'microstructureName', 'startsAt', 'endsAt', 'kind', 'status', 'lateCancel', 'toMove', 'movedTo', 'professionalId', 'professionalName', 'profession', 'roomId', 'roomName', 'patientId', 'patientName', 'patientCode'];
		for (const e of agenda) expect(Object.keys(e).filter((k) => !allowed.includes(k))).toEqual([]);
		expect(JSON.stringify(agenda)).not.toMatch(/addiction|MSMA|motif|programme|note/i);
		const audit = (await auditRows('booking.agenda_read', u.sophie)).at(-1)!;
		expect(audit.microstructure_id).toBe(ms.id);
		expect((audit.details as { patients: string[]; count: number }).patients).toContain(patient);
		// A range too long or inverted reads nothing.
		expect(await microstructureAgenda(t.db, ctx(u.sophie), ms, parisInstant(date, '00:00'), parisInstant(addDays(date, 100), '00:00'))).toEqual([]);
		expect(await microstructureAgenda(t.db, ctx(u.sophie), ms, parisInstant(date, '10:00'), parisInstant(date, '09:00'))).toEqual([]);
	});

	test("the patient's appointments are audited on the patient (Consulté par); the professional's agenda spans their microstructures", async () => {
		const date = day(23);
		const o = await occurrence(date, u.camille, '09:00', '12:00');
		const oOther = await occurrence(date, u.camille, '14:00', '17:00', other, null);
		const patient = await newPatient();
		const elsewhere = await newPatient('psychologue', other);
		const a = await bookOk(u.ines, input(patient, o.id, o.startsAt));
		const b = await book(t.db, ctx(u.camille), other, input(elsewhere, oOther.id, oOther.startsAt));
		expect(b.ok).toBe(true);
		const mine = await patientAppointments(t.db, ctx(u.ines), ms, patient);
		expect(mine.map((x) => x.id)).toEqual([a.id]);
		const row = (await auditRows('booking.patient_appointments', u.ines)).at(-1)!;
		expect([row.target_type, row.target_id]).toEqual(['patient', patient]);
		const camille = await loadActor(t.db, u.camille);
		const from = parisInstant(date, '00:00');
		const to = parisInstant(addDays(date, 1), '00:00');
		const own = await professionalAgenda(t.db, ctx(u.camille), camille, u.camille, from, to);
		expect(own.map((e) => e.microstructureId).sort()).toEqual([ms.id, other.id].sort());
		expect((await auditRows('booking.agenda_read', u.camille)).slice(-2).map((r) => r.microstructure_id).sort()).toEqual([ms.id, other.id].sort());
		// The secretariat of the Tanneurs sees Camille's Tanneurs appointments only.
		const sophie = await loadActor(t.db, u.sophie);
		const seen = await professionalAgenda(t.db, ctx(u.sophie), sophie, u.camille, from, to);
		expect(seen.map((e) => e.microstructureId)).toEqual([ms.id]);
		// Today's appointments on the home page: the professional's own.
		const today = await todayAppointments(t.db, ctx(u.camille), camille, parisInstant(date, '08:00'));
		expect(today.map((e) => e.id).sort()).toEqual([a.id, b.ok ? b.appointment.id : ''].sort());
		const sophieToday = await todayAppointments(t.db, ctx(u.sophie), sophie, parisInstant(date, '08:00'));
		expect(sophieToday.map((e) => e.id)).toEqual([a.id]);
		expect(await todayAppointments(t.db, ctx(u.zoe), await loadActor(t.db, u.zoe), parisInstant(date, '08:00'))).toEqual([]);
	});
});

describe('live: the booking room of a microstructure', () => {
	let server: Server | undefined;
	let realtime: Realtime | undefined;
	const sockets: ClientSocket[] = [];
	afterAll(async () => {
		for (const s of sockets) s.disconnect();
		await stopRealtimeServer(realtime, server);
	});

	test('joined only with booking.read; a booking and a cancellation reach it after the commit, ids only', async () => {
		const started = await startRealtimeServer();
		server = started.server;
		realtime = started.realtime;
		const connect = async (userId: string) => {
			const s = ioClient(`http://127.0.0.1:${started.port}`, { transports: ['websocket'], extraHeaders: { Cookie: await sessionCookie(t.db, userId) }, reconnection: false, forceNew: true });
			sockets.push(s);
			await withTimeout(new Promise<void>((resolve, reject) => (s.once('connect', () => resolve()), s.once('connect_error', reject))), 'connect');
			return s;
		};
		const [sophie, zoe, karim] = await Promise.all([connect(u.sophie), connect(u.zoe), connect(u.karim)]);
		expect(await sophie.timeout(5000).emitWithAck('booking:join', { microstructureId: ms.id })).toEqual({ ok: true });
		expect(await karim.timeout(5000).emitWithAck('booking:join', { microstructureId: ms.id })).toEqual({ ok: true });
		// Zoé works at the Neuhof only: refused, as for a microstructure that does not exist.
		const refused = await zoe.timeout(5000).emitWithAck('booking:join', { microstructureId: ms.id });
		expect(refused).toEqual({ ok: false, error: 'Microstructure introuvable.' });
		expect(await zoe.timeout(5000).emitWithAck('booking:join', { microstructureId: 'x' })).toEqual({ ok: false, error: 'Requête invalide.' });
		const heard: { who: string; payload: unknown }[] = [];
		for (const [who, s] of [['sophie', sophie], ['zoe', zoe], ['karim', karim]] as const) s.on('booking:changed', (payload: unknown) => heard.push({ who, payload }));
		const o = await occurrence(day(24));
		const patient = await newPatient();
		const a = await bookOk(u.ines, input(patient, o.id, o.startsAt));
		await withTimeout(
			(async () => {
				while (heard.filter((h) => h.who !== 'zoe').length < 2) await new Promise((r) => setTimeout(r, 10));
			})(),
			'booking:changed'
		);
		expect(heard.find((h) => h.who === 'sophie')?.payload).toEqual({ microstructureId: ms.id, professionalId: u.camille });
		// Karim leaves the room: the cancellation reaches Sophie only.
		await karim.timeout(5000).emitWithAck('booking:leave', { microstructureId: ms.id });
		heard.length = 0;
		await cancel(t.db, ctx(u.sophie), ms, a.id, { reason: 'patient' });
		await withTimeout(
			(async () => {
				while (!heard.some((h) => h.who === 'sophie')) await new Promise((r) => setTimeout(r, 10));
			})(),
			'booking:changed after cancel'
		);
		await new Promise((r) => setTimeout(r, 100));
		expect(heard.map((h) => h.who)).toEqual(['sophie']);
		// Sophie's membership ends: her live connection leaves the room at once and hears nothing more.
		const membership = await t.db.selectFrom('membership').select('id').where('user_id', '=', u.sophie).where('microstructure_id', '=', ms.id).executeTakeFirstOrThrow();
		expect(await endMembership(t.db, membership.id, u.ines)).toBe(true);
		await reauthorizeUser(u.sophie);
		heard.length = 0;
		const o2 = await occurrence(day(25));
		await bookOk(u.ines, input(patient, o2.id, o2.startsAt));
		await new Promise((r) => setTimeout(r, 300));
		expect(heard).toEqual([]);
		expect(await sophie.timeout(5000).emitWithAck('booking:join', { microstructureId: ms.id })).toEqual({ ok: false, error: 'Microstructure introuvable.' });
	});
});
