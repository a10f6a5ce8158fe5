// Demo RCPs: each network's template (the Loire-Atlantique one adapted), a monthly series per
// microstructure, two past sessions of each series closed with full minutes (agenda proposed by the
// rules, decisions with actions, case notes, attendance, PPS versions validated by the RCP,
// passages), a session in progress today at the Cabinet des Tanneurs, and, in the Bas-Rhin network,
// two RCPs at the same time next Monday noon (the coordinator sees the clash).
//
// Today's session goes through the domain functions (agenda, start, presence, decisions, pointer):
// it happens now. Past sessions are written row by row in the shape closing gives them
// (live.ts closeLocked), because closing and validateVersion stamp "now" and a version, once
// written, cannot be re-dated (pps_version is immutable).
import * as Y from 'yjs';
import type { Db } from '../db/index.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import type { Attendance, RcpDecision, Rsvp } from '../db/schema.ts';
import { addDays, parisToday } from '../patients/lifecycle.ts';
import { appendUpdate } from '../realtime/yjs-store.ts';
import { project } from '../../pps/model.ts';
import { caseCapacity } from '../rcp/agenda.ts';
import { planDecision, type DecisionInput } from '../rcp/decisions.ts';
import { markLeft, markPresent, movePointer, notesDocName, recordDecision, refreshAttendance, startSession } from '../rcp/live.ts';
import { describeRecurrence, occurrences, parisInstant, parisWallClock, toRrule, WEEKDAYS, type Nth, type Weekday } from '../rcp/schedule.ts';
import { addCase, addOrganisationPoint, buildAgenda, createSeries, createSession, flagPatient, getSession, proposals, savePrepNote, setRsvp } from '../rcp/sessions.ts';
import { DEFAULT_TEMPLATE, effectiveTemplate, saveTemplate } from '../rcp/templates.ts';
import type { DemoPatient, DemoPlans, Role } from './pps.ts';

export interface DemoMicrostructure extends MicrostructureRef {
	key: string;
	network: string;
	name: string;
	/** Its GPs, in the demo's order: the first one animates its RCPs. */
	gps: string[];
}

/** A series' slot, as the team notes describe it. */
export interface DemoSlot {
	rrule: string;
	startTime: string;
	endTime: string;
	room: string | null;
	/** "1er jeudi du mois, 12h30–14h00". */
	label: string;
}

/** The microstructure whose RCP is in progress when the demo starts (Inès Haddad's). */
export const LIVE_MICROSTRUCTURE = 'tanneurs';
const START = '12:30';
const END = '14:00';

const DEFAULT_RULES: Record<string, { nth: Nth; weekday: Weekday }> = {
	tanneurs: { nth: 1, weekday: 'TU' },
	neuhof: { nth: 3, weekday: 'TU' },
	haguenau: { nth: 1, weekday: 'TH' },
	ilenantes: { nth: 1, weekday: 'TU' },
	herblain: { nth: 2, weekday: 'TH' },
	reze: { nth: 4, weekday: 'TU' }
};

/**
 * Each microstructure's monthly slot. The live microstructure meets on today's weekday of the month
 * (its RCP is today's); another one of its network that would meet the same day moves to the second
 * week, so that nobody who works in both sees a clash the demo did not mean.
 */
export function demoRules(microstructures: Pick<DemoMicrostructure, 'key' | 'network'>[], today: string): Record<string, { nth: Nth; weekday: Weekday }> {
	const rules: Record<string, { nth: Nth; weekday: Weekday }> = {};
	for (const ms of microstructures) rules[ms.key] = { ...(DEFAULT_RULES[ms.key] ?? { nth: 1, weekday: 'TU' }) };
	const live = microstructures.find((m) => m.key === LIVE_MICROSTRUCTURE);
	const weekday = new Date(`${today}T12:00:00Z`).getUTCDay();
	if (!live || weekday === 0) return rules; // No RCP on a Sunday: today's is a one-off session.
	const week = Math.ceil(Number(today.slice(8, 10)) / 7);
	rules[live.key] = { nth: (week > 4 ? -1 : week) as Nth, weekday: WEEKDAYS[weekday - 1] };
	for (const ms of microstructures) {
		const r = rules[ms.key];
		if (ms !== live && ms.network === live.network && r.nth === rules[live.key].nth && r.weekday === rules[live.key].weekday) r.nth = 2;
	}
	return rules;
}

