// Permanences, rooms, absences and free slots against a real database: occurrences on the Paris
// wall clock across the DST changes, fortnight anchors, a professional in two microstructures never
// twice at once (also under a concurrent burst), room conflicts, editing from a date keeps the past,
// absences cancel occurrences and list the appointments to move, free slots carved by appointments.
process.env.LOG_LEVEL = 'silent';

import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import type { MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import type { Profession } from '../../src/lib/server/db/schema.ts';
import { createNetwork } from '../../src/lib/server/org/networks.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { microstructureAgenda } from '../../src/lib/server/booking/appointments.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { parisWallClock } from '../../src/lib/server/rcp/schedule.ts';
import {
	changeOccurrenceRoom,
	createPermanence,
	editPermanenceFrom,
	endPermanence,
	extendOccurrences,
	listPermanences,
	nextWeekday,
	type PermanenceInput
} from '../../src/lib/server/booking/permanences.ts';
import { freeSlots, slotFits } from '../../src/lib/server/booking/slots.ts';
import { absenceResource, absenceToMove, cancelAbsence, createAbsence, listAbsences } from '../../src/lib/server/booking/absences.ts';
import { archiveRoom, createRoom, listSites, renameRoom, setSitePhone } from '../../src/lib/server/booking/rooms.ts';

let t: TestDb;
let networkId: string;
let coordinatorId: string;
const TODAY = parisToday();

interface Ms {
	ref: MicrostructureRef;
	rooms: string[];
}

const ctx = (actorId: string) => ({ actorId, ip: '127.0.0.1', userAgent: 'vitest' });

async function user(profession: Profession, last = 'Pro'): Promise<string> {
	const r = await t.db
		.insertInto('app_user')
		.values({ email: `${randomUUID()}@test.example`, first_name: 'Test', last_name: last, profession, rpps: null, adeli: null, password_hash: 'x', totp_key: null, disabled_at: null })
		.returning('id')
		.executeTakeFirstOrThrow();
	return r.id;
}

async function microstructure(name: string): Promise<Ms> {
	const id = await createMicrostructure(t.db, {
		networkId,
		name,
		programmes: ['MSMA'],
		practiceKind: 'cabinet',
		city: 'Strasbourg',
		site: { name: `${name} site`, address: '1 rue X', postalCode: '67000', city: 'Strasbourg', rooms: ['Bureau 1', 'Bureau 2'] }
	});
	const rooms = await t.db.selectFrom('room as r').innerJoin('site as s', 's.id', 'r.site_id').select('r.id').where('s.microstructure_id', '=', id).orderBy('r.name').execute();
	return { ref: { id, networkId }, rooms: rooms.map((r) => r.id) };
}

async function professional(ms: Ms[], profession: Profession = 'psychologue', startsOn = '2025-01-01'): Promise<string> {
	const id = await user(profession);
	for (const m of ms) await addMembership(t.db, { userId: id, microstructureId: m.ref.id, role: 'soignant', createdBy: null, startsOn });
	return id;
}

function input(professionalId: string, over: Partial<PermanenceInput> = {}): PermanenceInput {
	return {
		professionalId,
		roomId: null,
		weekday: 2,
		everyWeeks: 1,
		startsOn: nextWeekday(addDays(TODAY, 1), 2),
		endsOn: null,
		startTime: '14:00',
		endTime: '17:00',
		firstMinutes: 60,
		followupMinutes: 45,
		...over
	};
}

async function occurrencesOf(permanenceId: string) {
	return t.db.selectFrom('permanence_occurrence').selectAll().where('permanence_id', '=', permanenceId).orderBy('on_date').execute();
}

async function patient(ms: Ms, last = 'Martin'): Promise<string> {
	const r = await sql<{ id: string }>`
		insert into patient (microstructure_id, code, programme, state, last_name, first_name, oriented_on)
		values (${ms.ref.id}, ${'P-' + randomUUID().slice(0, 8)}, 'MSMA', 'oriente', ${last}, 'Jeanne', current_date)
		returning id`.execute(t.db);
	return r.rows[0].id;
}

async function book(ms: Ms, occurrence: { id: string; professional_id: string; room_id: string | null }, startsAt: Date, minutes: number, patientId?: string, kind: 'premier_contact' | 'suivi' = 'suivi', db = t.db) {
	const r = await db
		.insertInto('appointment')
		.values({
			microstructure_id: ms.ref.id,
			patient_id: patientId ?? (await patient(ms)),
			professional_id: occurrence.professional_id,
			profession: 'psychologue',
			occurrence_id: occurrence.id,
			room_id: occurrence.room_id,
			kind,
			starts_at: startsAt,
			ends_at: new Date(startsAt.getTime() + minutes * 60_000),
			booked_by: coordinatorId,
			request_key: randomUUID(),
			refills_id: null,
			moved_to: null,
			cancelled_at: null,
			cancelled_by: null,
			cancel_reason: null,
			attendance_marked_at: null,
			attendance_marked_by: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return r.id;
}

beforeAll(async () => {
	t = await createTestDb();
	networkId = await createNetwork(t.db, { name: 'Réseau test', territory: 'Bas-Rhin' });
	coordinatorId = await user('coordinateur_administratif', 'Coordinatrice');
	await addMembership(t.db, { userId: coordinatorId, networkId, role: 'coordination_administrative', createdBy: null });
});

afterAll(async () => {
	await t?.close();
});

describe('occurrences on the Paris wall clock', () => {
	test('a 14:00–17:00 permanence stays 14:00–17:00 across the DST changes of 2026 and 2027', async () => {
		const ms = await microstructure('DST');
		const pro = await professional([ms]);
		// Sundays, so that the DST change days themselves are occurrences (2026-03-29, 2026-10-25, 2027-03-28).
		const r = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro, { weekday: 7, startsOn: '2026-03-15', startTime: '14:00', endTime: '17:00' }), '2026-03-01');
		expect(r).toMatchObject({ ok: true });
		if (!r.ok) return;
		await extendOccurrences(t.db, '2027-04-30', '2026-03-01');
		const occ = await occurrencesOf(r.id);
		const byDate = new Map(occ.map((o) => [o.on_date, o]));
		expect(byDate.get('2026-03-22')?.starts_at.toISOString()).toBe('2026-03-22T13:00:00.000Z');
		expect(byDate.get('2026-03-29')?.starts_at.toISOString()).toBe('2026-03-29T12:00:00.000Z');
		expect(byDate.get('2026-03-29')?.ends_at.toISOString()).toBe('2026-03-29T15:00:00.000Z');
		expect(byDate.get('2026-10-18')?.starts_at.toISOString()).toBe('2026-10-18T12:00:00.000Z');
		expect(byDate.get('2026-10-25')?.starts_at.toISOString()).toBe('2026-10-25T13:00:00.000Z');
		expect(byDate.get('2027-03-21')?.starts_at.toISOString()).toBe('2027-03-21T13:00:00.000Z');
		expect(byDate.get('2027-03-28')?.starts_at.toISOString()).toBe('2027-03-28T12:00:00.000Z');
		// Every occurrence, whatever the season: a Sunday, 14:00–17:00 in Paris, one week apart.
		for (const o of occ) {
			expect(new Date(`${o.on_date}T12:00:00Z`).getUTCDay()).toBe(0);
			expect(parisWallClock(o.starts_at)).toEqual({ date: o.on_date, time: '14:00' });
			expect(parisWallClock(o.ends_at)).toEqual({ date: o.on_date, time: '17:00' });
		}
		expect(occ.length).toBe(59); // 2026-03-15 … 2027-04-25
		// Idempotent: a second extension creates nothing.
		expect(await extendOccurrences(t.db, '2027-04-30', '2026-03-01')).toBe(0);
	});

	test('fortnightly: every other week from the anchor, the anchor being the first chosen weekday on or after the start', async () => {
		const ms = await microstructure('Quinzaine');
		const pro = await professional([ms]);
		// 2026-03-25 is a Wednesday; Thursdays chosen: anchor 2026-03-26.
		const r = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro, { weekday: 4, everyWeeks: 2, startsOn: '2026-03-25', endsOn: '2026-05-31' }), '2026-03-01');
		if (!r.ok) throw new Error(r.error);
		expect((await occurrencesOf(r.id)).map((o) => o.on_date)).toEqual(['2026-03-26', '2026-04-09', '2026-04-23', '2026-05-07', '2026-05-21']);
	});

	test('bad input gets a French error and writes nothing', async () => {
		const ms = await microstructure('Erreurs');
		const pro = await professional([ms]);
		const gp = await professional([ms], 'medecin_generaliste');
		const other = await microstructure('Ailleurs');
		const before = await t.db.selectFrom('permanence').select((e) => e.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
		const cases: [PermanenceInput, RegExp][] = [
			[input(gp), /psychologue, un travailleur social ou un psychiatre/],
			[input(pro, { startTime: '17:00', endTime: '14:00' }), /fin doit suivre/],
			[input(pro, { startsOn: addDays(TODAY, -7) }), /passé/],
			[input(pro, { firstMinutes: 500 }), /10 à 240/],
			[input(pro, { followupMinutes: 200, startTime: '14:00', endTime: '15:00' }), /plus longtemps/],
			[input(pro, { roomId: other.rooms[0] }), /Salle introuvable/],
			[input(pro, { endsOn: addDays(TODAY, -1) }), /fin précède/],
			[input(pro, { weekday: 9 }), /Jour/]
		];
		for (const [i, message] of cases) {
			const r = await createPermanence(t.db, ctx(coordinatorId), ms.ref, i);
			expect(r.ok).toBe(false);
			if (!r.ok) expect(r.error).toMatch(message);
		}
		const after = await t.db.selectFrom('permanence').select((e) => e.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
		expect(after.n).toBe(before.n);
	});
});

describe('conflicts, enforced by PostgreSQL', () => {
	test('a professional in two microstructures cannot get overlapping permanences: French error naming the date and place, nothing written', async () => {
		const a = await microstructure('Cabinet A');
		const b = await microstructure('Cabinet B');
		const pro = await professional([a, b]);
		const first = await createPermanence(t.db, ctx(coordinatorId), a.ref, input(pro));
		expect(first.ok).toBe(true);
		const clash = await createPermanence(t.db, ctx(coordinatorId), b.ref, input(pro, { startTime: '16:00', endTime: '18:00' }));
		expect(clash.ok).toBe(false);
		if (!clash.ok) {
			expect(clash.error).toContain('Cabinet A');
			expect(clash.error).toMatch(/déjà une permanence le mardi \d+ [^ ]+ \d{4} de 14h00 à 17h00/);
		}
		expect(await listPermanences(t.db, b.ref.id)).toEqual([]);
		// Fortnightly on the other weeks fits beside a fortnightly one.
		const pro2 = await professional([a, b]);
		const start = nextWeekday(addDays(TODAY, 1), 3);
		expect((await createPermanence(t.db, ctx(coordinatorId), a.ref, input(pro2, { weekday: 3, everyWeeks: 2, startsOn: start }))).ok).toBe(true);
		expect((await createPermanence(t.db, ctx(coordinatorId), b.ref, input(pro2, { weekday: 3, everyWeeks: 2, startsOn: addDays(start, 7) }))).ok).toBe(true);
		const third = await createPermanence(t.db, ctx(coordinatorId), b.ref, input(pro2, { weekday: 3, everyWeeks: 1, startsOn: start, startTime: '09:00', endTime: '14:30' }));
		expect(third.ok).toBe(false);
	});

	test('a series starting past the other series\' generated dates still meets them at creation', async () => {
		const a = await microstructure('Horizon A');
		const b = await microstructure('Horizon B');
		const pro = await professional([a, b]);
		const first = await createPermanence(t.db, ctx(coordinatorId), a.ref, input(pro, { weekday: 5, startsOn: nextWeekday(addDays(TODAY, 1), 5) }));
		if (!first.ok) throw new Error(first.error);
		const last = (await occurrencesOf(first.id)).at(-1)!.on_date;
		// Thirty weeks out: past the first series' rows, which are extended at this creation and collide.
		const late = await createPermanence(t.db, ctx(coordinatorId), b.ref, input(pro, { weekday: 5, startsOn: addDays(last, 28) }));
		expect(late).toMatchObject({ ok: false, error: expect.stringContaining('Horizon A') });
		// Nothing written, not even the first series' extension (one transaction).
		expect((await occurrencesOf(first.id)).at(-1)!.on_date).toBe(last);
	});

	test('under a concurrent burst of creations in several microstructures, exactly one wins', async () => {
		const places = await Promise.all([1, 2, 3, 4].map((i) => microstructure(`Rafale ${i}`)));
		const pro = await professional(places);
		const results = await Promise.all(
			Array.from({ length: 24 }, (_, i) => createPermanence(t.db, ctx(coordinatorId), places[i % 4].ref, input(pro, { startTime: i % 2 ? '14:30' : '14:00' })))
		);
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		for (const r of results) if (!r.ok) expect(r.error).toMatch(/deux endroits|vient d’être pris/);
		const series = await t.db.selectFrom('permanence').select('id').where('professional_id', '=', pro).execute();
		expect(series).toHaveLength(1);
	});

	test('a room is held once at a time; one occurrence can move to another room', async () => {
		const ms = await microstructure('Salles');
		const p1 = await professional([ms]);
		const p2 = await professional([ms], 'travailleur_social');
		expect((await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(p1, { roomId: ms.rooms[0] }))).ok).toBe(true);
		const clash = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(p2, { roomId: ms.rooms[0], startTime: '16:30', endTime: '18:00' }));
		expect(clash.ok).toBe(false);
		if (!clash.ok) expect(clash.error).toMatch(/salle «\u00a0Bureau 1\u00a0» est déjà occupée/);
		const other = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(p2, { roomId: ms.rooms[1], startTime: '16:30', endTime: '18:00' }));
		if (!other.ok) throw new Error(other.error);
		const [firstOfP2] = await occurrencesOf(other.id);
		// Moving p2's first occurrence into Bureau 1 overlaps p1 there: refused. Into no room: fine.
		const refused = await changeOccurrenceRoom(t.db, ctx(coordinatorId), ms.ref, firstOfP2.id, ms.rooms[0]);
		expect(refused).toEqual({ ok: false, error: expect.stringMatching(/déjà occupée/) });
		const apptId = await book(ms, firstOfP2, firstOfP2.starts_at, 45);
		expect(await changeOccurrenceRoom(t.db, ctx(coordinatorId), ms.ref, firstOfP2.id, null)).toEqual({ ok: true });
		const moved = await t.db.selectFrom('permanence_occurrence').select('room_id').where('id', '=', firstOfP2.id).executeTakeFirstOrThrow();
		expect(moved.room_id).toBeNull();
		const appt = await t.db.selectFrom('appointment').select('room_id').where('id', '=', apptId).executeTakeFirstOrThrow();
		expect(appt.room_id).toBeNull();
		// Only this occurrence changed.
		const rest = (await occurrencesOf(other.id)).slice(1);
		expect(rest.every((o) => o.room_id === ms.rooms[1])).toBe(true);
	});
});

