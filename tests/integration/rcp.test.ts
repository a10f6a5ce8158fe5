// The live RCP against a real database and over real sockets: series and one-off sessions with
// their invitations, the agenda proposed from the records (reasons relative to the session date,
// programme confidentiality), editing it, starting, the "now discussing" pointer and its timer,
// decisions applied through the patient lifecycle, closing (attendance, passages, events, PPS
// versions, carry-over, notifications), then socket.io (join, pointer, decisions, bad payloads,
// presence and quorum, a guest's filtered view) and the Yjs case-notes documents.
//
// Each scenario gets its own microstructure (on top of the demo), so agendas hold exactly the
// patients the test created; dates are relative to today in Paris.
process.env.LOG_LEVEL = 'silent';
process.env.NIR_KEYS ??= `test:${Buffer.alloc(32, 7).toString('base64')}`;

import { sql } from 'kysely';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { createSharedTestDb, type TestDb } from '../helpers/db.ts';
import { addGoal, barrier, sessionCookie, startRealtimeServer, stopRealtimeServer, upgradeStatus as upgradeStatusAt, waitUntil, withTimeout, yjsProvider } from '../helpers/realtime.ts';
import { loadDoc } from '../../src/lib/server/realtime/yjs-store.ts';
import { project } from '../../src/lib/pps/model.ts';
import { seedDemo } from '../../src/lib/server/demo/seed.ts';
import type { Realtime } from '../../src/lib/server/realtime/attach.ts';
import { reauthorizeUser, withLiveDoc } from '../../src/lib/server/live.ts';
import type { MicrostructureRef } from '../../src/lib/server/access/policy.ts';
import type { Programme, RcpReason, RcpTemplateContent } from '../../src/lib/server/db/schema.ts';
import { createMicrostructure } from '../../src/lib/server/org/microstructures.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { addDays, addYears, parisToday } from '../../src/lib/server/patients/lifecycle.ts';
import { applyPathwayAction, createPatient, setCareTeam } from '../../src/lib/server/patients/patients.ts';
import { ppsDocName, validateVersion } from '../../src/lib/server/pps/pps.ts';
import { occurrences, parisInstant, parisWallClock } from '../../src/lib/server/rcp/schedule.ts';
import { DEFAULT_TEMPLATE, saveTemplate } from '../../src/lib/server/rcp/templates.ts';
import {
	addCase,
	addOrganisationPoint,
	buildAgenda,
	cancelSession,
	createSeries,
	createSession,
	flagPatient,
	getSession,
	materialiseSeries,
	moveItem,
	moveSessionToToday,
	proposals,
	removeItem,
	resolveRcpSession,
	setRsvp,
	SERIES_HORIZON_DAYS
} from '../../src/lib/server/rcp/sessions.ts';
import { closeSession, markPresent, movePointer, notesDocName, recordDecision, setAttendance, startSession, type LiveState } from '../../src/lib/server/rcp/live.ts';
import { decisionInput, type DecisionInput } from '../../src/lib/server/rcp/decisions.ts';
import { quorum } from '../../src/lib/rcp/quorum.ts';
import { compteRendu } from '../../src/lib/server/rcp/report.ts';
import { PRESENCE_HEARTBEAT_SECONDS } from '../../src/lib/rcp/attendance.ts';

const TODAY = parisToday();

let t: TestDb;
let ids: Awaited<ReturnType<typeof seedDemo>>;
let server: Server;
let realtime: Realtime;
let httpBase: string;
let wsBase: string;
const sockets: ClientSocket[] = [];
const rawSockets: WebSocket[] = [];

beforeAll(async () => {
	t = await createSharedTestDb();
	ids = await seedDemo(t.db);
	let port: number;
	({ server, realtime, port } = await startRealtimeServer());
	httpBase = `http://127.0.0.1:${port}`;
	wsBase = `ws://127.0.0.1:${port}`;
});