type Ctx = { actorId: string };

const DECISION_CYCLE: RcpDecision[] = ['poursuite', 'adaptation_pps', 'poursuite', 'a_revoir', 'adaptation_pps', 'poursuite'];
const DETAILS: Partial<Record<RcpDecision, string[]>> = {
	adaptation_pps: ['Objectifs revus avec le patient avant la RCP.', 'Ajout d’un volet social au plan.', 'Rythme des entretiens rapproché.'],
	a_revoir: ['À rediscuter avec les résultats du bilan.', 'À revoir à la prochaine RCP, après l’avis du patient.']
};
const ORGANISATION_NOTES: Record<string, string[]> = {
	organisation_pec: [
		'Délai du premier rendez-vous avec la psychologue : trois semaines. Un créneau réservé aux nouvelles inclusions le mardi matin.',
		'Deux patients perdus de vue à relancer ; le travailleur social s’en charge.',
		'Quatre inclusions ce mois-ci, deux sorties. File active stable.'
	],
	organisation_ms: [
		'Permanence de la psychologue déplacée au jeudi pendant les vacances scolaires.',
		'Réunion avec le CSAPA du secteur à organiser (coordination).',
		'Rappel : les comptes rendus de RCP sont dans l’outil, plus de tableau partagé.'
	]
};

/**
 * Seeds the RCPs but today's (seedLiveRcp), and stores the plans as they stand today; returns each
 * microstructure's monthly slot (the team notes quote it).
 */
export async function seedDemoRcp(
	db: Db,
	networks: Record<string, string>,
	microstructures: DemoMicrostructure[],
	coordinators: Record<string, string>,
	plans: DemoPlans,
	patients: Map<string, DemoPatient>,
	today = parisToday()
): Promise<Record<string, DemoSlot & { seriesId: string }>> {
	const est = { actorId: coordinators.est };
	await saveTemplate(db, est, { networkId: networks.est }, DEFAULT_TEMPLATE);
	await saveTemplate(db, { actorId: coordinators.ouest }, { networkId: networks.ouest }, {
		...DEFAULT_TEMPLATE,
		name: 'Trame Loire-Atlantique',
		targetMinutes: 60,
		minutesPerCase: 8,
		quorumProfessions: ['medecin_generaliste', 'psychologue'],
		minFrequency: 'mensuelle'
	});

	const rules = demoRules(microstructures, today);
	const slots: Record<string, DemoSlot & { seriesId: string }> = {};
	const seriesOf: Record<string, string> = {};
	for (const ms of microstructures) {
		const ctx = { actorId: coordinators[ms.network] };
		const rooms = await db
			.selectFrom('room as r')
			.innerJoin('site as s', 's.id', 'r.site_id')
			.select(['r.id', 'r.name'])
			.where('s.microstructure_id', '=', ms.id)
			.orderBy('r.name')
			.execute();
		// The meeting room when there is one.
		const room = rooms.find((r) => /salle/i.test(r.name)) ?? rooms[0] ?? null;
		const rrule = toRrule({ pattern: 'mensuel', ...rules[ms.key] });
		const visioUrl = ms.network === 'ouest' ? 'https://visio.sante.fr/rcp-demo' : null;
		const startsOn = addDays(today, -200);
		seriesOf[ms.key] = await createSeries(db, ctx, ms, { title: 'RCP mensuelle', rrule, startsOn, untilOn: null, startTime: START, endTime: END, roomId: room?.id ?? null, visioUrl, programme: null });
		slots[ms.key] = { seriesId: seriesOf[ms.key], rrule, startTime: START, endTime: END, room: room?.name ?? null, label: describeRecurrence(rrule, START, END) };

		// The two past sessions: the last one at least two weeks ago (its actions are due about now)
		// and the one three months before it (its patients are due for discussion again).
		const past = occurrences({ rrule, starts_on: startsOn, until_on: null, start_time: START, end_time: END }, startsOn, addDays(today, -14), 100);
		const held = [past.at(-4), past.at(-1)].filter((o) => o !== undefined);
		for (const [n, o] of held.entries()) {
			await seedClosedSession(db, ms, { seriesId: seriesOf[ms.key], startsAt: o.startsAt, endsAt: o.endsAt, roomId: room?.id ?? null, visioUrl }, coordinators[ms.network], plans, patients, n === held.length - 1, today);
		}
	}

	// Every plan as it stands today, once the past sessions have validated their versions.
	await plans.store(db);

	// Two RCPs next Monday at noon in the Bas-Rhin network: Marc Weber coordinates both.
	let monday = addDays(today, 1);
	while (new Date(`${monday}T12:00:00Z`).getUTCDay() !== 1) monday = addDays(monday, 1);
	for (const key of ['tanneurs', 'neuhof']) {
		const ms = microstructures.find((m) => m.key === key);
		if (ms) await createSession(db, est, ms, { title: 'RCP exceptionnelle', date: monday, startTime: '12:00', endTime: '13:30', roomId: null, visioUrl: null, programme: null });
	}
	return slots;
}