describe('editing and ending a series', () => {
	test('editing from a date keeps the past, cancels the old future, starts a successor and lists appointments to move', async () => {
		const ms = await microstructure('Édition');
		const pro = await professional([ms]);
		const created = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro, { weekday: 1, startsOn: '2026-03-02' }), '2026-03-01');
		if (!created.ok) throw new Error(created.error);
		const old = await occurrencesOf(created.id);
		const target = old.find((o) => o.on_date === '2026-04-13')!;
		const apptId = await book(ms, target, target.starts_at, 45);
		// "Today" is 2026-04-01 for this edit: from 2026-04-06 on, Thursdays 09:00–12:00.
		// The psychologist edits her own series: the coordination is told.
		const edit = await editPermanenceFrom(
			t.db,
			ctx(pro),
			ms.ref,
			created.id,
			'2026-04-06',
			{ roomId: null, weekday: 4, everyWeeks: 1, endsOn: null, startTime: '09:00', endTime: '12:00', firstMinutes: 60, followupMinutes: 30 },
			'2026-04-01'
		);
		if (!edit.ok) throw new Error(edit.error);
		expect(edit.toMove.map((a) => a.id)).toEqual([apptId]);
		const after = await occurrencesOf(created.id);
		for (const o of after) {
			if (o.on_date < '2026-04-06') expect(o.cancelled_at).toBeNull();
			else expect(o.cancel_reason).toBe('serie_modifiee');
		}
		// Past rows are the very same rows (not rewritten).
		const past = after.filter((o) => o.on_date < '2026-04-06');
		expect(past.map((o) => [o.id, o.starts_at.toISOString()])).toEqual(old.filter((o) => o.on_date < '2026-04-06').map((o) => [o.id, o.starts_at.toISOString()]));
		const series = await t.db.selectFrom('permanence').selectAll().where('professional_id', '=', pro).orderBy('created_at').execute();
		expect(series.map((s) => [s.starts_on, s.ends_on, s.previous_id])).toEqual([
			['2026-03-02', '2026-04-05', null],
			['2026-04-09', null, created.id]
		]);
		const successor = await occurrencesOf(edit.id);
		expect(successor[0].on_date).toBe('2026-04-09');
		expect(parisWallClock(successor[0].starts_at).time).toBe('09:00');
		// The appointment is untouched (still planned), the coordination is told.
		expect((await t.db.selectFrom('appointment').select('status').where('id', '=', apptId).executeTakeFirstOrThrow()).status).toBe('prevu');
		const told = await t.db.selectFrom('notification').select(['title', 'link']).where('user_id', '=', coordinatorId).where('kind', '=', 'permanence').execute();
		expect(told.some((n) => n.link === `/ms/${ms.ref.id}/permanences`)).toBe(true);
		// An edit dated in the past is refused.
		const back = await editPermanenceFrom(t.db, ctx(coordinatorId), ms.ref, edit.id, '2026-03-30', { roomId: null, weekday: 4, everyWeeks: 1, endsOn: null, startTime: '09:00', endTime: '12:00', firstMinutes: 60, followupMinutes: 30 }, '2026-04-01');
		expect(back.ok).toBe(false);
	});

	test('ending a series is one action: later occurrences cancelled serie_terminee, earlier kept', async () => {
		const ms = await microstructure('Fin');
		const pro = await professional([ms]);
		const created = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro));
		if (!created.ok) throw new Error(created.error);
		const occ = await occurrencesOf(created.id);
		const from = occ[3].on_date;
		const apptId = await book(ms, occ[5], occ[5].starts_at, 60, undefined, 'premier_contact');
		const r = await endPermanence(t.db, ctx(coordinatorId), ms.ref, created.id, from);
		if (!r.ok) throw new Error(r.error);
		expect(r.toMove.map((a) => a.id)).toEqual([apptId]);
		const after = await occurrencesOf(created.id);
		expect(after.slice(0, 3).every((o) => o.cancelled_at === null)).toBe(true);
		expect(after.slice(3).every((o) => o.cancel_reason === 'serie_terminee')).toBe(true);
		// The daily extension does not bring it back.
		await extendOccurrences(t.db, addDays(TODAY, 400));
		expect((await occurrencesOf(created.id)).length).toBe(after.length);
		expect(await listPermanences(t.db, ms.ref.id, { today: addDays(from, 1) })).toEqual([]);
	});
});