afterAll(async () => {
	for (const s of sockets) s.disconnect();
	for (const ws of rawSockets) ws.terminate();
	await stopRealtimeServer(realtime, server);
	// Let the PPS projection timers (1 s after the last edit) fire against a database that still exists.
	await new Promise((resolve) => setTimeout(resolve, 1200));
	await t?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const user = (login: string) => ids.users[login];
const ctx = (login: string) => ({ actorId: user(login), ip: '127.0.0.1', userAgent: 'vitest' });
/** The animator of every session below. */
const CLAIRE = 'claire.muller';

/** The team of every test microstructure: a GP, a psychologist, a social worker, a coordinating GP, and a secretariat. */
const TEAM: [string, 'soignant' | 'coordination' | 'secretariat'][] = [
	['claire.muller', 'soignant'],
	['camille.durand', 'soignant'],
	['karim.mansouri', 'soignant'],
	['yasmine.belkacem', 'coordination'],
	['nadia.benali', 'secretariat']
];
const INVITED = ['claire.muller', 'camille.durand', 'karim.mansouri', 'yasmine.belkacem'];

let msCount = 0;
/** A new microstructure of the Bas-Rhin network with TEAM, plus a former member whose membership has ended. */
async function freshMs(programmes: Programme[] = ['MSMA', 'MSPC']): Promise<MicrostructureRef> {
	const name = `MSP d'essai RCP ${++msCount}`;
	const id = await createMicrostructure(t.db, {
		networkId: ids.networks.est,
		name,
		programmes,
		practiceKind: 'msp',
		city: 'Strasbourg',
		site: { name, address: '1 rue de l’Essai', postalCode: '67000', city: 'Strasbourg', rooms: ['Salle RCP'] }
	});
	for (const [login, role] of TEAM) await addMembership(t.db, { userId: user(login), microstructureId: id, role, createdBy: null, startsOn: '2025-09-01' });
	const former = await addMembership(t.db, { userId: user('thomas.roth'), microstructureId: id, role: 'soignant', createdBy: null, startsOn: '2025-09-01' });
	await t.db.updateTable('membership').set({ ends_on: addDays(TODAY, -1) }).where('id', '=', former).execute();
	// As the membership pages do: live connections learn of the new memberships (cached actors dropped).
	for (const login of [...TEAM.map(([l]) => l), 'thomas.roth']) await reauthorizeUser(user(login));
	return { id, networkId: ids.networks.est };
}

interface PatientSpec {
	programme?: Programme;
	author?: string;
	/** Included this many days ago (default 200), unless only oriented. */
	includedDaysAgo?: number;
	/** First contact this many days ago: the patient is then "en suivi". */
	contactDaysAgo?: number;
	orientedOnly?: boolean;
	exitedDaysAgo?: number;
}

let patientCount = 0;
async function newPatient(ms: MicrostructureRef, spec: PatientSpec = {}): Promise<string> {
	const author = spec.author ?? CLAIRE;
	const on = addDays(TODAY, -(spec.includedDaysAgo ?? 200));
	const r = await createPatient(
		t.db,
		ctx(author),
		ms,
		{
			identity: { lastName: `Rcp${++patientCount}`, firstName: 'Alex', birthDate: '1980-01-01', sex: 'M', phone: null, email: null },
			programme: spec.programme ?? 'MSMA',
			motif: 'addiction',
			orientationOrigin: null,
			medecinTraitant: null,
			start: spec.orientedOnly ? { kind: 'orient', on } : { kind: 'include', on, orientation: 'psychologue', consent: { on, method: 'oral_atteste' } }
		},
		TODAY
	);
	if (!r.ok) throw new Error(r.error);
	if (spec.contactDaysAgo !== undefined) await step(ms, r.id, { kind: 'first_contact', on: addDays(TODAY, -spec.contactDaysAgo) });
	if (spec.exitedDaysAgo !== undefined) await step(ms, r.id, { kind: 'exit', on: addDays(TODAY, -spec.exitedDaysAgo), reason: 'amelioration' });
	return r.id;
}

async function patientRow(id: string) {
	return t.db.selectFrom('patient').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function step(ms: MicrostructureRef, id: string, action: Parameters<typeof applyPathwayAction>[4]) {
	const r = await applyPathwayAction(t.db, ctx(CLAIRE), ms, await patientRow(id), action, TODAY);
	if (!r.ok) throw new Error(r.error);
}

const slot: { title: string; roomId: string | null; visioUrl: string | null; programme: Programme | null } = { title: 'RCP', roomId: null, visioUrl: null, programme: null };

async function plannedSession(ms: MicrostructureRef, date: string, over: Partial<typeof slot> = {}): Promise<string> {
	return createSession(t.db, ctx(CLAIRE), ms, { ...slot, ...over, date, startTime: '12:30', endTime: '14:00' });
}

async function session(id: string) {
	const s = await getSession(t.db, id);
	if (!s) throw new Error(`no session ${id}`);
	return s;
}

/** A closed RCP `daysAgo` that discussed the patient (the last passage the agenda reads). */
async function pastPassage(ms: MicrostructureRef, patientId: string, daysAgo: number): Promise<void> {
	const id = await plannedSession(ms, addDays(TODAY, -daysAgo), { title: 'RCP passée' });
	await t.db.updateTable('rcp_session').set({ status: 'cloturee', closed_at: new Date() }).where('id', '=', id).execute();
	await t.db.insertInto('rcp_passage').values({ patient_id: patientId, session_id: id, on_date: addDays(TODAY, -daysAgo), decision: 'poursuite' }).execute();
}

const MANUAL: RcpReason[] = [{ code: 'manual' }];

/** A session today with these cases (in order) and one organisational point, started by Claire. */
async function liveSession(ms: MicrostructureRef, patientIds: string[], date = TODAY) {
	const id = await plannedSession(ms, date);
	const s = await session(id);
	const items: string[] = [];
	for (const p of patientIds) {
		const item = await addCase(t.db, s, p, MANUAL, user(CLAIRE));
		if (!item) throw new Error('case not added');
		items.push(item);
	}
	const org = await addOrganisationPoint(t.db, s, 'organisation_ms', 'Permanences de janvier', user(CLAIRE));
	expect(await startSession(t.db, ctx(CLAIRE), ms, id)).toBe(true);
	return { id, items, org };
}

async function agenda(sessionId: string) {
	return t.db.selectFrom('rcp_item').selectAll().where('session_id', '=', sessionId).orderBy('position').execute();
}

async function itemRow(id: string) {
	return t.db.selectFrom('rcp_item').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Records a decision; the change it returns for the room is checked over sockets below. */
const decide = async (ms: MicrostructureRef, sessionId: string, itemId: string, input: Partial<DecisionInput> & Pick<DecisionInput, 'kind'>, login = CLAIRE) => {
	const result = await recordDecision(t.db, ctx(login), ms, sessionId, itemId, decisionInput.parse(input));
	return result.ok ? { ok: true } : result;
};

async function invitedLogins(sessionId: string): Promise<string[]> {
	const rows = await t.db.selectFrom('rcp_participant').select(['user_id', 'kind', 'rsvp', 'attendance']).where('session_id', '=', sessionId).execute();
	for (const r of rows) expect(r).toMatchObject({ kind: 'membre', rsvp: null, attendance: null });
	const byId = Object.fromEntries(Object.entries(ids.users).map(([login, id]) => [id, login]));
	return rows.map((r) => byId[r.user_id]).sort();
}

// ---------------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------------

describe('planning', () => {
	test('a series materialises its sessions up to the horizon, every clinician and coordinator invited; again is a no-op', async () => {
		const ms = await freshMs();
		const rule = { rrule: 'FREQ=MONTHLY;BYDAY=1TU', starts_on: TODAY, until_on: null, start_time: '12:30', end_time: '14:00' };
		const seriesId = await createSeries(t.db, ctx(CLAIRE), ms, { ...slot, title: 'RCP mensuelle', rrule: rule.rrule, startsOn: TODAY, untilOn: null, startTime: '12:30', endTime: '14:00' });

		const expected = occurrences(rule, TODAY, addDays(TODAY, SERIES_HORIZON_DAYS));
		expect(expected.length).toBeGreaterThanOrEqual(6);
		const rows = await t.db.selectFrom('rcp_session').selectAll().where('series_id', '=', seriesId).orderBy('starts_at').execute();
		expect(rows.map((r) => r.starts_at.toISOString())).toEqual(expected.map((o) => o.startsAt.toISOString()));
		for (const r of rows) {
			const start = parisWallClock(r.starts_at);
			// The first Tuesday of its month, 12:30–14:00 in Paris whatever the season.
			expect(new Date(`${start.date}T00:00:00Z`).getUTCDay()).toBe(2);
			expect(Number(start.date.slice(8))).toBeLessThanOrEqual(7);
			expect(start.time).toBe('12:30');
			expect(parisWallClock(r.ends_at).time).toBe('14:00');
			expect(r).toMatchObject({ microstructure_id: ms.id, title: 'RCP mensuelle', status: 'planifiee', template: DEFAULT_TEMPLATE });
			// Clinicians and the coordination; not the secretariat, not a former member.
			expect(await invitedLogins(r.id)).toEqual([...INVITED].sort());
		}

		// Idempotent: nothing new, nobody invited twice.
		expect(await materialiseSeries(t.db, seriesId)).toBe(0);
		expect(await t.db.selectFrom('rcp_session').select('id').where('series_id', '=', seriesId).execute()).toHaveLength(rows.length);
		const participants = await t.db.selectFrom('rcp_participant').select('user_id').where('session_id', 'in', rows.map((r) => r.id)).execute();
		expect(participants).toHaveLength(rows.length * INVITED.length);

		// Two months later, only the sessions that entered the horizon are added.
		const later = addDays(TODAY, 60);
		const added = occurrences(rule, addDays(TODAY, SERIES_HORIZON_DAYS + 1), addDays(later, SERIES_HORIZON_DAYS)).length;
		expect(added).toBeGreaterThanOrEqual(1);
		expect(await materialiseSeries(t.db, seriesId, later)).toBe(added);
		expect(await materialiseSeries(t.db, seriesId, later)).toBe(0);
		expect(await t.db.selectFrom('rcp_session').select('id').where('series_id', '=', seriesId).execute()).toHaveLength(rows.length + added);

		const audits = await t.db.selectFrom('audit_event').select(['actor_id', 'microstructure_id']).where('action', '=', 'rcp.series_created').where('target_id', '=', seriesId).execute();
		expect(audits).toEqual([{ actor_id: user(CLAIRE), microstructure_id: ms.id }]);
	});

	test('a one-off session is planned on the Paris wall clock, with the team invited and the template of its microstructure', async () => {
		const ms = await freshMs();
		const own: RcpTemplateContent = { ...DEFAULT_TEMPLATE, name: 'Trame courte', targetMinutes: 60, minutesPerCase: 15, quorumProfessions: ['medecin_generaliste', 'psychologue'] };
		await saveTemplate(t.db, ctx('yasmine.belkacem'), { microstructure: ms }, own);
		const date = addDays(TODAY, 9);
		const id = await createSession(t.db, ctx(CLAIRE), ms, { ...slot, programme: 'MSPC', date, startTime: '12:30', endTime: '13:30' });
		const s = await session(id);
		expect(s.starts_at.toISOString()).toBe(parisInstant(date, '12:30').toISOString());
		expect(s.ends_at.toISOString()).toBe(parisInstant(date, '13:30').toISOString());
		expect(s).toMatchObject({ status: 'planifiee', programme: 'MSPC', series_id: null, template: own, agenda_built_at: null });
		expect(await invitedLogins(id)).toEqual([...INVITED].sort());

		// The session keeps the template it was planned with.
		await saveTemplate(t.db, ctx('yasmine.belkacem'), { microstructure: ms }, { ...own, name: 'Trame modifiée', targetMinutes: 120 });
		expect((await session(id)).template).toEqual(own);
	});
});

// ---------------------------------------------------------------------------------------------
// The agenda
// ---------------------------------------------------------------------------------------------

describe('agenda', () => {
	let ms: MicrostructureRef;
	let sessionId: string;
	const p: Record<string, string> = {};
	const sessionDate = addDays(TODAY, 14);

	beforeAll(async () => {
		ms = await freshMs();
		// Reasons relative to a session in two weeks (D):
		p.never = await newPatient(ms, { includedDaysAgo: 10 }); // included D−24: never discussed only
		p.old = await newPatient(ms, { includedDaysAgo: 200, contactDaysAgo: 190 });
		await pastPassage(ms, p.old, 100); // D−114: more than 90 days
		p.recent = await newPatient(ms, { includedDaysAgo: 200, contactDaysAgo: 190 });
		await pastPassage(ms, p.recent, 60); // D−74: nothing to say
		p.renewal = await newPatient(ms, { includedDaysAgo: 350, contactDaysAgo: 340 }); // due around D+1
		await pastPassage(ms, p.renewal, 20);
		p.nocontact = await newPatient(ms, { includedDaysAgo: 40 }); // D−54, still "inclus"
		p.flagged = await newPatient(ms, { includedDaysAgo: 200, contactDaysAgo: 190 });
		await pastPassage(ms, p.flagged, 20);
		await flagPatient(t.db, ctx('camille.durand'), ms, p.flagged, 'Reprise de consommation depuis un mois ?');
		// Never proposed: oriented only, exited, or of the other programme.
		p.oriented = await newPatient(ms, { orientedOnly: true, includedDaysAgo: 5 });
		p.exited = await newPatient(ms, { includedDaysAgo: 300, exitedDaysAgo: 10 });
		p.mspc = await newPatient(ms, { programme: 'MSPC', includedDaysAgo: 10 });
		sessionId = await plannedSession(ms, sessionDate, { programme: 'MSMA' });
	});

	test('buildAgenda proposes the cases with their reasons, most urgent first, then the organisational points', async () => {
		const renewalDue = (await patientRow(p.renewal)).renewal_due_on!;
		expect(renewalDue <= addDays(sessionDate, 30)).toBe(true);
		const s = await session(sessionId);
		expect(await buildAgenda(t.db, s, user(CLAIRE))).toBe(true);

		const items = await agenda(sessionId);
		expect(items.map((i) => ({ kind: i.kind, patient: i.patient_id, title: i.title, reasons: i.reasons, position: i.position }))).toEqual([
			{ kind: 'cas', patient: p.flagged, title: null, position: 1, reasons: [{ code: 'flagged', date: TODAY, question: 'Reprise de consommation depuis un mois ?' }] },
			{ kind: 'cas', patient: p.renewal, title: null, position: 2, reasons: [{ code: 'renewal_due', date: renewalDue }] },
			{
				kind: 'cas',
				patient: p.nocontact,
				title: null,
				position: 3,
				reasons: [
					{ code: 'no_first_contact', date: addDays(TODAY, -40) },
					{ code: 'never_discussed', date: addDays(TODAY, -40) }
				]
			},
			{ kind: 'cas', patient: p.never, title: null, position: 4, reasons: [{ code: 'never_discussed', date: addDays(TODAY, -10) }] },
			{ kind: 'cas', patient: p.old, title: null, position: 5, reasons: [{ code: 'not_discussed_90', date: addDays(TODAY, -100) }] },
			{ kind: 'organisation_pec', patient: null, title: 'Organisation des prises en charge', position: 6, reasons: [{ code: 'manual' }] },
			{ kind: 'organisation_ms', patient: null, title: 'Organisation de la microstructure', position: 7, reasons: [{ code: 'manual' }] }
		]);
		// The question is answered by this agenda line.
		const flags = await t.db.selectFrom('rcp_flag').select('handled_item_id').where('patient_id', '=', p.flagged).execute();
		expect(flags).toEqual([{ handled_item_id: items[0].id }]);

		// Built once: nothing more to propose, and a second build does nothing.
		expect(await proposals(t.db, await session(sessionId))).toEqual([]);
		expect(await buildAgenda(t.db, await session(sessionId), user(CLAIRE))).toBe(false);
		expect(await agenda(sessionId)).toHaveLength(7);
	});

	test('programme confidentiality: an MSPC session never lists an MSMA patient, and refuses one added by hand', async () => {
		const mspcId = await plannedSession(ms, sessionDate, { programme: 'MSPC' });
		const mspc = await session(mspcId);
		expect((await proposals(t.db, mspc)).map((x) => x.patientId)).toEqual([p.mspc]);
		expect(await buildAgenda(t.db, mspc, user(CLAIRE))).toBe(true);
		expect((await agenda(mspcId)).filter((i) => i.kind === 'cas').map((i) => i.patient_id)).toEqual([p.mspc]);
		expect(await addCase(t.db, mspc, p.never, MANUAL, user(CLAIRE))).toBeNull();
		// A session of all programmes takes both.
		const allId = await plannedSession(ms, sessionDate);
		expect((await proposals(t.db, await session(allId))).map((x) => x.patientId).sort()).toEqual([p.never, p.old, p.renewal, p.nocontact, p.mspc].sort());
	});

	test('addCase refuses a patient of another microstructure, an exited one, and one already on the agenda', async () => {
		const other = await freshMs(['MSMA']);
		const stranger = await newPatient(other, { includedDaysAgo: 10 });
		const s = await session(sessionId);
		expect(await addCase(t.db, s, stranger, MANUAL, user(CLAIRE))).toBeNull();
		expect(await addCase(t.db, s, p.exited, MANUAL, user(CLAIRE))).toBeNull();
		expect(await addCase(t.db, s, p.never, MANUAL, user(CLAIRE))).toBeNull();
		expect(await addCase(t.db, s, crypto.randomUUID(), MANUAL, user(CLAIRE))).toBeNull();
		// Someone of this microstructure and programme with nothing due can be added by hand.
		const added = await addCase(t.db, s, p.recent, MANUAL, user(CLAIRE));
		expect(added).not.toBeNull();
		expect(await itemRow(added!)).toMatchObject({ patient_id: p.recent, position: 8, reasons: MANUAL });
		expect(await removeItem(t.db, s, added!)).toBe(true);
	});

	test('moveItem swaps neighbours and stops at the ends', async () => {
		const s = await session(sessionId);
		const before = await agenda(sessionId);
		const order = before.map((i) => i.id);
		expect(await moveItem(t.db, s, order[4], 'up')).toBe(true);
		expect((await agenda(sessionId)).map((i) => i.id)).toEqual([order[0], order[1], order[2], order[4], order[3], order[5], order[6]]);
		expect(await moveItem(t.db, s, order[4], 'down')).toBe(true);
		expect((await agenda(sessionId)).map((i) => i.id)).toEqual(order);
		expect(await moveItem(t.db, s, order[0], 'up')).toBe(false);
		expect(await moveItem(t.db, s, order[6], 'down')).toBe(false);
		expect(await moveItem(t.db, s, crypto.randomUUID(), 'up')).toBe(false);
		expect(await moveItem(t.db, s, 'not-a-uuid', 'up')).toBe(false);
		// An item of another session is not moved from here.
		const otherItem = (await agenda((await t.db.selectFrom('rcp_session').select('id').where('programme', '=', 'MSPC').where('microstructure_id', '=', ms.id).executeTakeFirstOrThrow()).id))[0];
		expect(await moveItem(t.db, s, otherItem.id, 'down')).toBe(false);
		expect((await agenda(sessionId)).map((i) => i.position)).toEqual(before.map((i) => i.position));
	});

	test('removing the flagged case gives the question back to the proposals; adding it again answers it again', async () => {
		const s = await session(sessionId);
		const flaggedItem = (await agenda(sessionId)).find((i) => i.patient_id === p.flagged)!;
		await t.db.insertInto('rcp_prep_note').values({ item_id: flaggedItem.id, author_id: user('camille.durand'), profession: 'psychologue', body: 'Vu la semaine dernière.' }).execute();
		expect(await removeItem(t.db, s, flaggedItem.id)).toBe(true);
		expect(await removeItem(t.db, s, flaggedItem.id)).toBe(false);
		expect(await removeItem(t.db, s, 'not-a-uuid')).toBe(false);
		expect(await agenda(sessionId)).toHaveLength(6);
		expect(await t.db.selectFrom('rcp_prep_note').select('item_id').where('item_id', '=', flaggedItem.id).execute()).toEqual([]);
		expect(await t.db.selectFrom('rcp_flag').select('handled_item_id').where('patient_id', '=', p.flagged).execute()).toEqual([{ handled_item_id: null }]);
		expect(await proposals(t.db, s)).toEqual([{ patientId: p.flagged, reasons: [{ code: 'flagged', date: TODAY, question: 'Reprise de consommation depuis un mois ?' }] }]);

		const again = await addCase(t.db, s, p.flagged, [{ code: 'manual' }], user(CLAIRE));
		expect(await t.db.selectFrom('rcp_flag').select('handled_item_id').where('patient_id', '=', p.flagged).execute()).toEqual([{ handled_item_id: again }]);
		expect(await proposals(t.db, s)).toEqual([]);
	});
});

// ---------------------------------------------------------------------------------------------
// Live: start, pointer, decisions
// ---------------------------------------------------------------------------------------------

describe('live session', () => {
	test('startSession opens the session once, with its starter animating and the pointer on the first item', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms);
		const id = await plannedSession(ms, TODAY);
		const item = await addCase(t.db, await session(id), a, MANUAL, user(CLAIRE));
		expect(await startSession(t.db, ctx('camille.durand'), ms, id)).toBe(true);
		const s = await session(id);
		expect(s).toMatchObject({ status: 'en_cours', animator_id: user('camille.durand'), pointer_item_id: item });
		expect(s.started_at).toBeInstanceOf(Date);
		expect(s.pointer_since).toBeInstanceOf(Date);
		expect(await startSession(t.db, ctx(CLAIRE), ms, id)).toBe(false);
		expect((await session(id)).animator_id).toBe(user('camille.durand'));
		// A live session's agenda is not built any more.
		expect(await buildAgenda(t.db, await session(id), user(CLAIRE))).toBe(false);
	});

	test('movePointer adds the time spent on the item left; only the animator moves it', async () => {
		const ms = await freshMs();
		const live = await liveSession(ms, [await newPatient(ms), await newPatient(ms)]);
		const [first, second] = live.items;
		expect((await session(live.id)).pointer_item_id).toBe(first);
		/** As if the pointer had been on its item for `seconds`. */
		const since = (seconds: number) => t.db.updateTable('rcp_session').set({ pointer_since: new Date(Date.now() - seconds * 1000) }).where('id', '=', live.id).execute();
		const secondsOf = async (id: string) => (await itemRow(id)).discussed_seconds;

		await since(95);
		const moved = await movePointer(t.db, live.id, user(CLAIRE), second);
		expect(moved).toMatchObject({ ok: true, discussed: [{ id: first }] });
		expect(await secondsOf(first)).toBeGreaterThanOrEqual(95);
		expect(await secondsOf(first)).toBeLessThanOrEqual(100);

		await since(40);
		await movePointer(t.db, live.id, user(CLAIRE), first);
		expect(await secondsOf(second)).toBeGreaterThanOrEqual(40);
		expect(await secondsOf(second)).toBeLessThanOrEqual(45);

		// Back and forth accumulates.
		await since(30);
		await movePointer(t.db, live.id, user(CLAIRE), second);
		expect(await secondsOf(first)).toBeGreaterThanOrEqual(125);
		expect(await secondsOf(first)).toBeLessThanOrEqual(135);

		// Staying on the same item changes nothing and keeps its start.
		await since(10);
		const before = (await session(live.id)).pointer_since!;
		const same = await movePointer(t.db, live.id, user(CLAIRE), second);
		expect(same).toEqual({ ok: true, since: before.toISOString(), discussed: [], guests: [] });
		expect(await secondsOf(second)).toBeLessThanOrEqual(45);

		// Somebody else, a stranger item, a bad id.
		expect(await movePointer(t.db, live.id, user('camille.durand'), first)).toEqual({ ok: false, error: "Seul l'animateur ou l'animatrice déplace le point en cours." });
		expect(await movePointer(t.db, live.id, user(CLAIRE), crypto.randomUUID())).toEqual({ ok: false, error: 'Point introuvable.' });
		expect(await movePointer(t.db, live.id, user(CLAIRE), 'x')).toEqual({ ok: false, error: 'Point introuvable.' });
		expect((await session(live.id)).pointer_item_id).toBe(second);
		// The organisational point can be discussed too.
		expect((await movePointer(t.db, live.id, user(CLAIRE), live.org)).ok).toBe(true);

		// A session that is not live.
		const planned = await plannedSession(ms, addDays(TODAY, 30));
		expect(await movePointer(t.db, planned, user(CLAIRE), first)).toEqual({ ok: false, error: "La RCP n'est pas en cours." });
	});

	test('moves at once queue: each credits the item the previous one left, and the pointer ends on one of them', async () => {
		const ms = await freshMs();
		const live = await liveSession(ms, [await newPatient(ms), await newPatient(ms)]);
		const [first, second] = live.items;
		await t.db.updateTable('rcp_session').set({ pointer_since: new Date(Date.now() - 600_000) }).where('id', '=', live.id).execute();
		// 12 moves alternating between the two cases, all sent together.
		const targets = Array.from({ length: 12 }, (_, i) => (i % 2 ? first : second));
		const results = await Promise.all(targets.map((id) => movePointer(t.db, live.id, user(CLAIRE), id)));
		expect(results.every((r) => r.ok)).toBe(true);
		// The ten minutes before the burst are credited once, to the first case, and nothing else
		// adds more than the burst's own duration.
		const seconds = async (id: string) => (await itemRow(id)).discussed_seconds;
		expect(await seconds(first)).toBeGreaterThanOrEqual(600);
		expect(await seconds(first)).toBeLessThanOrEqual(605);
		expect(await seconds(second)).toBeLessThanOrEqual(5);
		const s = await session(live.id);
		expect([first, second]).toContain(s.pointer_item_id);
		// Every credit reported is a running total that only grows, move after move.
		const credits = results.flatMap((r) => (r.ok ? r.discussed : []));
		expect(credits.filter((c) => c.id === first).some((c) => c.seconds >= 600)).toBe(true);
	});

	test('renouvellement renews through the lifecycle, only within 60 days of the due date, and cannot be replaced', async () => {
		const ms = await freshMs();
		const due = await newPatient(ms, { includedDaysAgo: 330, contactDaysAgo: 320 }); // renewal in ~35 days
		const early = await newPatient(ms, { includedDaysAgo: 200, contactDaysAgo: 190 }); // renewal in ~165 days
		const live = await liveSession(ms, [due, early]);
		const dueOn = (await patientRow(due)).renewal_due_on!;

		expect(await decide(ms, live.id, live.items[0], { kind: 'renouvellement' })).toEqual({ ok: true });
		const renewed = await patientRow(due);
		expect(renewed.renewal_due_on).toBe(addYears(dueOn, 1));
		expect(renewed.state).toBe('en_suivi');
		const events = await t.db.selectFrom('patient_event').select(['kind', 'occurred_on', 'details']).where('patient_id', '=', due).where('kind', '=', 'renew').execute();
		expect(events).toEqual([{ kind: 'renew', occurred_on: TODAY, details: { period_from: dueOn } }]);
		expect(await itemRow(live.items[0])).toMatchObject({
			decision: 'renouvellement',
			decided_by: user(CLAIRE),
			decision_details: { final: true, validatePps: true, carryOver: false }
		});

		// Final: neither another decision nor the same one again.
		expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite' })).toEqual({ ok: false, error: 'Cette décision a déjà modifié le parcours du patient : elle ne peut plus être remplacée.' });
		expect(await decide(ms, live.id, live.items[0], { kind: 'renouvellement' }, 'camille.durand')).toMatchObject({ ok: false });
		expect((await patientRow(due)).renewal_due_on).toBe(addYears(dueOn, 1));
		expect((await itemRow(live.items[0])).decision).toBe('renouvellement');

		// Too early: refused by the lifecycle, nothing recorded.
		const earlyDue = (await patientRow(early)).renewal_due_on!;
		expect(await decide(ms, live.id, live.items[1], { kind: 'renouvellement' })).toEqual({
			ok: false,
			error: `Le renouvellement n'est possible qu'à partir de 60 jours avant l'échéance (${earlyDue}).`
		});
		expect((await patientRow(early)).renewal_due_on).toBe(earlyDue);
		expect((await itemRow(live.items[1])).decision).toBeNull();
	});

	test('fin de suivi sets the patient "sorti" with its reason; a non-final decision may be replaced', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		const live = await liveSession(ms, [a]);
		expect(await decide(ms, live.id, live.items[0], { kind: 'a_revoir' })).toEqual({ ok: true });
		expect(await decide(ms, live.id, live.items[0], { kind: 'fin_de_suivi' })).toEqual({ ok: false, error: 'Choisissez le motif de fin de suivi.' });
		expect(await decide(ms, live.id, live.items[0], { kind: 'fin_de_suivi', exitReason: 'demenagement', detail: 'Part à Lyon' })).toEqual({ ok: true });
		expect(await patientRow(a)).toMatchObject({ state: 'sorti', exit_reason: 'demenagement', exited_on: TODAY, renewal_due_on: null });
		expect(await itemRow(live.items[0])).toMatchObject({
			decision: 'fin_de_suivi',
			decision_details: { detail: 'Part à Lyon', exitReason: 'demenagement', final: true, validatePps: false, carryOver: false }
		});
		const exit = await t.db.selectFrom('patient_event').select('details').where('patient_id', '=', a).where('kind', '=', 'exit').execute();
		expect(exit).toEqual([{ details: { reason: 'demenagement', detail: 'Part à Lyon' } }]);
		expect(await decide(ms, live.id, live.items[0], { kind: 'a_revoir' })).toMatchObject({ ok: false });
		const audits = await t.db.selectFrom('audit_event').select('details').where('action', '=', 'rcp.decision').where('target_id', '=', a).orderBy('id').execute();
		expect(audits.map((r) => (r.details as { decision: string }).decision)).toEqual(['a_revoir', 'fin_de_suivi']);
	});

	test('a fin de suivi makes the open PPS editors readers at once: a write after it is dropped', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		const live = await liveSession(ms, [a]);
		const doc = new Y.Doc();
		const provider = yjsProvider(wsBase, ppsDocName(a), doc, { Cookie: await sessionCookie(t.db, user(CLAIRE)) }, 300);
		try {
			await waitUntil(() => provider.synced, 'PPS synced');
			addGoal(doc, 'Avant la décision.');
			await barrier({ doc, provider });
			expect(await decide(ms, live.id, live.items[0], { kind: 'fin_de_suivi', exitReason: 'amelioration' })).toEqual({ ok: true });
			addGoal(doc, 'APRES-LA-SORTIE');
			await barrier({ doc, provider });
			await realtime.yjs.flushAll();
			const stored = project(await loadDoc(t.db, ppsDocName(a)));
			expect(stored.goals).toBe('Avant la décision.');
			expect(provider.wsconnected).toBe(true);
		} finally {
			provider.destroy();
			doc.destroy();
		}
	});

	test('a fin de suivi whose decision cannot be written leaves the patient in care: pathway and decision are one change', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		const live = await liveSession(ms, [a]);
		const before = await patientRow(a);
		const exit = { kind: 'fin_de_suivi' as const, exitReason: 'amelioration' as const, actions: [{ what: 'Courrier au médecin traitant', ownerId: user('camille.durand') }] };
		// A real failure after the pathway step: PostgreSQL refuses the decision's action.
		await sql`create function test_refuse_action() returns trigger language plpgsql as $$
			begin raise exception 'refused by the test'; end $$`.execute(t.db);
		await sql`create trigger test_refuse_action before insert on rcp_action for each row execute function test_refuse_action()`.execute(t.db);
		try {
			await expect(decide(ms, live.id, live.items[0], exit)).rejects.toThrow(/refused by the test/);
		} finally {
			await sql`drop trigger test_refuse_action on rcp_action`.execute(t.db);
			await sql`drop function test_refuse_action()`.execute(t.db);
		}
		expect(await patientRow(a)).toMatchObject({ state: before.state, exited_on: null, exit_reason: null, version: before.version });
		expect(await t.db.selectFrom('patient_event').select('id').where('patient_id', '=', a).where('kind', '=', 'exit').execute()).toEqual([]);
		expect((await itemRow(live.items[0])).decision).toBeNull();
		// Once the database accepts it, the same decision goes through, pathway included.
		expect(await decide(ms, live.id, live.items[0], exit)).toEqual({ ok: true });
		expect(await patientRow(a)).toMatchObject({ state: 'sorti', exit_reason: 'amelioration' });
	});

	test('actions land in rcp_action, with owners from the team or the network coordination only', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		const live = await liveSession(ms, [a]);
		const action = (login: string, what = 'Appeler le CSAPA') => ({ what, ownerId: user(login), dueOn: addDays(TODAY, 7) });
		const refused = { ok: false, error: "Le responsable d'une action doit faire partie de l'équipe." };
		// A GP of another microstructure, the secretariat, a former member, a coordinator of the other network.
		for (const login of ['francois.hoffmann', 'nadia.benali', 'thomas.roth', 'anne.legoff']) {
			expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite', actions: [action('camille.durand'), action(login)] }), login).toEqual(refused);
		}
		expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite', actions: [action('camille.durand'), { what: 'x', ownerId: crypto.randomUUID() }] })).toEqual(refused);
		expect((await itemRow(live.items[0])).decision).toBeNull();

		expect(await decide(ms, live.id, live.items[0], { kind: 'adaptation_pps', actions: [action('camille.durand', 'Bilan psychologique'), { what: 'Avis addictologique', ownerId: user('marc.weber') }] })).toEqual({ ok: true });
		const rows = () => t.db.selectFrom('rcp_action').select(['item_id', 'patient_id', 'what', 'owner_id', 'due_on', 'created_by', 'done_at']).where('item_id', '=', live.items[0]).orderBy('what').execute();
		expect(await rows()).toEqual([
			{ item_id: live.items[0], patient_id: a, what: 'Avis addictologique', owner_id: user('marc.weber'), due_on: null, created_by: user(CLAIRE), done_at: null },
			{ item_id: live.items[0], patient_id: a, what: 'Bilan psychologique', owner_id: user('camille.durand'), due_on: addDays(TODAY, 7), created_by: user(CLAIRE), done_at: null }
		]);
		// Replacing the decision replaces its actions.
		expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite', actions: [action('karim.mansouri', 'Dossier MDPH')] }, 'camille.durand')).toEqual({ ok: true });
		expect((await rows()).map((r) => [r.what, r.owner_id, r.created_by])).toEqual([['Dossier MDPH', user('karim.mansouri'), user('camille.durand')]]);
		// An action due yesterday is refused.
		expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite', actions: [{ ...action('karim.mansouri'), dueOn: addDays(TODAY, -1) }] })).toEqual({ ok: false, error: "L'échéance d'une action ne peut pas être passée." });
	});

	test('decisions only on a case of a live session', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms);
		const planned = await plannedSession(ms, addDays(TODAY, 20));
		const plannedItem = (await addCase(t.db, await session(planned), a, MANUAL, user(CLAIRE)))!;
		expect(await decide(ms, planned, plannedItem, { kind: 'poursuite' })).toEqual({ ok: false, error: 'Les décisions se prennent pendant la RCP en cours.' });
		const live = await liveSession(ms, [await newPatient(ms)]);
		expect(await decide(ms, live.id, live.org, { kind: 'poursuite' })).toEqual({ ok: false, error: 'Point introuvable.' });
		expect(await decide(ms, live.id, plannedItem, { kind: 'poursuite' })).toEqual({ ok: false, error: 'Point introuvable.' });
		expect(await decide(ms, live.id, 'x', { kind: 'poursuite' })).toEqual({ ok: false, error: 'Point introuvable.' });
		// A decided item cannot be removed from the agenda.
		expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite' })).toEqual({ ok: true });
		expect(await removeItem(t.db, await session(live.id), live.items[0])).toBe(false);
	});
});

