// RCP sessions and series: planning (recurring or one-off), invitations with RSVP, the agenda
// (proposed from the data, then edited by hand) and preparation notes. Live work is in live.ts.
import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/index.ts';
import type { Actor, MicrostructureRef, RcpSessionRef } from '../access/policy.ts';
import { can } from '../access/policy.ts';
import type { Programme, RcpReason, RcpSectionKind, RcpSession, RcpTemplateContent, Rsvp } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import { addDays, parisToday } from '../patients/lifecycle.ts';
import { effectiveTemplate } from './templates.ts';
import { caseCapacity, proposeAgenda, type Carried, type Proposal } from './agenda.ts';
import { noShowOn } from '../booking/no-shows.ts';
import { frenchTime, occurrences, parisInstant, parisWallClock } from './schedule.ts';

type Ctx = AuditContext & { actorId: string };

/** How far ahead a series' sessions exist as rows (to be invited to, answered, prepared). */
export const SERIES_HORIZON_DAYS = 190;

const activeMembership = sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`;

export interface Slot {
	title: string;
	roomId: string | null;
	visioUrl: string | null;
	programme: Programme | null;
}

export async function createSeries(db: Db, ctx: Ctx, ms: MicrostructureRef, s: Slot & { rrule: string; startsOn: string; untilOn: string | null; startTime: string; endTime: string }): Promise<string> {
	const row = await db
		.insertInto('rcp_series')
		.values({
			microstructure_id: ms.id,
			title: s.title,
			rrule: s.rrule,
			starts_on: s.startsOn,
			until_on: s.untilOn,
			start_time: s.startTime,
			end_time: s.endTime,
			room_id: s.roomId,
			visio_url: s.visioUrl,
			programme: s.programme,
			created_by: ctx.actorId
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	await materialiseSeries(db, row.id);
	await audit(db, ctx, { action: 'rcp.series_created', targetType: 'rcp_series', targetId: row.id, microstructureId: ms.id, networkId: ms.networkId, details: { rrule: s.rrule } });
	return row.id;
}

/** Creates the series' sessions up to the horizon (idempotent: one row per occurrence). */
export async function materialiseSeries(db: Db, seriesId: string, today = parisToday()): Promise<number> {
	const series = await db.selectFrom('rcp_series').selectAll().where('id', '=', seriesId).where('ended_at', 'is', null).executeTakeFirst();
	if (!series) return 0;
	const ms = await db.selectFrom('microstructure').select(['id', 'network_id']).where('id', '=', series.microstructure_id).executeTakeFirstOrThrow();
	const { template } = await effectiveTemplate(db, { id: ms.id, networkId: ms.network_id });
	let created = 0;
	for (const o of occurrences(series, today, addDays(today, SERIES_HORIZON_DAYS), 100)) {
		const inserted = await db
			.insertInto('rcp_session')
			.values({
				microstructure_id: series.microstructure_id,
				series_id: series.id,
				title: series.title,
				starts_at: o.startsAt,
				ends_at: o.endsAt,
				room_id: series.room_id,
				visio_url: series.visio_url,
				programme: series.programme,
				template: JSON.stringify(template),
				created_by: series.created_by
			})
			// One row per occurrence, where it was moved included (unique on the occurrence it stands for).
			.onConflict((oc) => oc.doNothing())
			.returning('id')
			.executeTakeFirst();
		if (inserted) {
			await inviteTeam(db, inserted.id, series.microstructure_id);
			created++;
		}
	}
	return created;
}

/** Keeps every running series of the microstructures supplied ahead of the horizon. */
export async function materialiseAll(db: Db, msIds: string[]): Promise<void> {
	if (msIds.length === 0) return;
	const series = await db.selectFrom('rcp_series').select('id').where('microstructure_id', 'in', msIds).where('ended_at', 'is', null).execute();
	for (const s of series) await materialiseSeries(db, s.id);
}

export async function createSession(db: Db, ctx: Ctx, ms: MicrostructureRef, s: Slot & { date: string; startTime: string; endTime: string }): Promise<string> {
	const { template } = await effectiveTemplate(db, ms);
	const row = await db
		.insertInto('rcp_session')
		.values({
			microstructure_id: ms.id,
			title: s.title,
			starts_at: parisInstant(s.date, s.startTime),
			ends_at: parisInstant(s.date, s.endTime),
			room_id: s.roomId,
			visio_url: s.visioUrl,
			programme: s.programme,
			template: JSON.stringify(template),
			created_by: ctx.actorId
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	await inviteTeam(db, row.id, ms.id);
	await audit(db, ctx, { action: 'rcp.session_created', targetType: 'rcp_session', targetId: row.id, microstructureId: ms.id, networkId: ms.networkId });
	return row.id;
}

/** Every active clinician and coordinator of the microstructure is invited. */
async function inviteTeam(db: Db, sessionId: string, msId: string): Promise<void> {
	const members = await db
		.selectFrom('membership as m')
		.select('m.user_id')
		.distinct()
		.where('m.microstructure_id', '=', msId)
		.where('m.role', 'in', ['soignant', 'coordination'])
		.where(activeMembership)
		.execute();
	if (members.length === 0) return;
	await db
		.insertInto('rcp_participant')
		.values(members.map((m) => ({ session_id: sessionId, user_id: m.user_id })))
		.onConflict((oc) => oc.columns(['session_id', 'user_id']).doNothing())
		.execute();
}

export async function getSession(db: Db, id: string): Promise<RcpSession | undefined> {
	if (!isUuid(id)) return undefined;
	return db.selectFrom('rcp_session').selectAll().where('id', '=', id).executeTakeFirst();
}

/** What the policy needs about a session, for one user (guest or not). */
export async function resolveRcpSession(db: Db, sessionId: string, userId: string): Promise<RcpSessionRef | null> {
	if (!isUuid(sessionId)) return null;
	return refOf(await sessionRefQuery(db, userId).where('s.id', '=', sessionId).executeTakeFirst());
}

/** The session an agenda item belongs to, as the policy sees it (for the case notes document). */
export async function resolveRcpItem(db: Db, itemId: string, userId: string): Promise<RcpSessionRef | null> {
	return (await resolveRcpItems(db, [{ itemId, userId }]))[0];
}

/**
 * resolveRcpItem for several (case, person) pairs in one round trip, in the order asked: when the
 * pointer moves, every participant opens the new case's notes at once (realtime/attach.ts).
 */
export async function resolveRcpItems(db: Db, asks: { itemId: string; userId: string }[]): Promise<(RcpSessionRef | null)[]> {
	const valid = asks.filter((a) => isUuid(a.itemId) && isUuid(a.userId));
	if (valid.length === 0) return asks.map(() => null);
	const { rows } = await sql<{ item_id: string; user_id: string; status: RcpSession['status']; ms_id: string; network_id: string; item_ids: string[] | null }>`
		select q.item_id, q.user_id, s.status, ms.id as ms_id, ms.network_id, p.item_ids
		from unnest(${valid.map((a) => a.itemId)}::uuid[], ${valid.map((a) => a.userId)}::uuid[]) as q(item_id, user_id)
		join rcp_item i on i.id = q.item_id
		join rcp_session s on s.id = i.session_id
		join microstructure ms on ms.id = s.microstructure_id
		left join rcp_participant p on p.session_id = s.id and p.user_id = q.user_id and p.kind = 'invite'`.execute(db);
	const refs = new Map(rows.map((r) => [`${r.item_id} ${r.user_id}`, refOf(r)]));
	return asks.map((a) => refs.get(`${a.itemId} ${a.userId}`) ?? null);
}

function sessionRefQuery(db: Db, userId: string) {
	return db
		.selectFrom('rcp_session as s')
		.innerJoin('microstructure as ms', 'ms.id', 's.microstructure_id')
		.leftJoin('rcp_participant as p', (j) => j.onRef('p.session_id', '=', 's.id').on('p.user_id', '=', userId).on('p.kind', '=', 'invite'))
		.select(['s.status', 'ms.id as ms_id', 'ms.network_id', 'p.item_ids']);
}

function refOf(row: { status: RcpSession['status']; ms_id: string; network_id: string; item_ids: string[] | null } | undefined): RcpSessionRef | null {
	if (!row) return null;
	return { microstructure: { id: row.ms_id, networkId: row.network_id }, status: row.status, guestItems: row.item_ids ?? null };
}

export interface SessionSummary {
	id: string;
	microstructure_id: string;
	microstructure_name: string;
	title: string;
	starts_at: Date;
	ends_at: Date;
	status: RcpSession['status'];
	template: RcpTemplateContent;
	cases: number;
	pending: number;
	room_name: string | null;
	visio_url: string | null;
}

/** Sessions of these microstructures that end after `from` (live and upcoming), soonest first. */
export async function listSessions(db: Db, msIds: string[], from: Date, to: Date): Promise<SessionSummary[]> {
	if (msIds.length === 0) return [];
	return db
		.selectFrom('rcp_session as s')
		.innerJoin('microstructure as ms', 'ms.id', 's.microstructure_id')
		.leftJoin('room as r', 'r.id', 's.room_id')
		.select((eb) => [
			's.id',
			's.microstructure_id',
			'ms.name as microstructure_name',
			's.title',
			's.starts_at',
			's.ends_at',
			's.status',
			's.template',
			'r.name as room_name',
			's.visio_url',
			eb.selectFrom('rcp_item as i').select(eb.fn.countAll<number>().as('n')).whereRef('i.session_id', '=', 's.id').where('i.kind', '=', 'cas').as('cases'),
			eb
				.selectFrom('rcp_item as i')
				.select(eb.fn.countAll<number>().as('n'))
				.whereRef('i.session_id', '=', 's.id')
				.where('i.kind', '=', 'cas')
				.where('i.decision', 'is', null)
				.as('pending')
		])
		.where('s.microstructure_id', 'in', msIds)
		.where('s.status', '!=', 'annulee')
		.where((eb) => eb.or([eb('s.ends_at', '>=', from), eb('s.status', '=', 'en_cours')]))
		.where('s.starts_at', '<=', to)
		.orderBy('s.starts_at')
		.execute()
		.then((rows) => rows.map((r) => ({ ...r, cases: Number(r.cases ?? 0), pending: Number(r.pending ?? 0) })));
}

export function listClosedSessions(db: Db, msId: string, limit = 20) {
	return db
		.selectFrom('rcp_session')
		.select(['id', 'title', 'starts_at', 'closed_at'])
		.where('microstructure_id', '=', msId)
		.where('status', '=', 'cloturee')
		.orderBy('starts_at', 'desc')
		.limit(limit)
		.execute();
}

export function listSeries(db: Db, msId: string) {
	return db
		.selectFrom('rcp_series as s')
		.leftJoin('room as r', 'r.id', 's.room_id')
		.select(['s.id', 's.title', 's.rrule', 's.start_time', 's.end_time', 's.starts_on', 's.until_on', 's.visio_url', 'r.name as room_name'])
		.where('s.microstructure_id', '=', msId)
		.where('s.ended_at', 'is', null)
		.orderBy('s.created_at')
		.execute();
}

/**
 * Microstructures whose RCPs the actor may see (`rcp.view`), or whose schedule alone they may read
 * (`rcp.schedule.read`: the secretariat too).
 */
export async function rcpMicrostructures(db: Db, actor: Actor, action: 'rcp.view' | 'rcp.schedule.read' = 'rcp.view'): Promise<MicrostructureRef[]> {
	const networks = actor.networks.map((n) => n.id);
	const rows = await db
		.selectFrom('microstructure')
		.select(['id', 'network_id'])
		.where('archived_at', 'is', null)
		.where((eb) =>
			eb.or([
				eb('id', 'in', actor.microstructures.length ? actor.microstructures.map((m) => m.id) : ['00000000-0000-0000-0000-000000000000']),
				eb('network_id', 'in', networks.length ? networks : ['00000000-0000-0000-0000-000000000000'])
			])
		)
		.execute();
	return rows.map((r) => ({ id: r.id, networkId: r.network_id })).filter((ms) => can(actor, action, { microstructure: ms }));
}

export async function setRsvp(db: Db, sessionId: string, userId: string, rsvp: Rsvp): Promise<void> {
	await db
		.insertInto('rcp_participant')
		.values({ session_id: sessionId, user_id: userId, rsvp })
		.onConflict((oc) => oc.columns(['session_id', 'user_id']).doUpdateSet({ rsvp }))
		.execute();
}

/** The Paris day a session is planned on: its minutes carry this date. */
export function sessionDay(session: Pick<RcpSession, 'starts_at'>): string {
	return parisWallClock(session.starts_at).date;
}

export type MoveOutcome = { ok: true; moved: boolean } | { ok: false; error: string };

/**
 * Moves a planned session to today from `startTime` (Paris), keeping its duration: an RCP started
 * on another day than planned then takes place, and is recorded, on the day it is held. Refused
 * when the new slot overlaps another RCP of the microstructures in `clashScope` (as planning shows
 * clashes: the microstructures of those who sit in several). A session already on today's date is
 * left as it is (a second click moves nothing). Serialised, so two moves cannot make a clash
 * that neither saw.
 */
export async function moveSessionToToday(db: Db, ctx: Ctx, ms: MicrostructureRef, sessionId: string, startTime: string, clashScope: string[], today = parisToday()): Promise<MoveOutcome> {
	if (!isUuid(sessionId)) return { ok: false, error: 'RCP introuvable.' };
	return inTransaction(db, async (trx) => {
		await sql`select pg_advisory_xact_lock(hashtext('rcp_session.move'))`.execute(trx);
		const session = await trx.selectFrom('rcp_session').selectAll().where('id', '=', sessionId).where('microstructure_id', '=', ms.id).forUpdate().executeTakeFirst();
		if (!session) return { ok: false as const, error: 'RCP introuvable.' };
		// Already today (moved by a first click, or planned so): nothing to move.
		if (sessionDay(session) === today && session.status !== 'annulee') return { ok: true as const, moved: false };
		if (session.status !== 'planifiee') return { ok: false as const, error: 'Seule une RCP planifiée peut être déplacée.' };
		const startsAt = parisInstant(today, startTime);
		const endsAt = new Date(startsAt.getTime() + (session.ends_at.getTime() - session.starts_at.getTime()));
		const clash = await trx
			.selectFrom('rcp_session as s')
			.innerJoin('microstructure as m', 'm.id', 's.microstructure_id')
			.select(['s.title', 's.starts_at', 's.ends_at', 'm.name'])
			.where('s.microstructure_id', 'in', [...new Set([ms.id, ...clashScope])])
			.where('s.id', '!=', session.id)
			.where('s.status', '!=', 'annulee')
			.where('s.starts_at', '<', endsAt)
			.where('s.ends_at', '>', startsAt)
			.orderBy('s.starts_at')
			.executeTakeFirst();
		if (clash) {
			const slot = `${frenchTime(parisWallClock(clash.starts_at).time)}–${frenchTime(parisWallClock(clash.ends_at).time)}`;
			return { ok: false as const, error: `Ce créneau chevauche «\u00a0${clash.title}\u00a0» (${clash.name}, ${slot})\u00a0: choisissez une autre heure.` };
		}
		await trx
			.updateTable('rcp_session')
			// A series' occurrence stays taken by this session, wherever it moves.
			.set({ starts_at: startsAt, ends_at: endsAt, occurrence_at: session.series_id ? (session.occurrence_at ?? session.starts_at) : null })
			.where('id', '=', session.id)
			.execute();
		await audit(trx, ctx, {
			action: 'rcp.session_moved',
			targetType: 'rcp_session',
			targetId: session.id,
			microstructureId: ms.id,
			networkId: ms.networkId,
			details: { from: session.starts_at.toISOString(), to: startsAt.toISOString() }
		});
		return { ok: true as const, moved: true };
	});
}

export async function cancelSession(db: Db, ctx: Ctx, ms: MicrostructureRef, sessionId: string): Promise<boolean> {
	const r = await db.updateTable('rcp_session').set({ status: 'annulee' }).where('id', '=', sessionId).where('status', '=', 'planifiee').executeTakeFirst();
	if (Number(r.numUpdatedRows) !== 1) return false;
	// As when an item is removed: the questions and carried cases its agenda answered go back to
	// the proposals, or they would be lost with the cancelled session.
	const items = db.selectFrom('rcp_item').select('id').where('session_id', '=', sessionId);
	await db.updateTable('rcp_flag').set({ handled_item_id: null }).where('handled_item_id', 'in', items).execute();
	await db.updateTable('rcp_item').set({ carried_to: null }).where('carried_to', 'in', items).execute();
	await audit(db, ctx, { action: 'rcp.session_cancelled', targetType: 'rcp_session', targetId: sessionId, microstructureId: ms.id, networkId: ms.networkId });
	return true;
}

/**
 * People of the network's other microstructures who could be invited as guests (a psychiatrist,
 * an Asalée nurse…): they would not otherwise see this microstructure's patients.
 */
export async function guestCandidates(db: Db, session: RcpSession, networkId: string) {
	const team = await db
		.selectFrom('membership as m')
		.select('m.user_id')
		.where((eb) => eb.or([eb('m.microstructure_id', '=', session.microstructure_id), eb('m.network_id', '=', networkId)]))
		.where(activeMembership)
		.execute();
	const excluded = new Set(team.map((t) => t.user_id));
	const rows = await db
		.selectFrom('membership as m')
		.innerJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.distinct()
		.where('ms.network_id', '=', networkId)
		.where('m.role', '=', 'soignant')
		.where(activeMembership)
		.orderBy('u.last_name')
		.execute();
	return rows.filter((r) => !excluded.has(r.id));
}

/** Invites a guest to some cases of a session: they will see those cases and nothing else. */
export async function inviteGuest(db: Db, ctx: Ctx, ms: MicrostructureRef, session: RcpSession, userId: string, itemIds: string[]): Promise<boolean> {
	const candidates = new Set((await guestCandidates(db, session, ms.networkId)).map((c) => c.id));
	if (!candidates.has(userId)) return false;
	const items = await db.selectFrom('rcp_item').select('id').where('session_id', '=', session.id).where('id', 'in', itemIds.length ? itemIds : ['00000000-0000-0000-0000-000000000000']).execute();
	if (items.length === 0 || items.length !== itemIds.length) return false;
	const ids = items.map((i) => i.id);
	await db
		.insertInto('rcp_participant')
		.values({ session_id: session.id, user_id: userId, kind: 'invite', item_ids: ids })
		.onConflict((oc) => oc.columns(['session_id', 'user_id']).doUpdateSet({ item_ids: ids }).where('rcp_participant.kind', '=', 'invite'))
		.execute();
	await audit(db, ctx, { action: 'rcp.guest_invited', targetType: 'rcp_session', targetId: session.id, microstructureId: ms.id, networkId: ms.networkId, details: { userId, items: ids.length } });
	return true;
}

// ---------------------------------------------------------------- agenda

/** Patients of the session's microstructure (and programme) with what the agenda rules read. */
async function agendaPatients(db: Db, session: RcpSession) {
	let query = db
		.selectFrom('patient as p')
		.select([
			'p.id',
			'p.state',
			'p.included_on',
			'p.renewal_due_on',
			'p.first_contact_on',
			sql<string | null>`(select max(rp.on_date) from rcp_passage rp where rp.patient_id = p.id)`.as('last_passage_on'),
			noShowOn('p.id').as('no_show_on')
		])
		.where('p.microstructure_id', '=', session.microstructure_id)
		.where('p.state', 'in', ['inclus', 'en_suivi']);
	if (session.programme) query = query.where('p.programme', '=', session.programme);
	return query.execute();
}

/** Everything that should be discussed at this session and is not on its agenda yet. */
export async function proposals(db: Db, session: RcpSession): Promise<Proposal[]> {
	const [patients, flags, carried, onAgenda] = await Promise.all([
		agendaPatients(db, session),
		db
			.selectFrom('rcp_flag as f')
			.innerJoin('patient as p', 'p.id', 'f.patient_id')
			.select(['f.patient_id', 'f.question', 'f.flagged_at'])
			.where('p.microstructure_id', '=', session.microstructure_id)
			.where('f.handled_item_id', 'is', null)
			.execute(),
		// Cases of earlier sessions not reached, or to be seen again, and not yet carried anywhere.
		db
			.selectFrom('rcp_item as i')
			.innerJoin('rcp_session as s', 's.id', 'i.session_id')
			.select(['i.patient_id', 'i.decision', 's.starts_at'])
			.where('s.microstructure_id', '=', session.microstructure_id)
			.where('s.status', '=', 'cloturee')
			.where('s.starts_at', '<', session.starts_at)
			.where('i.kind', '=', 'cas')
			.where('i.carried_to', 'is', null)
			.where((eb) => eb.or([eb('i.decision', 'is', null), eb('i.decision', '=', 'a_revoir')]))
			.execute(),
		db.selectFrom('rcp_item').select('patient_id').where('session_id', '=', session.id).where('patient_id', 'is not', null).execute()
	]);
	const sessionDate = parisWallClock(session.starts_at).date;
	const taken = new Set(onAgenda.map((i) => i.patient_id));
	return proposeAgenda(
		patients,
		flags.map((f) => ({ patientId: f.patient_id, question: f.question, date: parisWallClock(f.flagged_at).date })),
		latestCarried(carried, patients),
		sessionDate
	).filter((p) => !taken.has(p.patientId));
}

/**
 * One carry-over per patient, from their latest session, and none when a later session has
 * already discussed them.
 */
function latestCarried(rows: { patient_id: string | null; decision: string | null; starts_at: Date }[], patients: { id: string; last_passage_on: string | null }[]): Carried[] {
	const lastPassage = new Map(patients.map((p) => [p.id, p.last_passage_on]));
	const latest = new Map<string, Carried>();
	for (const row of rows) {
		const date = parisWallClock(row.starts_at).date;
		const passage = lastPassage.get(row.patient_id!);
		if (passage && passage > date) continue;
		const previous = latest.get(row.patient_id!);
		if (!previous || previous.date < date) latest.set(row.patient_id!, { patientId: row.patient_id!, code: row.decision === 'a_revoir' ? 'a_revoir' : 'carried_over', date });
	}
	return [...latest.values()];
}

async function nextPosition(db: Db, sessionId: string): Promise<number> {
	const r = await db.selectFrom('rcp_item').select((eb) => eb.fn.max('position').as('p')).where('session_id', '=', sessionId).executeTakeFirst();
	return Number(r?.p ?? 0) + 1;
}

/** Adds a case with its reasons; marks the flags and carried items it answers. */
export async function addCase(db: Db, session: RcpSession, patientId: string, reasons: RcpReason[], by: string): Promise<string | null> {
	const patient = await db
		.selectFrom('patient')
		.select(['id', 'programme'])
		.where('id', '=', patientId)
		.where('microstructure_id', '=', session.microstructure_id)
		.where('state', 'in', ['inclus', 'en_suivi', 'oriente'])
		.executeTakeFirst();
	// Confidentiality: only patients of the session's microstructure and programme.
	if (!patient || (session.programme && patient.programme !== session.programme)) return null;
	return inTransaction(db, async (trx) => {
		const item = await trx
			.insertInto('rcp_item')
			.values({ session_id: session.id, kind: 'cas', patient_id: patientId, reasons: JSON.stringify(reasons), position: await nextPosition(trx, session.id), added_by: by })
			.onConflict((oc) => oc.columns(['session_id', 'patient_id']).doNothing())
			.returning('id')
			.executeTakeFirst();
		if (!item) return null;
		await trx.updateTable('rcp_flag').set({ handled_item_id: item.id }).where('patient_id', '=', patientId).where('handled_item_id', 'is', null).execute();
		await trx
			.updateTable('rcp_item as i')
			.set({ carried_to: item.id })
			.where('i.patient_id', '=', patientId)
			.where('i.carried_to', 'is', null)
			.where('i.id', '!=', item.id)
			.where((eb) => eb.or([eb('i.decision', 'is', null), eb('i.decision', '=', 'a_revoir')]))
			.where('i.session_id', 'in', (eb) => eb.selectFrom('rcp_session').select('id').where('status', '=', 'cloturee').where('microstructure_id', '=', session.microstructure_id))
			.execute();
		return item.id;
	});
}

export async function addOrganisationPoint(db: Db, session: RcpSession, kind: Exclude<RcpSectionKind, 'cas'>, title: string, by: string): Promise<string> {
	const row = await db
		.insertInto('rcp_item')
		.values({ session_id: session.id, kind, title, position: await nextPosition(db, session.id), reasons: JSON.stringify([{ code: 'manual' }]), added_by: by })
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

/**
 * The first time a session is prepared, its agenda is filled: the most urgent cases up to what the
 * target duration allows, then one point per organisational section of the template.
 */
export async function buildAgenda(db: Db, session: RcpSession, by: string): Promise<boolean> {
	const claimed = await db
		.updateTable('rcp_session')
		.set({ agenda_built_at: new Date() })
		.where('id', '=', session.id)
		.where('agenda_built_at', 'is', null)
		.where('status', '=', 'planifiee')
		.executeTakeFirst();
	if (Number(claimed.numUpdatedRows) !== 1) return false;
	const proposed = await proposals(db, session);
	for (const p of proposed.slice(0, caseCapacity(session.template))) await addCase(db, session, p.patientId, p.reasons, by);
	for (const section of session.template.sections) {
		if (section.kind !== 'cas') await addOrganisationPoint(db, session, section.kind, section.title, by);
	}
	return true;
}

export async function removeItem(db: Db, session: RcpSession, itemId: string): Promise<boolean> {
	if (!isUuid(itemId)) return false;
	return db.transaction().execute(async (trx) => {
		const item = await trx.selectFrom('rcp_item').select(['id', 'decision']).where('id', '=', itemId).where('session_id', '=', session.id).executeTakeFirst();
		if (!item || item.decision) return false;
		// What this item answered goes back to the proposals.
		await trx.updateTable('rcp_flag').set({ handled_item_id: null }).where('handled_item_id', '=', itemId).execute();
		await trx.updateTable('rcp_item').set({ carried_to: null }).where('carried_to', '=', itemId).execute();
		await trx.updateTable('rcp_session').set({ pointer_item_id: null }).where('pointer_item_id', '=', itemId).execute();
		await trx.deleteFrom('rcp_prep_note').where('item_id', '=', itemId).execute();
		await trx.deleteFrom('rcp_item').where('id', '=', itemId).execute();
		return true;
	});
}

/** Moves an item one place up or down, swapping positions with its neighbour. */
export async function moveItem(db: Db, session: RcpSession, itemId: string, direction: 'up' | 'down'): Promise<boolean> {
	if (!isUuid(itemId)) return false;
	return db.transaction().execute(async (trx) => {
		const items = await trx.selectFrom('rcp_item').select(['id', 'position']).where('session_id', '=', session.id).orderBy('position').forUpdate().execute();
		const i = items.findIndex((x) => x.id === itemId);
		const j = direction === 'up' ? i - 1 : i + 1;
		if (i < 0 || j < 0 || j >= items.length) return false;
		await trx.updateTable('rcp_item').set({ position: items[j].position }).where('id', '=', items[i].id).execute();
		await trx.updateTable('rcp_item').set({ position: items[i].position }).where('id', '=', items[j].id).execute();
		return true;
	});
}

export async function savePrepNote(db: Db, itemId: string, author: { id: string; profession: string }, body: string): Promise<void> {
	if (body.trim() === '') {
		await db.deleteFrom('rcp_prep_note').where('item_id', '=', itemId).where('author_id', '=', author.id).execute();
		return;
	}
	await db
		.insertInto('rcp_prep_note')
		.values({ item_id: itemId, author_id: author.id, profession: author.profession, body })
		.onConflict((oc) => oc.columns(['item_id', 'author_id']).doUpdateSet({ body, profession: author.profession, updated_at: new Date() }))
		.execute();
}

/** A member's question about a patient, for the next RCP of its microstructure. */
export async function flagPatient(db: Db, ctx: Ctx, ms: MicrostructureRef, patientId: string, question: string): Promise<void> {
	// Already on an upcoming agenda: the question goes onto that line rather than waiting for the next one.
	const upcoming = await db
		.selectFrom('rcp_item as i')
		.innerJoin('rcp_session as s', 's.id', 'i.session_id')
		.select(['i.id', 'i.reasons'])
		.where('i.patient_id', '=', patientId)
		.where('s.status', 'in', ['planifiee', 'en_cours'])
		.orderBy('s.starts_at')
		.executeTakeFirst();
	await db.insertInto('rcp_flag').values({ patient_id: patientId, question, flagged_by: ctx.actorId, handled_item_id: upcoming?.id ?? null }).execute();
	if (upcoming) {
		const reasons = [...upcoming.reasons, { code: 'flagged' as const, date: parisToday(), question }];
		await db.updateTable('rcp_item').set({ reasons: JSON.stringify(reasons) }).where('id', '=', upcoming.id).execute();
	}
	await audit(db, ctx, { action: 'rcp.patient_flagged', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId });
}

export function openFlags(db: Db, patientId: string) {
	return db
		.selectFrom('rcp_flag as f')
		.innerJoin('app_user as u', 'u.id', 'f.flagged_by')
		.select(['f.id', 'f.question', 'f.flagged_at', 'u.first_name', 'u.last_name'])
		.where('f.patient_id', '=', patientId)
		.where('f.handled_item_id', 'is', null)
		.orderBy('f.flagged_at')
		.execute();
}

/** A patient's RCP history: each closed session that discussed them, with decision and actions. */
export async function patientRcpHistory(db: Db, patientId: string) {
	const items = await db
		.selectFrom('rcp_item as i')
		.innerJoin('rcp_session as s', 's.id', 'i.session_id')
		.select(['i.id', 'i.decision', 'i.decision_details', 'i.pps_version', 's.id as session_id', 's.title', 's.starts_at', 's.microstructure_id'])
		.where('i.patient_id', '=', patientId)
		.where('s.status', '=', 'cloturee')
		.orderBy('s.starts_at', 'desc')
		.limit(20)
		.execute();
	const actions = items.length
		? await db
				.selectFrom('rcp_action as a')
				.innerJoin('app_user as u', 'u.id', 'a.owner_id')
				.select(['a.item_id', 'a.what', 'a.due_on', 'a.done_at', 'u.first_name', 'u.last_name'])
				.where('a.item_id', 'in', items.map((i) => i.id))
				.execute()
		: [];
	return items.map((i) => ({ ...i, actions: actions.filter((a) => a.item_id === i.id) }));
}