/** The active members of a microstructure's care team and coordination on a day, with their profession. */
function teamOn(db: Db, msId: string, day: string) {
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['u.id', 'u.profession', 'u.last_name', 'u.first_name'])
		.distinct()
		.where('m.microstructure_id', '=', msId)
		.where('m.role', 'in', ['soignant', 'coordination'])
		.where('m.starts_on', '<=', day)
		.where((eb) => eb.or([eb('m.ends_on', 'is', null), eb('m.ends_on', '>', day)]))
		.orderBy('u.last_name')
		.orderBy('u.first_name')
		.orderBy('u.id')
		.execute();
}

const minutes = (at: Date, n: number) => new Date(at.getTime() + n * 60_000);

/**
 * A session of the series held on its day and closed with its minutes: the agenda the rules
 * proposed then (patients already included), decisions and actions for all cases but the last (not
 * reached, carried over), notes, attendance, a PPS version when the plan changed since the last
 * one, passages and timeline events; the latest session's decisions reach the care teams.
 */
async function seedClosedSession(
	db: Db,
	ms: DemoMicrostructure,
	slot: { seriesId: string; startsAt: Date; endsAt: Date; roomId: string | null; visioUrl: string | null },
	coordinatorId: string,
	plans: DemoPlans,
	patients: Map<string, DemoPatient>,
	latest: boolean,
	today: string
): Promise<void> {
	const day = parisWallClock(slot.startsAt).date;
	const animator = ms.gps[0];
	const { template } = await effectiveTemplate(db, ms);
	const session = await db
		.insertInto('rcp_session')
		.values({
			microstructure_id: ms.id,
			series_id: slot.seriesId,
			title: 'RCP mensuelle',
			starts_at: slot.startsAt,
			ends_at: slot.endsAt,
			room_id: slot.roomId,
			visio_url: slot.visioUrl,
			programme: null,
			template: JSON.stringify(template),
			created_by: coordinatorId
		})
		.returningAll()
		.executeTakeFirstOrThrow();
	const { id } = session;

	// The agenda as the rules proposed it that day, among the patients already included.
	const proposed = (await proposals(db, session)).filter((p) => (patients.get(p.patientId)?.includedOn ?? day) < day);
	const cases = proposed.slice(0, Math.min(caseCapacity(template), 6));
	const items: { itemId: string; patientId: string }[] = [];
	for (const p of cases) {
		const itemId = await addCase(db, session, p.patientId, p.reasons, animator);
		if (itemId) items.push({ itemId, patientId: p.patientId });
	}

	// Attendance: everyone answered; one sent apologies; the network's coordinator joined the latest one by visio.
	const team = await teamOn(db, ms.id, day);
	const seed = Number(day.slice(8, 10));
	const others = team.filter((m) => m.id !== animator);
	const excused = others.length > 1 ? others[seed % others.length].id : null;
	const startedAt = minutes(slot.startsAt, 2);
	const closedAt = minutes(startedAt, items.length * 11 + 15);
	const heldSeconds = (closedAt.getTime() - startedAt.getTime()) / 1000;
	// The sheet as presence made it: those who attended were there throughout, decisions included.
	const attended = (place: 'present' | 'distance', share = 1) => ({ attendance: place, seen_place: place, present_seconds: Math.round(heldSeconds * share), at_decision: true });
	const absent = { attendance: 'excuse' as const, seen_place: null, present_seconds: 0, at_decision: false };
	const rows: { session_id: string; user_id: string; rsvp: Rsvp | null; attendance: Attendance; seen_place: 'present' | 'distance' | null; present_seconds: number; at_decision: boolean }[] = team.map((m) => ({
		session_id: id,
		user_id: m.id,
		rsvp: m.id === excused ? 'non' : 'oui',
		...(m.id === excused ? absent : attended(m.profession === 'psychologue' && seed % 2 === 0 ? 'distance' : 'present'))
	}));
	if (latest && !team.some((m) => m.id === coordinatorId)) rows.push({ session_id: id, user_id: coordinatorId, rsvp: null, ...attended('distance', 0.6) });
	if (rows.length) await db.insertInto('rcp_participant').values(rows).execute();

	let clock = startedAt;
	const notified: { user_id: string; kind: string; title: string; link: string; created_at: Date }[] = [];
	for (const [i, { itemId, patientId }] of items.entries()) {
		const patient = patients.get(patientId)!;
		const seconds = 360 + ((seed * 7 + i * 131) % 420);
		clock = new Date(clock.getTime() + seconds * 1000);
		if (i === items.length - 1 && items.length >= 4) {
			// Not reached: no decision, no passage; the next agenda carries it over.
			await db.updateTable('rcp_item').set({ discussed_seconds: 0 }).where('id', '=', itemId).execute();
			continue;
		}
		const kind = DECISION_CYCLE[(i + seed) % DECISION_CYCLE.length];
		const details = DETAILS[kind];
		const input: DecisionInput = { kind, detail: details ? details[(i + seed) % details.length] : undefined, actions: plans.rcpActions(patient, day, i + seed) };
		const planned = planDecision(input, day);
		if (!planned.ok) throw new Error(`demo: ${planned.error}`);
		const { plan } = planned;
		if (kind === 'adaptation_pps') plans.adapt(patientId, day, input.actions as { what: string; ownerId: string; dueOn: string }[]);
		const version = plans.takeVersion(patientId, day, plan.validatePps);
		if (version) {
			await db
				.insertInto('pps_version')
				.values({
					patient_id: patientId,
					number: version.number,
					snapshot: Y.encodeStateAsUpdate(version.doc),
					projection: JSON.stringify(project(version.doc)),
					created_by: animator,
					created_at: closedAt,
					rcp_id: id
				})
				.execute();
		}
		await db
			.updateTable('rcp_item')
			.set({
				discussed_seconds: seconds,
				decision: kind,
				decision_details: JSON.stringify({ ...plan.details, final: plan.final, validatePps: plan.validatePps, carryOver: plan.carryOver }),
				decided_by: animator,
				decided_at: clock,
				minutes_notes: plans.caseNote(patientId, i + seed),
				pps_version: version?.number ?? null
			})
			.where('id', '=', itemId)
			.execute();
		if (input.actions.length) {
			// Actions of older sessions are done; of the latest, some are still open (due about now).
			await db
				.insertInto('rcp_action')
				.values(
					input.actions.map((a, k) => {
						const done = !latest || (i + k) % 3 === 0;
						const doneOn = [addDays(a.dueOn!, -2), addDays(today, -1)].sort()[0];
						return {
							item_id: itemId,
							patient_id: patientId,
							what: a.what,
							owner_id: a.ownerId,
							due_on: a.dueOn ?? null,
							created_by: animator,
							created_at: clock,
							done_at: done ? parisInstant(doneOn > day ? doneOn : addDays(day, 1), '18:00') : null,
							done_by: done ? a.ownerId : null
						};
					})
				)
				.execute();
		}
		await db.insertInto('rcp_passage').values({ patient_id: patientId, session_id: id, on_date: day, decision: kind }).execute();
		// As closing records it (recordEvent), recorded when the session closed.
		await db
			.insertInto('patient_event')
			.values({ patient_id: patientId, kind: 'rcp', occurred_on: day, recorded_by: animator, recorded_at: closedAt, details: JSON.stringify({ sessionId: id, decision: kind, ...(version ? { ppsVersion: version.number } : {}) }) })
			.execute();
		if (latest) {
			const title = `RCP du ${day.split('-').reverse().join('/')} : décision pour ${patient.code}`;
			for (const user of new Set(Object.values(patient.team).flat())) notified.push({ user_id: user, kind: 'rcp_decision', title, link: `/ms/${ms.id}/patients/${patientId}#rcp`, created_at: closedAt });
		}
	}
	for (const section of template.sections) {
		if (section.kind === 'cas') continue;
		const itemId = await addOrganisationPoint(db, session, section.kind, section.title, animator);
		const notes = ORGANISATION_NOTES[section.kind];
		await db.updateTable('rcp_item').set({ minutes_notes: notes[seed % notes.length], discussed_seconds: 300 }).where('id', '=', itemId).execute();
	}
	if (notified.length) await db.insertInto('notification').values(notified).execute();
	await db
		.updateTable('rcp_session')
		.set({ status: 'cloturee', agenda_built_at: parisInstant(addDays(day, -7), '09:00'), animator_id: animator, started_at: startedAt, closed_at: closedAt, closed_by: animator })
		.where('id', '=', id)
		.execute();
}