// ---------------------------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------------------------

describe('closeSession', () => {
	test('attendance, passages, events, PPS versions, minutes, carry-over and notifications; once', async () => {
		const ms = await freshMs();
		// A: PPS edited, never validated, "poursuite" → a version validated by this RCP.
		const pA = await newPatient(ms, { contactDaysAgo: 100 });
		await setCareTeam(t.db, ctx(CLAIRE), ms, pA, [user(CLAIRE), user('camille.durand')]);
		// B: PPS validated before the session and unchanged, "poursuite" → no version.
		const pB = await newPatient(ms, { contactDaysAgo: 100, author: 'karim.mansouri' });
		// C: "à revoir"; D: not reached; E: "fin de suivi"; F: "adaptation du PPS" on an unchanged PPS.
		const pC = await newPatient(ms, { contactDaysAgo: 100, author: 'karim.mansouri' });
		const pD = await newPatient(ms, { contactDaysAgo: 100, author: 'karim.mansouri' });
		const pE = await newPatient(ms, { contactDaysAgo: 100, author: 'karim.mansouri' });
		const pF = await newPatient(ms, { contactDaysAgo: 100, author: 'karim.mansouri' });

		await withLiveDoc(ppsDocName(pA), (doc) => addGoal(doc, 'Reprendre le sport.'));
		for (const p of [pB, pF]) {
			const snapshot = await withLiveDoc(ppsDocName(p), (doc) => {
				addGoal(doc, 'Dormir mieux.');
				return Y.encodeStateAsUpdate(doc);
			});
			const doc = new Y.Doc();
			Y.applyUpdate(doc, snapshot);
			expect(await validateVersion(t.db, ctx(CLAIRE), ms, p, doc)).toBe(1);
		}

		const live = await liveSession(ms, [pA, pB, pC, pD, pE, pF]);
		const [iA, iB, iC, iD, iE, iF] = live.items;
		// The next session's agenda is prepared before this one closes: it already holds everyone
		// (never discussed). D is taken off it by hand.
		const nextId = await plannedSession(ms, addDays(TODAY, 28));
		expect(await buildAgenda(t.db, await session(nextId), user(CLAIRE))).toBe(true);
		const next = await session(nextId);
		expect((await agenda(nextId)).filter((i) => i.kind === 'cas').map((i) => i.patient_id).sort()).toEqual([pA, pB, pC, pD, pE, pF].sort());
		expect(await removeItem(t.db, next, (await agenda(nextId)).find((i) => i.patient_id === pD)!.id)).toBe(true);

		// Attendance: Claire joined, Camille declined, Karim was marked remote by hand, Yasmine said maybe.
		await markPresent(t.db, live.id, user(CLAIRE), 'present');
		await setRsvp(t.db, live.id, user('camille.durand'), 'non');
		await setRsvp(t.db, live.id, user('karim.mansouri'), 'oui');
		expect(await setAttendance(t.db, live.id, user('karim.mansouri'), 'distance', user(CLAIRE))).toBe(true);
		await markPresent(t.db, live.id, user('karim.mansouri'), 'present'); // the manual correction wins
		await setRsvp(t.db, live.id, user('yasmine.belkacem'), 'peut_etre');

		expect(await decide(ms, live.id, iA, { kind: 'poursuite' })).toEqual({ ok: true });
		expect(await decide(ms, live.id, iB, { kind: 'poursuite' })).toEqual({ ok: true });
		expect(await decide(ms, live.id, iC, { kind: 'a_revoir' })).toEqual({ ok: true });
		expect(await decide(ms, live.id, iE, { kind: 'fin_de_suivi', exitReason: 'amelioration' })).toEqual({ ok: true });
		expect(await decide(ms, live.id, iF, { kind: 'adaptation_pps' })).toEqual({ ok: true });
		await withLiveDoc(notesDocName(iA), (doc) => doc.getText('notes').insert(0, 'Bonne évolution, reprise du travail.'));
		// The pointer has been on A for a minute when the session closes.
		await t.db.updateTable('rcp_session').set({ pointer_item_id: iA, pointer_since: new Date(Date.now() - 60_000) }).where('id', '=', live.id).execute();

		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(true);

		const closed = await session(live.id);
		expect(closed).toMatchObject({ status: 'cloturee', closed_by: user(CLAIRE), pointer_item_id: null, pointer_since: null });
		expect(closed.closed_at).toBeInstanceOf(Date);
		expect((await itemRow(iA)).discussed_seconds).toBeGreaterThanOrEqual(60);

		// Attendance defaults: declined → excused, otherwise absent; presence and corrections kept.
		const attendance = await t.db.selectFrom('rcp_participant').select(['user_id', 'attendance']).where('session_id', '=', live.id).execute();
		expect(Object.fromEntries(attendance.map((a) => [a.user_id, a.attendance]))).toEqual({
			[user(CLAIRE)]: 'present',
			[user('camille.durand')]: 'excuse',
			[user('karim.mansouri')]: 'distance',
			[user('yasmine.belkacem')]: 'absent'
		});

		// One passage per decided case, on the session's day.
		const passages = await t.db.selectFrom('rcp_passage').select(['patient_id', 'on_date', 'decision']).where('session_id', '=', live.id).execute();
		const byPatient = (rows: { patient_id: string }[]) => Object.fromEntries(rows.map((r) => [r.patient_id, r]));
		expect(byPatient(passages)).toEqual({
			[pA]: { patient_id: pA, on_date: TODAY, decision: 'poursuite' },
			[pB]: { patient_id: pB, on_date: TODAY, decision: 'poursuite' },
			[pC]: { patient_id: pC, on_date: TODAY, decision: 'a_revoir' },
			[pE]: { patient_id: pE, on_date: TODAY, decision: 'fin_de_suivi' },
			[pF]: { patient_id: pF, on_date: TODAY, decision: 'adaptation_pps' }
		});

		// PPS: a version for the changed plan (A) and for the adaptation (F), none for B.
		const versions = await t.db.selectFrom('pps_version').select(['patient_id', 'number', 'rcp_id']).where('patient_id', 'in', [pA, pB, pF]).orderBy('patient_id').orderBy('number').execute();
		expect(versions.filter((v) => v.patient_id === pA)).toEqual([{ patient_id: pA, number: 1, rcp_id: live.id }]);
		expect(versions.filter((v) => v.patient_id === pB)).toEqual([{ patient_id: pB, number: 1, rcp_id: null }]);
		expect(versions.filter((v) => v.patient_id === pF)).toEqual([
			{ patient_id: pF, number: 1, rcp_id: null },
			{ patient_id: pF, number: 2, rcp_id: live.id }
		]);
		expect((await itemRow(iA)).pps_version).toBe(1);
		expect((await itemRow(iB)).pps_version).toBeNull();
		expect((await itemRow(iF)).pps_version).toBe(2);

		// Timeline events.
		const events = await t.db.selectFrom('patient_event').select(['patient_id', 'occurred_on', 'details', 'recorded_by']).where('kind', '=', 'rcp').where('patient_id', 'in', [pA, pB, pC, pD, pE, pF]).execute();
		expect(byPatient(events)).toEqual({
			[pA]: { patient_id: pA, occurred_on: TODAY, recorded_by: user(CLAIRE), details: { sessionId: live.id, decision: 'poursuite', ppsVersion: 1 } },
			[pB]: { patient_id: pB, occurred_on: TODAY, recorded_by: user(CLAIRE), details: { sessionId: live.id, decision: 'poursuite' } },
			[pC]: { patient_id: pC, occurred_on: TODAY, recorded_by: user(CLAIRE), details: { sessionId: live.id, decision: 'a_revoir' } },
			[pE]: { patient_id: pE, occurred_on: TODAY, recorded_by: user(CLAIRE), details: { sessionId: live.id, decision: 'fin_de_suivi' } },
			[pF]: { patient_id: pF, occurred_on: TODAY, recorded_by: user(CLAIRE), details: { sessionId: live.id, decision: 'adaptation_pps', ppsVersion: 2 } }
		});

		// The case notes are kept in the minutes.
		expect((await itemRow(iA)).minutes_notes).toBe('Bonne évolution, reprise du travail.');
		expect((await itemRow(iB)).minutes_notes).toBeNull();

		// Carry-over onto the next session, whose agenda exists: D is added back as not reached; C
		// was already on it. Both are marked as carried, so no later agenda proposes them again.
		const nextItems = await agenda(nextId);
		const nextD = nextItems.find((i) => i.patient_id === pD)!;
		const nextC = nextItems.find((i) => i.patient_id === pC)!;
		expect(nextD.reasons).toEqual([{ code: 'carried_over', date: TODAY }]);
		expect((await itemRow(iD)).carried_to).toBe(nextD.id);
		expect((await itemRow(iC)).carried_to).toBe(nextC.id);
		expect(nextC.reasons).toEqual([
			{ code: 'a_revoir', date: TODAY },
			{ code: 'never_discussed', date: addDays(TODAY, -200) }
		]);
		for (const id of [iA, iB, iE, iF]) expect((await itemRow(id)).carried_to).toBeNull();
		const later = await plannedSession(ms, addDays(TODAY, 56));
		const laterReasons = (await proposals(t.db, await session(later))).flatMap((x) => x.reasons.map((r) => r.code));
		expect(laterReasons).not.toContain('carried_over');
		expect(laterReasons).not.toContain('a_revoir');

		// Care teams are told, by patient code only.
		// (Referrals made while the test built its patients are "orientation" notifications: not the closing's.)
		const notifications = await t.db.selectFrom('notification').select(['user_id', 'kind', 'title', 'link']).where('link', 'like', `/ms/${ms.id}/%`).where('kind', '!=', 'orientation').execute();
		expect(new Set(notifications.map((n) => n.user_id))).toEqual(new Set([user(CLAIRE), user('camille.durand'), user('karim.mansouri')]));
		const countFor = (login: string) => notifications.filter((n) => n.user_id === user(login)).length;
		// Camille, the psychologist every patient here is oriented to, is in each decided case's team (A, B, C, E, F).
		expect([countFor(CLAIRE), countFor('camille.durand'), countFor('karim.mansouri')]).toEqual([1, 5, 4]);
		const codeA = (await patientRow(pA)).code;
		const day = TODAY.split('-').reverse().join('/');
		expect(notifications.find((n) => n.user_id === user('camille.durand'))).toEqual({
			user_id: user('camille.durand'),
			kind: 'rcp_decision',
			title: `RCP du ${day} : décision pour ${codeA}`,
			link: `/ms/${ms.id}/patients/${pA}#rcp`
		});

		// Once only; the closed session accepts no more decisions or pointer moves.
		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(false);
		expect(await t.db.selectFrom('audit_event').select('id').where('action', '=', 'rcp.closed').where('target_id', '=', live.id).execute()).toHaveLength(1);
		expect(await t.db.selectFrom('rcp_passage').select('patient_id').where('session_id', '=', live.id).execute()).toHaveLength(5);
		expect(await decide(ms, live.id, iD, { kind: 'poursuite' })).toEqual({ ok: false, error: 'Les décisions se prennent pendant la RCP en cours.' });
		expect(await movePointer(t.db, live.id, user(CLAIRE), iD)).toEqual({ ok: false, error: "La RCP n'est pas en cours." });
		expect(await setAttendance(t.db, live.id, user('yasmine.belkacem'), 'present', user(CLAIRE))).toBe(false);
		// A planned session cannot be closed either.
		expect(await closeSession(t.db, ctx(CLAIRE), ms, nextId)).toBe(false);
	});

	test('a failure while closing leaves the session live with nothing half-written; closing again then works', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		await setCareTeam(t.db, ctx(CLAIRE), ms, a, [user(CLAIRE), user('camille.durand')]);
		const b = await newPatient(ms, { contactDaysAgo: 100, author: 'karim.mansouri' });
		await withLiveDoc(ppsDocName(a), (doc) => addGoal(doc, 'Reprendre le sport.'));
		const live = await liveSession(ms, [a, b]);
		expect(await decide(ms, live.id, live.items[0], { kind: 'poursuite' })).toEqual({ ok: true });
		expect(await decide(ms, live.id, live.items[1], { kind: 'poursuite' })).toEqual({ ok: true });
		await withLiveDoc(notesDocName(live.items[0]), (doc) => doc.getText('notes').insert(0, 'Bonne évolution.'));
		const notifiedBefore = (await t.db.selectFrom('notification').select('id').where('link', 'like', `/ms/${ms.id}/%`).execute()).length;

		// A real failure half-way: PostgreSQL refuses the second patient's passage.
		await sql`create function test_refuse_passage() returns trigger language plpgsql as $$
			begin
				if new.patient_id = ${sql.lit(b)}::uuid then raise exception 'refused by the test'; end if;
				return new;
			end $$`.execute(t.db);
		await sql`create trigger test_refuse_passage before insert on rcp_passage for each row execute function test_refuse_passage()`.execute(t.db);
		try {
			await expect(closeSession(t.db, ctx(CLAIRE), ms, live.id)).rejects.toThrow(/refused by the test/);
		} finally {
			await sql`drop trigger test_refuse_passage on rcp_passage`.execute(t.db);
			await sql`drop function test_refuse_passage()`.execute(t.db);
		}
		// Nothing of the first patient's part was kept either.
		expect((await session(live.id)).status).toBe('en_cours');
		expect(await t.db.selectFrom('rcp_passage').select('patient_id').where('session_id', '=', live.id).execute()).toEqual([]);
		expect(await t.db.selectFrom('pps_version').select('id').where('rcp_id', '=', live.id).execute()).toEqual([]);
		expect(await t.db.selectFrom('rcp_participant').select('user_id').where('session_id', '=', live.id).where('attendance', 'is not', null).execute()).toEqual([]);
		expect((await itemRow(live.items[0])).minutes_notes).toBeNull();
		expect(await t.db.selectFrom('patient_event').select('id').where('patient_id', '=', a).where('kind', '=', 'rcp').execute()).toEqual([]);
		expect((await t.db.selectFrom('notification').select('id').where('link', 'like', `/ms/${ms.id}/%`).execute()).length).toBe(notifiedBefore);
		expect(await t.db.selectFrom('audit_event').select('id').where('action', '=', 'rcp.closed').where('target_id', '=', live.id).execute()).toEqual([]);

		// The database accepts it again: the same session closes, completely.
		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(true);
		expect((await session(live.id)).status).toBe('cloturee');
		expect((await t.db.selectFrom('rcp_passage').select('patient_id').where('session_id', '=', live.id).execute()).map((r) => r.patient_id).sort()).toEqual([a, b].sort());
		expect(await t.db.selectFrom('pps_version').select('patient_id').where('rcp_id', '=', live.id).execute()).toEqual([{ patient_id: a }]);
		expect((await itemRow(live.items[0])).minutes_notes).toBe('Bonne évolution.');
	});

	test('without a next agenda, unreached cases wait and the next agenda proposes them', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		const b = await newPatient(ms, { contactDaysAgo: 100 });
		const live = await liveSession(ms, [a, b]);
		expect(await decide(ms, live.id, live.items[1], { kind: 'a_revoir' })).toEqual({ ok: true });
		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(true);
		for (const id of live.items) expect((await itemRow(id)).carried_to).toBeNull();

		const nextId = await plannedSession(ms, addDays(TODAY, 28));
		expect(await proposals(t.db, await session(nextId))).toEqual([
			{ patientId: b, reasons: [{ code: 'a_revoir', date: TODAY }] },
			// Never discussed: no passage, as no decision was taken.
			{ patientId: a, reasons: [{ code: 'carried_over', date: TODAY }, { code: 'never_discussed', date: addDays(TODAY, -200) }] }
		]);
		expect(await buildAgenda(t.db, await session(nextId), user(CLAIRE))).toBe(true);
		const cases = (await agenda(nextId)).filter((i) => i.kind === 'cas');
		expect((await itemRow(live.items[0])).carried_to).toBe(cases.find((i) => i.patient_id === a)!.id);
		expect((await itemRow(live.items[1])).carried_to).toBe(cases.find((i) => i.patient_id === b)!.id);
	});

	test('cancelling a session gives the questions and carried cases its agenda held back to the next one', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { contactDaysAgo: 100 });
		const b = await newPatient(ms, { contactDaysAgo: 100 });
		for (const p of [a, b]) await pastPassage(ms, p, 20);
		const live = await liveSession(ms, [a]);
		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(true); // a not reached
		await flagPatient(t.db, ctx('camille.durand'), ms, b, 'Hébergement trouvé ?');
		const expected = [
			{ patientId: a, reasons: [{ code: 'carried_over', date: TODAY }] },
			{ patientId: b, reasons: [{ code: 'flagged', date: TODAY, question: 'Hébergement trouvé ?' }] }
		];

		const cancelled = await plannedSession(ms, addDays(TODAY, 14));
		expect(await proposals(t.db, await session(cancelled))).toEqual(expected);
		expect(await buildAgenda(t.db, await session(cancelled), user(CLAIRE))).toBe(true);
		const held = await agenda(cancelled);
		expect((await itemRow(live.items[0])).carried_to).toBe(held.find((i) => i.patient_id === a)!.id);
		expect(await t.db.selectFrom('rcp_flag').select('handled_item_id').where('patient_id', '=', b).execute()).toEqual([{ handled_item_id: held.find((i) => i.patient_id === b)!.id }]);

		expect(await cancelSession(t.db, ctx(CLAIRE), ms, cancelled)).toBe(true);
		expect(await cancelSession(t.db, ctx(CLAIRE), ms, cancelled)).toBe(false);
		expect((await session(cancelled)).status).toBe('annulee');
		const next = await plannedSession(ms, addDays(TODAY, 28));
		expect(await proposals(t.db, await session(next))).toEqual(expected);
		expect(await buildAgenda(t.db, await session(next), user(CLAIRE))).toBe(true);
		expect((await agenda(next)).filter((i) => i.kind === 'cas').map((i) => i.patient_id)).toEqual([a, b]);
		// A live or closed session cannot be cancelled.
		expect(await cancelSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(false);
	});

	test('a question about a patient already on an upcoming agenda goes onto that line, not to a later session', async () => {
		const ms = await freshMs();
		const a = await newPatient(ms, { includedDaysAgo: 10 });
		const upcoming = await plannedSession(ms, addDays(TODAY, 7));
		expect(await buildAgenda(t.db, await session(upcoming), user(CLAIRE))).toBe(true);
		const line = (await agenda(upcoming)).find((i) => i.patient_id === a)!;
		await flagPatient(t.db, ctx('camille.durand'), ms, a, 'Reprise du travail ?');
		expect((await itemRow(line.id)).reasons).toContainEqual({ code: 'flagged', date: TODAY, question: 'Reprise du travail ?' });
		expect(await t.db.selectFrom('rcp_flag').select('handled_item_id').where('patient_id', '=', a).execute()).toEqual([{ handled_item_id: line.id }]);
		// A later session does not propose the question again.
		const later = await plannedSession(ms, addDays(TODAY, 35));
		expect((await proposals(t.db, await session(later))).find((p) => p.patientId === a)?.reasons.some((r) => r.code === 'flagged')).not.toBe(true);
	});
});