describe('free slots', () => {
	test('appointments carve the slots; the grid restarts after each appointment; the past is never offered', async () => {
		const ms = await microstructure('Créneaux');
		const pro = await professional([ms]);
		const created = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro, { roomId: ms.rooms[0] }));
		if (!created.ok) throw new Error(created.error);
		const [occ] = await occurrencesOf(created.id);
		const at = (hhmm: string) => new Date(occ.starts_at.getTime() + (Number(hhmm.slice(0, 2)) - 14) * 3_600_000 + Number(hhmm.slice(3)) * 60_000);
		const window = { microstructureId: ms.ref.id, from: occ.starts_at, to: occ.ends_at };
		const times = async (kind: 'premier_contact' | 'suivi', now?: Date) =>
			(await freeSlots(t.db, { ...window, kind, now })).map((s) => parisWallClock(s.startsAt).time);
		expect(await times('premier_contact')).toEqual(['14:00', '15:00', '16:00']);
		expect(await times('suivi')).toEqual(['14:00', '14:45', '15:30', '16:15']);
		await book(ms, occ, at('14:00'), 60, undefined, 'premier_contact');
		await book(ms, occ, at('15:45'), 45);
		// Free: 15:00–15:45 and 16:30–17:00.
		expect(await times('suivi')).toEqual(['15:00']);
		expect(await times('premier_contact')).toEqual([]);
		const cancelled = await book(ms, occ, at('15:00'), 45);
		await t.db.updateTable('appointment').set({ status: 'annule', cancelled_at: new Date(), cancel_reason: 'patient' }).where('id', '=', cancelled).execute();
		expect(await times('suivi')).toEqual(['15:00']);
		const [slot] = await freeSlots(t.db, { ...window, kind: 'suivi' });
		expect(slot).toMatchObject({ occurrenceId: occ.id, professionalId: pro, profession: 'psychologue', roomId: ms.rooms[0], roomName: 'Bureau 1', kind: 'suivi' });
		expect(slot.endsAt.getTime() - slot.startsAt.getTime()).toBe(45 * 60_000);
		// "Now" in the middle of the permanence: nothing starting before it.
		const fresh = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(await professional([ms]), { weekday: 3, startsOn: nextWeekday(addDays(TODAY, 1), 3) }));
		if (!fresh.ok) throw new Error(fresh.error);
		const [o2] = await occurrencesOf(fresh.id);
		const mid = new Date(o2.starts_at.getTime() + 50 * 60_000);
		const later = await freeSlots(t.db, { microstructureId: ms.ref.id, from: o2.starts_at, to: o2.ends_at, kind: 'suivi', now: mid });
		expect(later.map((s) => parisWallClock(s.startsAt).time)).toEqual(['15:30', '16:15']);
		// Filters: by professional, by profession.
		expect(await freeSlots(t.db, { microstructureId: ms.ref.id, from: o2.starts_at, to: o2.ends_at, kind: 'suivi', professions: ['travailleur_social'] })).toEqual([]);
		expect((await freeSlots(t.db, { ...window, kind: 'suivi', professionalIds: [pro] })).length).toBe(1);
	});

	test('slotFits: inside a live occurrence, right length, on the grid; cancelled occurrences refused', async () => {
		const ms = await microstructure('Ajustement');
		const pro = await professional([ms]);
		const created = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro));
		if (!created.ok) throw new Error(created.error);
		const [occ, next] = await occurrencesOf(created.id);
		const at = (min: number) => new Date(occ.starts_at.getTime() + min * 60_000);
		const fits = (startMin: number, len: number, kind: 'premier_contact' | 'suivi' = 'suivi', occurrenceId = occ.id) =>
			t.db.transaction().execute((trx) => slotFits(trx, { occurrenceId, professionalId: pro, startsAt: at(startMin), endsAt: at(startMin + len), kind }));
		expect((await fits(45, 45)).ok).toBe(true);
		expect((await fits(60, 60, 'premier_contact')).ok).toBe(true);
		expect(await fits(50, 45)).toMatchObject({ ok: false, error: expect.stringMatching(/grille/) });
		expect(await fits(45, 60)).toMatchObject({ ok: false, error: expect.stringMatching(/45\u00a0minutes/) });
		expect(await fits(150, 45)).toMatchObject({ ok: false, error: expect.stringMatching(/sort des horaires/) });
		await book(ms, occ, at(0), 45);
		expect(await fits(0, 45)).toMatchObject({ ok: false, error: expect.stringMatching(/plus libre/) });
		expect((await fits(45, 45)).ok).toBe(true);
		await endPermanence(t.db, ctx(coordinatorId), ms.ref, created.id, next.on_date);
		const cancelled = await t.db.transaction().execute((trx) =>
			slotFits(trx, { occurrenceId: next.id, professionalId: pro, startsAt: next.starts_at, endsAt: new Date(next.starts_at.getTime() + 45 * 60_000), kind: 'suivi' })
		);
		expect(cancelled).toMatchObject({ ok: false, error: expect.stringMatching(/annulée/) });
	});
});