const FLAG_QUESTION = 'Reprise de consommation depuis deux semaines : faut-il revoir le plan ?';
const LIVE_NOTES = [
	'Stable depuis la dernière RCP. Entretiens réguliers, objectifs tenus. On poursuit.',
	'Plan adapté en séance : rythme des entretiens rapproché, nouvelle démarche sociale.',
	'Point en cours : '
];

/**
 * Today's session at the live microstructure, started a quarter of an hour ago by its first GP:
 * agenda built (with a question from the team), preparation notes, presence, two decisions with
 * actions and notes, and the pointer on the third case. Not inside a transaction: the live-session
 * functions each run their own.
 */
export async function seedLiveRcp(db: Db, ms: DemoMicrostructure, seriesId: string | undefined, plans: DemoPlans, patients: Map<string, DemoPatient>, today = parisToday()): Promise<void> {
	const animator = ms.gps[0];
	const ctx: Ctx = { actorId: animator };
	const todays = await db
		.selectFrom('rcp_session')
		.select('id')
		.where('microstructure_id', '=', ms.id)
		.where('status', '=', 'planifiee')
		.where('starts_at', '>=', parisInstant(today, '00:00'))
		.where('starts_at', '<', parisInstant(addDays(today, 1), '00:00'))
		.$if(seriesId !== undefined, (q) => q.where('series_id', '=', seriesId!))
		.orderBy('starts_at')
		.executeTakeFirst();
	let sessionId = todays?.id;
	if (!sessionId) {
		// No series meeting today (a Sunday): an extra session, from a quarter of an hour ago.
		const from = parisWallClock(new Date(Date.now() - 15 * 60_000));
		const start = from.date === today ? from.time : '00:00';
		const endAt = parisWallClock(minutes(parisInstant(today, start), 90));
		sessionId = await createSession(db, ctx, ms, { title: 'RCP intermédiaire', date: today, startTime: start, endTime: endAt.date === today ? endAt.time : '23:59', roomId: null, visioUrl: null, programme: null });
	}

	const team = await teamOn(db, ms.id, today);
	const byProfession = (p: string) => team.filter((m) => m.profession === p).map((m) => m.id);
	const psy = byProfession('psychologue')[0];
	const ts = byProfession('travailleur_social')[0];
	const colleague = ms.gps[1];
	for (const m of team) await setRsvp(db, sessionId, m.id, m.id === ts ? 'peut_etre' : 'oui');

	// A question from the psychologist about a patient discussed last time: it goes onto the agenda.
	const flagged = await db
		.selectFrom('rcp_passage as rp')
		.innerJoin('patient as p', 'p.id', 'rp.patient_id')
		.select('p.id')
		.where('p.microstructure_id', '=', ms.id)
		.where('p.state', '=', 'en_suivi')
		.orderBy('rp.on_date', 'desc')
		.orderBy('p.code')
		.executeTakeFirst();
	if (flagged && psy) await flagPatient(db, { actorId: psy }, ms, flagged.id, FLAG_QUESTION);

	const session = (await getSession(db, sessionId))!;
	await buildAgenda(db, session, animator);
	const cases = await db.selectFrom('rcp_item').select(['id', 'patient_id']).where('session_id', '=', sessionId).where('kind', '=', 'cas').orderBy('position').execute();
	const preparers: [Role, string | undefined][] = [
		['psy', psy],
		['ts', ts]
	];
	for (const [n, item] of cases.slice(2, 4).entries()) {
		for (const [role, userId] of preparers) {
			const profession = role === 'psy' ? 'psychologue' : 'travailleur_social';
			if (userId && (n === 0 || role === 'psy')) await savePrepNote(db, item.id, { id: userId, profession }, plans.prepNote(role, n));
		}
	}

	if (!(await startSession(db, ctx, ms, sessionId))) throw new Error('demo: the live session did not start');
	// Three took part (the psychologist from her office): connected when the decisions were taken.
	const takingPart: [string | undefined, 'present' | 'distance', number][] = [
		[animator, 'present', 16],
		[colleague, 'present', 15],
		[psy, 'distance', 12]
	];
	for (const [userId, place] of takingPart) if (userId) await markPresent(db, sessionId, userId, place);

	const now = Date.now();
	const decided: { kind: RcpDecision; detail?: string }[] = [{ kind: 'poursuite' }, { kind: 'adaptation_pps', detail: 'Rythme des entretiens rapproché, nouvelle démarche sociale.' }];
	for (const [i, item] of cases.slice(0, 3).entries()) {
		const patient = patients.get(item.patient_id!);
		const notes = new Y.Doc();
		notes.getText('notes').insert(0, i < 2 ? `${LIVE_NOTES[i]} ${plans.caseNote(item.patient_id!, i)}` : `${LIVE_NOTES[2]}${patient ? plans.caseNote(item.patient_id!, 2).split('.')[0] + '.' : ''}`);
		await appendUpdate(db, notesDocName(item.id), Y.encodeStateAsUpdate(notes));
		if (i < decided.length && patient) {
			const input: DecisionInput = { ...decided[i], actions: plans.rcpActions(patient, today, i) };
			const r = await recordDecision(db, ctx, ms, sessionId, item.id, input);
			if (!r.ok) throw new Error(`demo: ${r.error}`);
			await db.updateTable('rcp_item').set({ decided_at: new Date(now - (11 - i * 6) * 60_000), discussed_seconds: 360 - i * 60 }).where('id', '=', item.id).execute();
		}
		if (i > 0) await movePointer(db, sessionId, animator, item.id);
	}
	// Nobody is connected once the demo is loaded: their connections end here, their time is what
	// it would have been (they joined at the start), and the sheet says what presence says.
	for (const [userId, , minutesThere] of takingPart) {
		if (!userId) continue;
		await markLeft(db, sessionId, userId, false);
		await db.updateTable('rcp_participant').set({ present_seconds: minutesThere * 60 }).where('session_id', '=', sessionId).where('user_id', '=', userId).execute();
	}
	await refreshAttendance(db, sessionId);
	await db
		.updateTable('rcp_session')
		.set({ started_at: new Date(now - 16 * 60_000), pointer_since: new Date(now - 3 * 60_000) })
		.where('id', '=', sessionId)
		.execute();
}