// ---------------------------------------------------------------------------------------------
// Over real sockets
// ---------------------------------------------------------------------------------------------

type Reply = { ok: boolean; error?: string; state?: LiveState; online?: Presence[]; since?: string };
interface Presence {
	userId: string;
	name: string;
	profession: string;
	mode: 'participant' | 'observateur';
	place: 'present' | 'distance';
}

async function connect(login: string, base = httpBase): Promise<ClientSocket> {
	const socket = ioClient(base, { transports: ['websocket'], extraHeaders: { Cookie: await sessionCookie(t.db, user(login)) }, reconnection: false, forceNew: true, timeout: 5000 });
	sockets.push(socket);
	await withTimeout(
		new Promise<void>((resolve, reject) => {
			socket.once('connect', () => resolve());
			socket.once('connect_error', reject);
		}),
		`${login} connected`
	);
	return socket;
}

async function call(socket: ClientSocket, event: string, ...args: unknown[]): Promise<Reply> {
	return (await socket.timeout(5000).emitWithAck(event, ...args)) as Reply;
}

/** The next event matching `predicate`; listen before causing it. */
function nextEvent<T>(socket: ClientSocket, event: string, predicate: (payload: T) => boolean = () => true): Promise<T> {
	return withTimeout(
		new Promise<T>((resolve) => {
			const listener = (payload: T) => {
				if (!predicate(payload)) return;
				socket.off(event, listener);
				resolve(payload);
			};
			socket.on(event, listener);
		}),
		`socket.io event ${event}`
	);
}