describe('absences', () => {
	test('an absence cancels the occurrences in every microstructure, lists the appointments to move and tells each coordination once', async () => {
		const a = await microstructure('Absence A');
		const b = await microstructure('Absence B');
		const pro = await professional([a, b]);
		const localCoordinator = await user('coordinateur_medical', 'CoordB');
		await addMembership(t.db, { userId: localCoordinator, microstructureId: b.ref.id, role: 'coordination', createdBy: null });
		const secretary = await user('secretariat', 'SecA');
		await addMembership(t.db, { userId: secretary, microstructureId: a.ref.id, role: 'secretariat', createdBy: null });
		const pa = await createPermanence(t.db, ctx(pro), a.ref, input(pro, { weekday: 1, startsOn: nextWeekday(addDays(TODAY, 1), 1) }));
		const pb = await createPermanence(t.db, ctx(pro), b.ref, input(pro, { weekday: 4, startsOn: nextWeekday(addDays(TODAY, 1), 4) }));
		if (!pa.ok || !pb.ok) throw new Error('setup');
		const occA = await occurrencesOf(pa.id);
		const occB = await occurrencesOf(pb.id);
		// The absence covers A's 2nd and 3rd Mondays and the Thursdays between them.
		const startsOn = occA[1].on_date;
		const endsOn = occA[2].on_date;
		const inB = occB.filter((o) => o.on_date >= startsOn && o.on_date <= endsOn);
		expect(inB.length).toBeGreaterThan(0);
		const apptA = await book(a, occA[1], occA[1].starts_at, 45);
		const apptB = await book(b, inB[0], new Date(inB[0].starts_at.getTime() + 45 * 60_000), 45);
		const cancelledAppt = await book(a, occA[2], occA[2].starts_at, 45);
		await t.db.updateTable('appointment').set({ status: 'annule', cancelled_at: new Date(), cancel_reason: 'patient' }).where('id', '=', cancelledAppt).execute();
		const r = await createAbsence(t.db, ctx(coordinatorId), { professionalId: pro, startsOn, endsOn, reason: 'conges', note: '' });
		if (!r.ok) throw new Error(r.error);
		expect(r.cancelledOccurrences).toBe(2 + inB.length);
		expect(r.toMove.map((m) => m.id).sort()).toEqual([apptA, apptB].sort());
		expect(r.toMove[0].patientName).toBe('Jeanne Martin');
		const after = await t.db.selectFrom('permanence_occurrence').select(['on_date', 'cancel_reason', 'absence_id']).where('professional_id', '=', pro).orderBy('on_date').execute();
		for (const o of after) {
			if (o.on_date >= startsOn && o.on_date <= endsOn) expect(o).toMatchObject({ cancel_reason: 'absence', absence_id: r.id });
			else expect(o.cancel_reason).toBeNull();
		}
		// Still planned (to be moved by someone who tells the patient), and listed again on demand.
		expect((await absenceToMove(t.db, r.id)).map((m) => m.id).sort()).toEqual([apptA, apptB].sort());
		// B's own coordinator is told once (about B's appointment); the network coordinator recorded it.
		const told = await t.db.selectFrom('notification').select(['title', 'body']).where('user_id', '=', localCoordinator).where('kind', '=', 'absence').execute();
		expect(told).toHaveLength(1);
		expect(told[0].body).toBe('1 rendez-vous à déplacer.');
		// A's secretariat (who books, moves and answers the patients) is told where to find it; the
		// professional, whose absence a coordinator recorded, is told too.
		const desk = await t.db.selectFrom('notification').select(['body', 'link']).where('user_id', '=', secretary).execute();
		expect(desk).toEqual([{ body: expect.stringMatching(/^1 rendez-vous à déplacer/), link: `/ms/${a.ref.id}/rendez-vous?date=${occA[1].on_date}` }]);
		const own = await t.db.selectFrom('notification').select(['title', 'link']).where('user_id', '=', pro).execute();
		expect(own).toEqual([{ title: expect.stringMatching(/^Une absence a été enregistrée pour vous/), link: `/absences?absence=${r.id}` }]);
		// Wherever the appointment shows, it reads "to move" (not "planned" with nothing said).
		const agenda = await microstructureAgenda(t.db, ctx(secretary), a.ref, occA[0].starts_at, occA[3].ends_at);
		expect(agenda.find((e) => e.id === apptA)?.toMove).toBe('absence');
		expect(agenda.find((e) => e.id === cancelledAppt)?.toMove).toBeNull();
		// Overlapping absence refused; free slots gone in the range.
		const again = await createAbsence(t.db, ctx(pro), { professionalId: pro, startsOn: endsOn, endsOn: addDays(endsOn, 3), reason: 'maladie', note: '' });
		expect(again).toMatchObject({ ok: false, error: expect.stringMatching(/couvre déjà/) });
		expect(await freeSlots(t.db, { microstructureId: a.ref.id, from: occA[1].starts_at, to: occA[2].ends_at, kind: 'suivi' })).toEqual([]);
		// A series created later over the absence is born cancelled on those days.
		const pc = await createPermanence(t.db, ctx(pro), a.ref, input(pro, { weekday: 5, startsOn: nextWeekday(addDays(TODAY, 1), 5) }));
		if (!pc.ok) throw new Error(pc.error);
		const occC = await occurrencesOf(pc.id);
		for (const o of occC) expect(o.cancel_reason).toBe(o.on_date >= startsOn && o.on_date <= endsOn ? 'absence' : null);
		// Cancelling the absence restores what is still free; a slot taken meanwhile stays cancelled:
		// A's first cancelled Monday was in Bureau 1, which another professional now holds then.
		await t.db.updateTable('permanence_occurrence').set({ room_id: a.rooms[0] }).where('id', '=', occA[1].id).execute();
		const taker = await createPermanence(t.db, ctx(coordinatorId), a.ref, input(await professional([a]), { roomId: a.rooms[0], weekday: 1, startsOn: occA[1].on_date, endsOn: occA[1].on_date }));
		expect(taker.ok).toBe(true);
		const undo = await cancelAbsence(t.db, ctx(pro), r.id);
		if (!undo.ok) throw new Error(undo.error);
		const restored = await t.db.selectFrom('permanence_occurrence').select(['id', 'cancel_reason']).where('professional_id', '=', pro).execute();
		expect(restored.filter((o) => o.cancel_reason !== null).map((o) => o.id)).toEqual([occA[1].id]);
		expect(undo.restored).toBe(1 + inB.length + occC.filter((o) => o.on_date >= startsOn && o.on_date <= endsOn).length);
		expect(await cancelAbsence(t.db, ctx(pro), r.id)).toMatchObject({ ok: false });
		expect(await listAbsences(t.db, [pro])).toEqual([]);
		expect(await absenceResource(t.db, pro)).toEqual({ professionalId: pro, networkIds: [networkId] });
		// A GP holds no permanences: no network where an absence of theirs would cancel anything.
		const gp = await professional([await microstructure('Absence GP')], 'medecin_generaliste');
		expect(await absenceResource(t.db, gp)).toEqual({ professionalId: gp, networkIds: [] });
	});

	test('a booking in flight holds its occurrence: the absence waits for it, then lists the appointment to move', async () => {
		const ms = await microstructure('Absence verrou');
		const pro = await professional([ms]);
		const created = await createPermanence(t.db, ctx(pro), ms.ref, input(pro));
		if (!created.ok) throw new Error(created.error);
		const [occ] = await occurrencesOf(created.id);
		const patientId = await patient(ms);
		let fitted!: () => void;
		const fittedNow = new Promise<void>((resolve) => (fitted = resolve));
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		// What APPT's book() does: slotFits (share lock on the occurrence), then the insert, in one transaction.
		const booking = t.db.transaction().execute(async (trx) => {
			const fit = await slotFits(trx, { occurrenceId: occ.id, professionalId: pro, startsAt: occ.starts_at, endsAt: new Date(occ.starts_at.getTime() + 45 * 60_000), kind: 'suivi' });
			expect(fit.ok).toBe(true);
			fitted();
			await gate;
			return book(ms, occ, occ.starts_at, 45, patientId, 'suivi', trx);
		});
		await fittedNow;
		let settled = false;
		const absence = createAbsence(t.db, ctx(coordinatorId), { professionalId: pro, startsOn: occ.on_date, endsOn: occ.on_date, reason: 'maladie', note: '' }).finally(() => (settled = true));
		await new Promise((resolve) => setTimeout(resolve, 400));
		expect(settled).toBe(false);
		release();
		const appointmentId = await booking;
		const r = await absence;
		if (!r.ok) throw new Error(r.error);
		expect(r.toMove.map((a) => a.id)).toEqual([appointmentId]);
		// And a booking arriving after the absence sees the occurrence cancelled.
		const late = await t.db.transaction().execute((trx) =>
			slotFits(trx, { occurrenceId: occ.id, professionalId: pro, startsAt: new Date(occ.starts_at.getTime() + 45 * 60_000), endsAt: new Date(occ.starts_at.getTime() + 90 * 60_000), kind: 'suivi' })
		);
		expect(late).toMatchObject({ ok: false, error: expect.stringMatching(/annulée/) });
	});

	test('bad absences change nothing; concurrent overlapping absences: one wins', async () => {
		const ms = await microstructure('Absence C');
		const pro = await professional([ms]);
		const bad: [Parameters<typeof createAbsence>[2], RegExp][] = [
			[{ professionalId: pro, startsOn: addDays(TODAY, 5), endsOn: addDays(TODAY, 2), reason: 'conges', note: '' }, /précède/],
			[{ professionalId: pro, startsOn: addDays(TODAY, -9), endsOn: addDays(TODAY, -2), reason: 'conges', note: '' }, /passé/],
			[{ professionalId: pro, startsOn: TODAY, endsOn: addDays(TODAY, 400), reason: 'conges', note: '' }, /un an/],
			[{ professionalId: pro, startsOn: TODAY, endsOn: TODAY, reason: 'vacances' as 'conges', note: '' }, /Motif/]
		];
		for (const [i, m] of bad) expect(await createAbsence(t.db, ctx(pro), i)).toMatchObject({ ok: false, error: expect.stringMatching(m) });
		const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => createAbsence(t.db, ctx(pro), { professionalId: pro, startsOn: addDays(TODAY, 10 + i), endsOn: addDays(TODAY, 20), reason: 'formation', note: '' })));
		expect(burst.filter((r) => r.ok)).toHaveLength(1);
		expect(await listAbsences(t.db, [pro])).toHaveLength(1);
	});
});