const upgradeStatus = async (docName: string, login: string) => upgradeStatusAt(wsBase, rawSockets, docName, { Cookie: await sessionCookie(t.db, user(login)) });

describe('over socket.io and Yjs', () => {
	let ms: MicrostructureRef;
	let live: Awaited<ReturnType<typeof liveSession>>;
	let claire: ClientSocket;
	let camille: ClientSocket;
	const join = (sessionId: string, mode = 'participant', place = 'present') => ({ sessionId, mode, place });

	beforeAll(async () => {
		ms = await freshMs();
		live = await liveSession(ms, [await newPatient(ms, { contactDaysAgo: 100 }), await newPatient(ms, { includedDaysAgo: 330, contactDaysAgo: 300 })]);
		claire = await connect(CLAIRE);
		camille = await connect('camille.durand');
	});

	test('rcp:join is refused, the same way, to a member of another microstructure, the secretariat and for an unknown session', async () => {
		const notFound = { ok: false, error: 'RCP introuvable.' };
		for (const login of ['francois.hoffmann', 'luc.martin', 'nadia.benali']) {
			const s = await connect(login);
			expect(await call(s, 'rcp:join', join(live.id)), login).toEqual(notFound);
			// Not in the room: no pointer for them, and no way to act.
			expect(await call(s, 'rcp:pointer', { sessionId: live.id, itemId: live.items[0] })).toEqual(notFound);
			s.disconnect();
		}
		expect(await call(claire, 'rcp:join', join(crypto.randomUUID()))).toEqual(notFound);
	});

	test('the team joins: the live state, who is online, and the sheet lists them without counting them present yet', async () => {
		const first = await call(claire, 'rcp:join', join(live.id));
		expect(first.ok).toBe(true);
		expect(first.state!.status).toBe('en_cours');
		expect(first.state!.animatorId).toBe(user(CLAIRE));
		expect(first.state!.items.map((i) => i.id)).toEqual([...live.items, live.org]);
		expect(first.state!.pointer.itemId).toBe(live.items[0]);
		expect(first.online!.map((p) => p.userId)).toEqual([user(CLAIRE)]);

		const seen = nextEvent<{ sessionId: string; online: Presence[] }>(claire, 'rcp:presence', (e) => e.online.length === 2);
		const second = await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'));
		expect(second.ok).toBe(true);
		expect((await seen).online.map((p) => [p.name, p.mode, p.place])).toEqual([
			['Camille Durand', 'participant', 'distance'],
			['Claire Muller', 'participant', 'present']
		]);
		// Joining is not attending: their time starts to count, from where they take part.
		const rows = await t.db.selectFrom('rcp_participant').select(['user_id', 'attendance', 'seen_place', 'present_seconds']).where('session_id', '=', live.id).where('seen_at', 'is not', null).execute();
		expect(Object.fromEntries(rows.map((a) => [a.user_id, [a.attendance, a.seen_place, a.present_seconds < 5]]))).toEqual({
			[user(CLAIRE)]: [null, 'present', true],
			[user('camille.durand')]: [null, 'distance', true]
		});
		// Reading the agenda is reading its patients: audited.
		const patients = await Promise.all(live.items.map(async (i) => (await itemRow(i)).patient_id!));
		const reads = await t.db.selectFrom('audit_event').select(['target_id', 'details']).where('action', '=', 'patient.read').where('actor_id', '=', user('camille.durand')).where('target_id', 'in', patients).execute();
		expect(reads.map((r) => r.target_id).sort()).toEqual([...patients].sort());
		for (const r of reads) expect(r.details).toEqual({ purpose: 'rcp' });
	});

	test("a page's join and the decision it sends right after apply in order: the decider counts as present", async () => {
		// Four sessions, each opened by a fresh page that decides before its join is answered.
		for (let round = 0; round < 4; round++) {
			const other = await liveSession(ms, [await newPatient(ms)]);
			const page = await connect('camille.durand');
			const [joined, decided] = await Promise.all([
				call(page, 'rcp:join', join(other.id)),
				call(page, 'rcp:decide', { sessionId: other.id, itemId: other.items[0], decision: { kind: 'poursuite', actions: [] } })
			]);
			page.disconnect();
			expect(joined.ok, `round ${round}`).toBe(true);
			expect(decided, `round ${round}`).toEqual({ ok: true });
			const row = await t.db.selectFrom('rcp_participant').select(['at_decision', 'attendance']).where('session_id', '=', other.id).where('user_id', '=', user('camille.durand')).executeTakeFirstOrThrow();
			expect(row, `round ${round}`).toEqual({ at_decision: true, attendance: 'present' });
		}
	});

	test('a pointer move by the animator reaches the others; nobody else moves it', async () => {
		const received = nextEvent<{ sessionId: string; itemId: string; since: string; discussed: { id: string; seconds: number }[] }>(camille, 'rcp:pointer');
		const reply = await call(claire, 'rcp:pointer', { sessionId: live.id, itemId: live.items[1] });
		expect(reply.ok).toBe(true);
		const event = await received;
		expect(event).toMatchObject({ sessionId: live.id, itemId: live.items[1], since: reply.since });
		expect(event.discussed.map((d) => d.id)).toEqual([live.items[0]]);
		expect(await call(camille, 'rcp:pointer', { sessionId: live.id, itemId: live.items[0] })).toEqual({ ok: false, error: "Seul l'animateur ou l'animatrice déplace le point en cours." });
		expect((await session(live.id)).pointer_item_id).toBe(live.items[1]);
	});

	test('rcp:decide sends the decided item to the others at once', async () => {
		const state = nextEvent<{ sessionId: string; item: LiveState['items'][number] }>(camille, 'rcp:decision', (e) => e.item.id === live.items[0] && e.item.decision === 'poursuite').then((e) => ({ state: { items: [e.item] } }));
		const decision = { kind: 'poursuite', actions: [{ what: 'Revoir dans un mois', ownerId: user('camille.durand'), dueOn: addDays(TODAY, 30) }] };
		expect(await call(claire, 'rcp:decide', { sessionId: live.id, itemId: live.items[0], decision })).toEqual({ ok: true });
		const item = (await state).state.items.find((i) => i.id === live.items[0])!;
		expect(item).toMatchObject({
			decision: 'poursuite',
			decidedBy: 'Claire Muller',
			actions: [{ what: 'Revoir dans un mois', ownerId: user('camille.durand'), owner: 'Camille Durand', dueOn: addDays(TODAY, 30) }]
		});
		// Refusals come back to the author only, in French.
		expect(await call(camille, 'rcp:decide', { sessionId: live.id, itemId: live.items[1], decision: { kind: 'reorientation' } })).toEqual({ ok: false, error: 'Précisez vers qui ou quoi le patient est réorienté.' });
	});

	test('malformed payloads get "Requête invalide." and the server keeps serving', async () => {
		const invalid = { ok: false, error: 'Requête invalide.' };
		const s = live.id;
		const bad: [string, unknown][] = [
			['rcp:join', undefined],
			['rcp:join', null],
			['rcp:join', 'hello'],
			['rcp:join', {}],
			['rcp:join', { sessionId: 'not-a-uuid', mode: 'participant', place: 'present' }],
			['rcp:join', { ...join(s), mode: 'chef' }],
			['rcp:join', { ...join(s), extra: true }],
			['rcp:leave', { sessionId: 42 }],
			['rcp:animate', [s]],
			['rcp:pointer', { sessionId: s, itemId: 'x' }],
			['rcp:pointer', { sessionId: s }],
			['rcp:attendance', { sessionId: s, userId: user('camille.durand'), attendance: 'malade' }],
			['rcp:decide', { sessionId: s, itemId: live.items[1] }],
			['rcp:decide', { sessionId: s, itemId: live.items[1], decision: { kind: 'poursuite', final: true } }],
			['rcp:decide', { sessionId: s, itemId: live.items[1], decision: { kind: 'poursuite', actions: Array.from({ length: 11 }, () => ({ what: 'x', ownerId: user(CLAIRE) })) } }],
			['rcp:decide', { sessionId: s, itemId: live.items[1], decision: { kind: 'poursuite', actions: [{ what: 'x', ownerId: 'claire' }] } }],
			// An own "__proto__" key, as a hostile client would send it.
			['rcp:decide', JSON.parse(`{"sessionId":"${s}","itemId":"${live.items[1]}","decision":{"kind":"poursuite"},"__proto__":{"admin":true}}`)],
			['rcp:decide', { sessionId: s, itemId: live.items[1], decision: { kind: 'poursuite' }, extra: 1 }]
		];
		for (const [event, payload] of bad) {
			const reply = payload === undefined ? await call(claire, event) : await call(claire, event, payload);
			expect(reply, `${event} ${JSON.stringify(payload)}`).toEqual(invalid);
		}
		// Without an acknowledgement, the error comes as an "erreur" event.
		const erreur = nextEvent<{ event: string; error: string }>(claire, 'erreur');
		claire.emit('rcp:pointer', 'garbage');
		expect(await erreur).toEqual({ event: 'rcp:pointer', error: 'Requête invalide.' });
		expect(await call(claire, 'rcp:cloturer', { sessionId: s })).toEqual({ ok: false, error: 'Événement inconnu.' });

		// Still serving, on the same connection.
		expect(claire.connected).toBe(true);
		expect((await call(claire, 'rcp:join', join(s))).ok).toBe(true);
		expect((await call(claire, 'rcp:pointer', { sessionId: s, itemId: live.org })).ok).toBe(true);
	});

	test('an impossible due date is refused before the renewal is applied', async () => {
		const renewalItem = live.items[1];
		const patientId = (await itemRow(renewalItem)).patient_id!;
		const due = (await patientRow(patientId)).renewal_due_on;
		const decision = { kind: 'renouvellement', actions: [{ what: 'Envoyer la fiche', ownerId: user(CLAIRE), dueOn: '2027-02-30' }] };
		expect(await call(claire, 'rcp:decide', { sessionId: live.id, itemId: renewalItem, decision })).toEqual({ ok: false, error: 'Requête invalide.' });
		expect((await patientRow(patientId)).renewal_due_on).toBe(due);
		expect((await itemRow(renewalItem)).decision).toBeNull();
		// The same decision with a real date goes through once.
		decision.actions[0].dueOn = addDays(TODAY, 10);
		expect(await call(claire, 'rcp:decide', { sessionId: live.id, itemId: renewalItem, decision })).toEqual({ ok: true });
		expect((await patientRow(patientId)).renewal_due_on).toBe(addYears(due!, 1));
	});

	test('presence drops a user when their socket disconnects, and the quorum follows', async () => {
		const karim = await connect('karim.mansouri');
		const withKarim = nextEvent<{ online: Presence[] }>(camille, 'rcp:presence', (e) => e.online.some((p) => p.userId === user('karim.mansouri')));
		expect((await call(karim, 'rcp:join', join(live.id))).ok).toBe(true);
		const online = (await withKarim).online;
		const required = (await session(live.id)).template.quorumProfessions;
		expect(quorum(required, online.filter((p) => p.mode === 'participant')).met).toBe(true);

		// A second tab of Claire's, as observer, does not count twice nor hide her participation.
		const claireTab = await connect(CLAIRE);
		expect((await call(claireTab, 'rcp:join', join(live.id, 'observateur'))).online!.filter((p) => p.userId === user(CLAIRE))).toMatchObject([{ mode: 'participant' }]);

		const dropped = nextEvent<{ sessionId: string; online: Presence[] }>(camille, 'rcp:presence', (e) => !e.online.some((p) => p.userId === user('karim.mansouri')));
		karim.disconnect();
		const after = await dropped;
		expect(after.sessionId).toBe(live.id);
		expect(after.online.map((p) => p.userId).sort()).toEqual([user(CLAIRE), user('camille.durand')].sort());
		const q = quorum(required, after.online);
		expect(q.met).toBe(false);
		expect(q.lines.filter((l) => !l.met).map((l) => l.profession)).toEqual(['travailleur_social']);

		// Closing the second tab keeps Claire online through the first one.
		const stillClaire = nextEvent<{ online: Presence[] }>(camille, 'rcp:presence');
		claireTab.disconnect();
		expect((await stillClaire).online.map((p) => p.userId).sort()).toEqual([user(CLAIRE), user('camille.durand')].sort());
	});

	test('an invited guest sees only their case, and the pointer only when it is on it', async () => {
		await t.db.insertInto('rcp_participant').values({ session_id: live.id, user_id: user('luc.martin'), kind: 'invite', item_ids: [live.items[1]] }).execute();
		expect(await resolveRcpSession(t.db, live.id, user('luc.martin'))).toEqual({ microstructure: ms, status: 'en_cours', guestItems: [live.items[1]] });
		const luc = await connect('luc.martin');
		const joined = await call(luc, 'rcp:join', join(live.id, 'participant', 'distance'));
		expect(joined.ok).toBe(true);
		expect(joined.state!.items.map((i) => i.id)).toEqual([live.items[1]]);
		expect(joined.state!.participants.length).toBeGreaterThan(0);
		// Only the case he sees is audited as read by him.
		const reads = await t.db.selectFrom('audit_event').select(['target_id', 'details']).where('action', '=', 'patient.read').where('actor_id', '=', user('luc.martin')).execute();
		expect(reads).toEqual([{ target_id: (await itemRow(live.items[1])).patient_id, details: { purpose: 'rcp' } }]);

		const toHisCase = nextEvent<{ itemId: string | null }>(luc, 'rcp:pointer');
		expect((await call(claire, 'rcp:pointer', { sessionId: live.id, itemId: live.items[1] })).ok).toBe(true);
		expect((await toHisCase).itemId).toBe(live.items[1]);
		const elsewhere = nextEvent<{ itemId: string | null; discussed: { id: string }[] }>(luc, 'rcp:pointer');
		const teamSees = nextEvent<{ itemId: string | null }>(camille, 'rcp:pointer');
		expect((await call(claire, 'rcp:pointer', { sessionId: live.id, itemId: live.items[0] })).ok).toBe(true);
		const guestEvent = await elsewhere;
		expect(guestEvent.itemId).toBeNull();
		expect(guestEvent.discussed.map((d) => d.id)).toEqual([live.items[1]]);
		expect((await teamSees).itemId).toBe(live.items[0]);

		// A guest cannot decide, animate or take the attendance.
		expect(await call(luc, 'rcp:decide', { sessionId: live.id, itemId: live.items[1], decision: { kind: 'poursuite' } })).toEqual({ ok: false, error: 'Vous ne pouvez pas décider dans cette RCP.' });
		expect(await call(luc, 'rcp:animate', { sessionId: live.id })).toEqual({ ok: false, error: 'Vous ne pouvez pas animer cette RCP.' });
		expect(await call(luc, 'rcp:attendance', { sessionId: live.id, userId: user('luc.martin'), attendance: 'present' })).toEqual({ ok: false, error: 'Vous ne pouvez pas modifier la feuille de présence.' });

		// Case notes: the guest opens his case's document only.
		expect(await upgradeStatus(notesDocName(live.items[1]), 'luc.martin')).toBe(101);
		expect(await upgradeStatus(notesDocName(live.items[0]), 'luc.martin')).toBe(404);
	});

	test('the rcp-notes document is 404 for a member of another microstructure, open to the team', async () => {
		const doc = notesDocName(live.items[0]);
		expect(await upgradeStatus(doc, CLAIRE)).toBe(101);
		expect(await upgradeStatus(doc, 'karim.mansouri')).toBe(101);
		for (const login of ['francois.hoffmann', 'elodie.petit', 'nadia.benali', 'helene.roy']) {
			expect(await upgradeStatus(doc, login), login).toBe(404);
		}
		expect(await upgradeStatus(notesDocName(crypto.randomUUID()), CLAIRE)).toBe(404);
		expect(await upgradeStatusAt(wsBase, rawSockets, doc, {})).toBe(401);
	});
});