describe('rooms', () => {
	test('create, rename, archive (refused while held), site phone', async () => {
		const ms = await microstructure('Locaux');
		const [site] = await listSites(t.db, ms.ref.id);
		const r = await createRoom(t.db, ctx(coordinatorId), ms.ref, site.id, '  Salle   de réunion ');
		if (!r.ok) throw new Error(r.error);
		expect(await createRoom(t.db, ctx(coordinatorId), ms.ref, site.id, 'salle de RÉUNION')).toMatchObject({ ok: false });
		expect(await createRoom(t.db, ctx(coordinatorId), ms.ref, site.id, 'x'.repeat(61))).toMatchObject({ ok: false });
		const other = await microstructure('Locaux ailleurs');
		expect(await createRoom(t.db, ctx(coordinatorId), other.ref, site.id, 'Intrus')).toMatchObject({ ok: false, error: expect.stringMatching(/Site introuvable/) });
		expect(await renameRoom(t.db, ctx(coordinatorId), ms.ref, r.id, 'Bureau 1')).toMatchObject({ ok: false, error: expect.stringMatching(/existe déjà/) });
		expect(await renameRoom(t.db, ctx(coordinatorId), ms.ref, r.id, 'Bureau 3')).toEqual({ ok: true });
		const pro = await professional([ms]);
		const p = await createPermanence(t.db, ctx(coordinatorId), ms.ref, input(pro, { roomId: r.id }));
		if (!p.ok) throw new Error(p.error);
		expect(await archiveRoom(t.db, ctx(coordinatorId), ms.ref, r.id)).toMatchObject({ ok: false, error: expect.stringMatching(/encore prévue/) });
		await endPermanence(t.db, ctx(coordinatorId), ms.ref, p.id, TODAY);
		expect(await archiveRoom(t.db, ctx(coordinatorId), ms.ref, r.id)).toEqual({ ok: true });
		expect((await listSites(t.db, ms.ref.id))[0].rooms.map((x) => x.name)).toEqual(['Bureau 1', 'Bureau 2']);
		// The archived name can be used again.
		expect((await createRoom(t.db, ctx(coordinatorId), ms.ref, site.id, 'Bureau 3')).ok).toBe(true);
		expect(await setSitePhone(t.db, ctx(coordinatorId), ms.ref, site.id, '03 88 12 34 56')).toEqual({ ok: true });
		expect(await setSitePhone(t.db, ctx(coordinatorId), ms.ref, site.id, 'appelez-nous')).toMatchObject({ ok: false });
		expect((await listSites(t.db, ms.ref.id))[0].phone).toBe('03 88 12 34 56');
		const audits = await t.db.selectFrom('audit_event').select('action').where('microstructure_id', '=', ms.ref.id).execute();
		expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['room.created', 'room.renamed', 'room.archived', 'site.phone_changed', 'permanence.created', 'permanence.ended']));
	});
});