// ---------------------------------------------------------------------------------------------
// Honest attendance: time connected, decisions, everyone on the sheet
// ---------------------------------------------------------------------------------------------

describe('attendance from presence', () => {
	const join = (sessionId: string, mode = 'participant', place = 'present') => ({ sessionId, mode, place });
	const row = (sessionId: string, login: string) =>
		t.db.selectFrom('rcp_participant').select(['kind', 'attendance', 'attendance_set_by', 'present_seconds', 'seen_at', 'seen_place', 'at_decision']).where('session_id', '=', sessionId).where('user_id', '=', user(login)).executeTakeFirst();
	/** As if the person's last sighting had been `seconds` earlier (time passing, without waiting for it). */
	const age = (sessionId: string, login: string, seconds: number) =>
		t.db
			.updateTable('rcp_participant')
			.set({ seen_at: sql`seen_at - ${seconds} * interval '1 second'` })
			.where('session_id', '=', sessionId)
			.where('user_id', '=', user(login))
			.execute();
	const left = (sessionId: string, login: string) => waitUntil(async () => (await row(sessionId, login))?.seen_at === null, `${login} left`);

	test('time connected as a participant adds up across reconnections and a server restart, and counts from five minutes', async () => {
		const ms = await freshMs();
		const live = await liveSession(ms, [await newPatient(ms, { contactDaysAgo: 100 })]);
		let camille = await connect('camille.durand');
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		expect(await row(live.id, 'camille.durand')).toMatchObject({ attendance: null, seen_place: 'distance', present_seconds: 0 });

		// 100 seconds connected, then her phone drops: they are counted, she is not present yet.
		await age(live.id, 'camille.durand', 50);
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true); // still there (as each heartbeat says)
		await age(live.id, 'camille.durand', 50);
		camille.disconnect();
		await left(live.id, 'camille.durand');
		let r = (await row(live.id, 'camille.durand'))!;
		expect(r.present_seconds).toBeGreaterThanOrEqual(100);
		expect(r.present_seconds).toBeLessThan(105);
		expect(r.attendance).toBeNull();

		// The time she was away is not counted when she comes back.
		await t.db.updateTable('rcp_participant').set({ seen_at: null }).where('session_id', '=', live.id).where('user_id', '=', user('camille.durand')).execute();
		camille = await connect('camille.durand');
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		expect((await row(live.id, 'camille.durand'))!.present_seconds).toBeLessThan(105);
		// Nor the time between a crashed server's last sighting and a sighting long after.
		await age(live.id, 'camille.durand', 600);
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		expect((await row(live.id, 'camille.durand'))!.present_seconds).toBeLessThan(105);
		camille.disconnect();
		await left(live.id, 'camille.durand');

		// The server restarts: what was counted is in the database, and the count goes on from it.
		await stopRealtimeServer(realtime, server);
		let port: number;
		({ server, realtime, port } = await startRealtimeServer());
		httpBase = `http://127.0.0.1:${port}`;
		wsBase = `ws://127.0.0.1:${port}`;
		camille = await connect('camille.durand');
		const sheet = nextEvent<{ state: LiveState }>(camille, 'rcp:state', (e) => e.state.participants.some((p) => p.userId === user('camille.durand') && p.attendance === 'distance'));
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		// 3 min 20 s more, in two stretches: five minutes in all, so she counts, remote, and the sheet shows it.
		await age(live.id, 'camille.durand', 55);
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		r = (await row(live.id, 'camille.durand'))!;
		expect(r.attendance).toBeNull();
		await t.db.updateTable('rcp_participant').set({ present_seconds: 290 }).where('session_id', '=', live.id).where('user_id', '=', user('camille.durand')).execute();
		await age(live.id, 'camille.durand', 15);
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		r = (await row(live.id, 'camille.durand'))!;
		expect(r.present_seconds).toBeGreaterThanOrEqual(300);
		expect(r.attendance).toBe('distance');
		expect((await sheet).state.participants.find((p) => p.userId === user('camille.durand'))).toMatchObject({ attendance: 'distance', manual: false, atDecision: false });

		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(true);
		expect(await row(live.id, 'camille.durand')).toMatchObject({ attendance: 'distance', seen_at: null });
		camille.disconnect();
	});

	test('an open participant connection is seen every heartbeat: its time adds up with no message from the browser', async () => {
		const ms = await freshMs();
		const live = await liveSession(ms, [await newPatient(ms, { contactDaysAgo: 100 })]);
		// Only the server's heartbeat interval is simulated; sockets, the database and its clock are real.
		vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
		try {
			const karim = await connect('karim.mansouri');
			expect((await call(karim, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
			for (let beat = 1; beat <= 3; beat++) {
				await age(live.id, 'karim.mansouri', PRESENCE_HEARTBEAT_SECONDS);
				vi.advanceTimersByTime(PRESENCE_HEARTBEAT_SECONDS * 1000);
				await waitUntil(async () => (await row(live.id, 'karim.mansouri'))!.present_seconds >= beat * PRESENCE_HEARTBEAT_SECONDS, `heartbeat ${beat}`);
			}
			const r = (await row(live.id, 'karim.mansouri'))!;
			expect(r.present_seconds).toBeLessThan(3 * PRESENCE_HEARTBEAT_SECONDS + 5);
			expect(r.attendance).toBeNull();
			karim.disconnect();
			await left(live.id, 'karim.mansouri');
		} finally {
			vi.useRealTimers();
		}
	});

	test('two connections of one person, served by two processes, count the time once', async () => {
		const ms = await freshMs();
		const live = await liveSession(ms, [await newPatient(ms, { contactDaysAgo: 100 })]);
		const other = await startRealtimeServer();
		try {
			const phone = await connect('karim.mansouri');
			const laptop = await connect('karim.mansouri', `http://127.0.0.1:${other.port}`);
			expect((await call(phone, 'rcp:join', join(live.id))).ok).toBe(true);
			expect((await call(laptop, 'rcp:join', join(live.id))).ok).toBe(true);
			await age(live.id, 'karim.mansouri', 40);
			// Both processes see him within the same 40 seconds: 40 seconds, not 80.
			await Promise.all([call(phone, 'rcp:join', join(live.id)), call(laptop, 'rcp:join', join(live.id))]);
			const r = (await row(live.id, 'karim.mansouri'))!;
			expect(r.present_seconds).toBeGreaterThanOrEqual(40);
			expect(r.present_seconds).toBeLessThan(45);
			phone.disconnect();
			laptop.disconnect();
		} finally {
			await stopRealtimeServer(other.realtime, other.server);
		}
	});

	test('a decision makes those taking part present; observers, late-comers and those who left do not count; everyone who came is on the sheet; the minutes say what the sheet says', async () => {
		const ms = await freshMs();
		const live = await liveSession(ms, [await newPatient(ms, { contactDaysAgo: 100 }), await newPatient(ms, { contactDaysAgo: 100 })]);
		const claire = await connect(CLAIRE);
		const camille = await connect('camille.durand');
		const yasmine = await connect('yasmine.belkacem');
		const lucie = await connect('lucie.gauthier');
		expect((await call(claire, 'rcp:join', join(live.id))).ok).toBe(true);
		expect((await call(camille, 'rcp:join', join(live.id, 'participant', 'distance'))).ok).toBe(true);
		// The microstructure's coordinator observes; the network's coordinator (never invited) takes part for a few seconds.
		expect((await call(yasmine, 'rcp:join', join(live.id, 'observateur'))).ok).toBe(true);
		expect((await call(lucie, 'rcp:join', join(live.id))).ok).toBe(true);
		expect(await row(live.id, 'lucie.gauthier')).toMatchObject({ kind: 'membre', attendance: null });
		expect(await row(live.id, 'yasmine.belkacem')).toMatchObject({ attendance: null, seen_at: null, seen_place: null });
		expect((await call(lucie, 'rcp:leave', { sessionId: live.id })).ok).toBe(true);

		const sheet = nextEvent<{ state: LiveState }>(camille, 'rcp:state', (e) => e.state.participants.some((p) => p.userId === user('camille.durand') && p.attendance === 'distance'));
		expect(await call(claire, 'rcp:decide', { sessionId: live.id, itemId: live.items[0], decision: { kind: 'poursuite' } })).toEqual({ ok: true });
		const state = (await sheet).state;
		const line = (login: string) => state.participants.find((p) => p.userId === user(login));
		expect(line(CLAIRE)).toMatchObject({ attendance: 'present', atDecision: true });
		expect(line('camille.durand')).toMatchObject({ attendance: 'distance', atDecision: true });
		expect(line('yasmine.belkacem')).toMatchObject({ attendance: null, atDecision: false });
		expect(line('lucie.gauthier')).toMatchObject({ attendance: null, atDecision: false });

		// Karim comes after the decision, for a minute: not present. Yasmine is corrected on the sheet: she was in the room.
		const karim = await connect('karim.mansouri');
		expect((await call(karim, 'rcp:join', join(live.id))).ok).toBe(true);
		await age(live.id, 'karim.mansouri', 45);
		expect(await call(claire, 'rcp:attendance', { sessionId: live.id, userId: user('yasmine.belkacem'), attendance: 'present' })).toEqual({ ok: true });
		// Camille turns observer: she stays present (she was there for the decision).
		expect((await call(camille, 'rcp:join', join(live.id, 'observateur'))).ok).toBe(true);
		expect(await row(live.id, 'camille.durand')).toMatchObject({ attendance: 'distance', seen_at: null });

		expect(await closeSession(t.db, ctx(CLAIRE), ms, live.id)).toBe(true);
		const closed = await t.db.selectFrom('rcp_participant').select(['user_id', 'attendance']).where('session_id', '=', live.id).execute();
		expect(Object.fromEntries(closed.map((c) => [c.user_id, c.attendance]))).toEqual({
			[user(CLAIRE)]: 'present',
			[user('camille.durand')]: 'distance',
			[user('karim.mansouri')]: 'absent',
			[user('yasmine.belkacem')]: 'present',
			[user('lucie.gauthier')]: 'absent'
		});
		const minutes = await compteRendu(t.db, await session(live.id), 'MSP', 'fr', null);
		expect(Object.fromEntries(minutes.state.participants.map((p) => [p.userId, p.attendance]))).toEqual(Object.fromEntries(closed.map((c) => [c.user_id, c.attendance])));
		for (const s of [claire, camille, yasmine, lucie, karim]) s.disconnect();
	});
});

// ---------------------------------------------------------------------------------------------
// Moving a session to today
// ---------------------------------------------------------------------------------------------

describe('moveSessionToToday', () => {
	const moves = (sessionId: string) => t.db.selectFrom('audit_event').select(['actor_id', 'details']).where('action', '=', 'rcp.session_moved').where('target_id', '=', sessionId).execute();

	test('moves the date and times to today from the chosen time, keeping the duration; audited; once', async () => {
		const ms = await freshMs();
		const id = await createSession(t.db, ctx(CLAIRE), ms, { ...slot, date: addDays(TODAY, 7), startTime: '12:30', endTime: '14:15' });
		const before = await session(id);
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, id, '08:05', [ms.id])).toEqual({ ok: true, moved: true });
		const after = await session(id);
		expect(after.starts_at).toEqual(parisInstant(TODAY, '08:05'));
		expect(after.ends_at).toEqual(parisInstant(TODAY, '09:50'));
		expect(after.status).toBe('planifiee');
		expect(await moves(id)).toEqual([{ actor_id: user(CLAIRE), details: { from: before.starts_at.toISOString(), to: after.starts_at.toISOString() } }]);
		// Already today: a second move changes nothing and is not audited again.
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, id, '10:00', [ms.id])).toEqual({ ok: true, moved: false });
		expect((await session(id)).starts_at).toEqual(parisInstant(TODAY, '08:05'));
		expect(await moves(id)).toHaveLength(1);
		// Only a planned session of this microstructure moves.
		const cancelled = await plannedSession(ms, addDays(TODAY, 3));
		expect(await cancelSession(t.db, ctx(CLAIRE), ms, cancelled)).toBe(true);
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, cancelled, '08:00', [ms.id])).toEqual({ ok: false, error: 'Seule une RCP planifiée peut être déplacée.' });
		const elsewhere = await freshMs();
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), elsewhere, await plannedSession(ms, addDays(TODAY, 4)), '08:00', [])).toEqual({ ok: false, error: 'RCP introuvable.' });
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, 'nope', '08:00', [])).toEqual({ ok: false, error: 'RCP introuvable.' });
	});

	test('refuses a slot that overlaps another RCP of the microstructure or of another one the person works in, and changes nothing', async () => {
		const ms = await freshMs();
		const other = await freshMs();
		await createSession(t.db, ctx(CLAIRE), ms, { ...slot, title: 'RCP du jour', date: TODAY, startTime: '12:30', endTime: '14:00' });
		await createSession(t.db, ctx(CLAIRE), other, { ...slot, title: 'RCP voisine', date: TODAY, startTime: '16:00', endTime: '17:00' });
		const id = await createSession(t.db, ctx(CLAIRE), ms, { ...slot, date: addDays(TODAY, 6), startTime: '09:00', endTime: '10:30' });
		const before = await session(id);
		const refused = await moveSessionToToday(t.db, ctx(CLAIRE), ms, id, '13:00', [ms.id, other.id]);
		expect(refused).toEqual({ ok: false, error: `Ce créneau chevauche «\u00a0RCP du jour\u00a0» (MSP d'essai RCP ${msCount - 1}, 12h30–14h00)\u00a0: choisissez une autre heure.` });
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, id, '15:00', [ms.id, other.id])).toMatchObject({ ok: false, error: expect.stringContaining('RCP voisine') });
		expect((await session(id)).starts_at).toEqual(before.starts_at);
		expect(await moves(id)).toEqual([]);
		// Ending when the other starts is no clash; nor is an RCP of a microstructure outside the scope.
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, id, '14:30', [ms.id])).toEqual({ ok: true, moved: true });
		expect((await session(id)).ends_at).toEqual(parisInstant(TODAY, '16:00'));
	});

	test('a burst of clicks moves once; two sessions moved at once into the same slot: one of them', async () => {
		const ms = await freshMs();
		const id = await createSession(t.db, ctx(CLAIRE), ms, { ...slot, date: addDays(TODAY, 7), startTime: '12:30', endTime: '14:00' });
		const burst = await Promise.all(Array.from({ length: 6 }, () => moveSessionToToday(t.db, ctx(CLAIRE), ms, id, '07:00', [ms.id])));
		expect(burst.filter((r) => r.ok && r.moved)).toHaveLength(1);
		expect(burst.every((r) => r.ok)).toBe(true);
		expect(await moves(id)).toHaveLength(1);
		expect((await session(id)).starts_at).toEqual(parisInstant(TODAY, '07:00'));

		const a = await createSession(t.db, ctx(CLAIRE), ms, { ...slot, date: addDays(TODAY, 8), startTime: '12:30', endTime: '14:00' });
		const b = await createSession(t.db, ctx(CLAIRE), ms, { ...slot, date: addDays(TODAY, 9), startTime: '12:30', endTime: '14:00' });
		const both = await Promise.all([a, b].map((s) => moveSessionToToday(t.db, ctx(CLAIRE), ms, s, '10:00', [ms.id])));
		expect(both.filter((r) => r.ok)).toHaveLength(1);
		expect(both.filter((r) => !r.ok)).toHaveLength(1);
	});

	test("a series' session moved to today keeps its occurrence: the series does not plan it again", async () => {
		const ms = await freshMs();
		// Two or three days ahead, whichever is not a Sunday (series run Monday to Saturday).
		const weekdayOf = (date: string) => ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'][new Date(`${date}T12:00:00Z`).getUTCDay()];
		const day = weekdayOf(addDays(TODAY, 2)) === 'SU' ? addDays(TODAY, 3) : addDays(TODAY, 2);
		const weekday = weekdayOf(day);
		const seriesId = await createSeries(t.db, ctx(CLAIRE), ms, { ...slot, rrule: `FREQ=WEEKLY;BYDAY=${weekday}`, startsOn: TODAY, untilOn: addDays(TODAY, 30), startTime: '12:30', endTime: '14:00' });
		const sessions = () => t.db.selectFrom('rcp_session').select(['id', 'starts_at']).where('series_id', '=', seriesId).orderBy('starts_at').execute();
		const planned = await sessions();
		expect(planned[0].starts_at).toEqual(parisInstant(day, '12:30'));
		expect(await moveSessionToToday(t.db, ctx(CLAIRE), ms, planned[0].id, '11:00', [ms.id])).toEqual({ ok: true, moved: true });
		expect(await materialiseSeries(t.db, seriesId)).toBe(0);
		const now = await sessions();
		expect(now).toHaveLength(planned.length);
		expect(now[0]).toEqual({ id: planned[0].id, starts_at: parisInstant(TODAY, '11:00') });
	});
});
