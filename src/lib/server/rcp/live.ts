// The live session: its shared state (agenda with decisions, attendance), the "now discussing"
// pointer with per-case time, one-click decisions applied through the patient lifecycle, and
// closing (minutes, passages, validated PPS versions, carry-over, notifications).
import * as Y from 'yjs';
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { MicrostructureRef, RcpSessionRef } from '../access/policy.ts';
import type { Attendance, RcpItem, RcpReason, RcpSession } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import { applyPathwayAction, patientLabel, recordEvent } from '../patients/patients.ts';
import { parisToday } from '../patients/lifecycle.ts';
import { ppsDocName, validateVersion } from '../pps/pps.ts';
import { project, projectionProblems } from '../../pps/model.ts';
import { notifyPatientChanged, nudgeUsers, reauthorizeDocument, withLiveDoc } from '../live.ts';
import { notify } from '../notifications/notifications.ts';
import { planDecision, type DecisionInput } from './decisions.ts';
import { addCase } from './sessions.ts';
import { parisWallClock } from './schedule.ts';
import { attendanceFromPresence, PRESENCE_GAP_SECONDS } from '../../rcp/attendance.ts';
import { consultationsFor, type Consultations } from '../booking/budget.ts';

type Ctx = AuditContext & { actorId: string };

export const notesDocName = (itemId: string) => `rcp-notes:${itemId}`;

export interface LiveItem {
	id: string;
	kind: RcpItem['kind'];
	title: string;
	patientId: string | null;
	patientCode: string | null;
	reasons: RcpReason[];
	discussedSeconds: number;
	decision: RcpItem['decision'];
	decisionDetails: Record<string, unknown>;
	decidedBy: string | null;
	ppsVersion: number | null;
	/** The case notes kept in the minutes (after closing). */
	minutesNotes: string | null;
	actions: { what: string; ownerId: string; owner: string; dueOn: string | null }[];
	prepNotes: { authorId: string; author: string; profession: string; body: string }[];
	/** For a case: honoured consultations per profession this inclusion year, against the package. */
	consultations: Consultations[];
}

export interface LiveParticipant {
	userId: string;
	name: string;
	profession: string;
	kind: 'membre' | 'invite';
	/** For a guest: the items they are invited to. */
	itemIds: string[];
	rsvp: string | null;
	attendance: Attendance | null;
	/** The attendance was corrected by someone (not derived from presence). */
	manual: boolean;
	/** Seconds connected as a participant so far (cumulated), and there when a decision was taken. */
	presentSeconds: number;
	atDecision: boolean;
}

export interface LiveState {
	id: string;
	status: RcpSession['status'];
	animatorId: string | null;
	pointer: { itemId: string | null; since: string | null };
	startedAt: string | null;
	/** The server's clock when the state was read: browsers time cases against it, not their own. */
	serverNow: string;
	items: LiveItem[];
	participants: LiveParticipant[];
}

const name = (u: { first_name: string | null; last_name: string | null }) => `${u.first_name ?? ''} ${u.last_name ?? ''}`.trim();

/** The whole shared state of a session, as every participant's page shows it. */
export async function liveState(db: Db, sessionId: string): Promise<LiveState | null> {
	const session = await db.selectFrom('rcp_session').selectAll().where('id', '=', sessionId).executeTakeFirst();
	if (!session) return null;
	const [items, actions, notes, participants, consultations] = await Promise.all([
		db
			.selectFrom('rcp_item as i')
			.leftJoin('patient as p', 'p.id', 'i.patient_id')
			.leftJoin('app_user as d', 'd.id', 'i.decided_by')
			.select(['i.id', 'i.kind', 'i.title', 'i.patient_id', 'i.reasons', 'i.discussed_seconds', 'i.decision', 'i.decision_details', 'i.pps_version', 'i.minutes_notes', 'p.code', 'p.last_name', 'p.first_name', 'p.anonymised_at', 'd.first_name as d_first', 'd.last_name as d_last'])
			.where('i.session_id', '=', sessionId)
			.orderBy('i.position')
			.execute(),
		db
			.selectFrom('rcp_action as a')
			.innerJoin('rcp_item as i', 'i.id', 'a.item_id')
			.innerJoin('app_user as u', 'u.id', 'a.owner_id')
			.select(['a.item_id', 'a.what', 'a.owner_id', 'a.due_on', 'u.first_name', 'u.last_name'])
			.where('i.session_id', '=', sessionId)
			.orderBy('a.created_at')
			.execute(),
		db
			.selectFrom('rcp_prep_note as n')
			.innerJoin('rcp_item as i', 'i.id', 'n.item_id')
			.innerJoin('app_user as u', 'u.id', 'n.author_id')
			.select(['n.item_id', 'n.author_id', 'n.profession', 'n.body', 'u.first_name', 'u.last_name'])
			.where('i.session_id', '=', sessionId)
			.orderBy('n.profession')
			.execute(),
		db
			.selectFrom('rcp_participant as p')
			.innerJoin('app_user as u', 'u.id', 'p.user_id')
			.select(['p.user_id', 'p.kind', 'p.item_ids', 'p.rsvp', 'p.attendance', 'p.attendance_set_by', 'p.present_seconds', 'p.at_decision', 'u.first_name', 'u.last_name', 'u.profession'])
			.where('p.session_id', '=', sessionId)
			.orderBy('u.last_name')
			.execute(),
		db
			.selectFrom('rcp_item')
			.select('patient_id')
			.where('session_id', '=', sessionId)
			.where('patient_id', 'is not', null)
			.execute()
			.then((rows) => consultationsFor(db, rows.map((r) => r.patient_id!)))
	]);
	return {
		id: session.id,
		status: session.status,
		animatorId: session.animator_id,
		pointer: { itemId: session.pointer_item_id, since: session.pointer_since?.toISOString() ?? null },
		startedAt: session.started_at?.toISOString() ?? null,
		serverNow: new Date().toISOString(),
		items: items.map((i) => ({
			id: i.id,
			kind: i.kind,
			title: i.patient_id ? patientLabel({ code: i.code!, last_name: i.last_name, first_name: i.first_name, anonymised_at: i.anonymised_at }) : (i.title ?? ''),
			patientId: i.patient_id,
			patientCode: i.code,
			reasons: i.reasons,
			discussedSeconds: i.discussed_seconds,
			decision: i.decision,
			decisionDetails: i.decision_details,
			decidedBy: i.decision ? name({ first_name: i.d_first, last_name: i.d_last }) : null,
			ppsVersion: i.pps_version,
			minutesNotes: i.minutes_notes,
			actions: actions.filter((a) => a.item_id === i.id).map((a) => ({ what: a.what, ownerId: a.owner_id, owner: name(a), dueOn: a.due_on })),
			prepNotes: notes.filter((n) => n.item_id === i.id).map((n) => ({ authorId: n.author_id, author: name(n), profession: n.profession, body: n.body })),
			consultations: (i.patient_id && consultations.get(i.patient_id)) || []
		})),
		participants: participants.map((p) => ({
			userId: p.user_id,
			name: name(p),
			profession: p.profession,
			kind: p.kind,
			itemIds: p.item_ids,
			rsvp: p.rsvp,
			attendance: p.attendance,
			manual: p.attendance_set_by !== null,
			presentSeconds: Math.floor(p.present_seconds),
			atDecision: p.at_decision
		}))
	};
}

/** A guest sees only the items they are invited to (and the pointer only when it is on one). */
export function stateForGuest(state: LiveState, itemIds: string[]): LiveState {
	const visible = new Set(itemIds);
	return {
		...state,
		items: state.items.filter((i) => visible.has(i.id)),
		pointer: state.pointer.itemId && visible.has(state.pointer.itemId) ? state.pointer : { itemId: null, since: null }
	};
}

export function stateFor(state: LiveState, ref: RcpSessionRef, team: boolean): LiveState {
	return team ? state : stateForGuest(state, ref.guestItems ?? []);
}

export async function startSession(db: Db, ctx: Ctx, ms: MicrostructureRef, sessionId: string): Promise<boolean> {
	const first = await db.selectFrom('rcp_item').select('id').where('session_id', '=', sessionId).orderBy('position').executeTakeFirst();
	const r = await db
		.updateTable('rcp_session')
		.set({ status: 'en_cours', started_at: new Date(), animator_id: ctx.actorId, pointer_item_id: first?.id ?? null, pointer_since: first ? new Date() : null })
		.where('id', '=', sessionId)
		.where('status', '=', 'planifiee')
		.executeTakeFirst();
	if (Number(r.numUpdatedRows) !== 1) return false;
	await audit(db, ctx, { action: 'rcp.started', targetType: 'rcp_session', targetId: sessionId, microstructureId: ms.id, networkId: ms.networkId });
	return true;
}

export async function takeAnimation(db: Db, sessionId: string, userId: string): Promise<boolean> {
	const r = await db.updateTable('rcp_session').set({ animator_id: userId }).where('id', '=', sessionId).where('status', '=', 'en_cours').executeTakeFirst();
	return Number(r.numUpdatedRows) === 1;
}

/**
 * Moves the "now discussing" pointer (animator only). The time spent on the item being left is
 * added to its counter, so each case's discussion time survives reloads and moves back and forth.
 * Returns the session's guests with their invited items too: each may be told only of those.
 *
 * One statement: the animator moves it every few seconds in every live RCP, and a transaction of
 * checks and updates cost seven round trips each time. The session row is locked first (`for
 * update`), so two moves at once queue: the second sees the first's pointer and credits its item.
 */
export async function movePointer(
	db: Db,
	sessionId: string,
	userId: string,
	itemId: string
): Promise<{ ok: true; since: string; discussed: { id: string; seconds: number }[]; guests: { userId: string; itemIds: string[] }[] } | { ok: false; error: string }> {
	if (!isUuid(itemId)) return { ok: false, error: 'Point introuvable.' };
	// This process's clock, as for starting and closing the session, which count from the same times.
	const now = new Date();
	const { rows } = await sql<{
		status: string;
		animator_id: string | null;
		item: string | null;
		since: Date | null;
		discussed: { id: string; seconds: number }[] | null;
		guests: { userId: string; itemIds: string[] }[] | null;
	}>`
		with s as (
			select id, status, animator_id, pointer_item_id, pointer_since from rcp_session where id = ${sessionId}::uuid for update
		), target as (
			select rcp_item.id from rcp_item join s on s.id = rcp_item.session_id where rcp_item.id = ${itemId}::uuid
		), allowed as (
			select s.* from s where s.status = 'en_cours' and s.animator_id = ${userId}::uuid and exists (select 1 from target)
		), prev as (
			update rcp_item set discussed_seconds = rcp_item.discussed_seconds + greatest(0, round(extract(epoch from ${now}::timestamptz - allowed.pointer_since)))::int
			from allowed
			where rcp_item.id = allowed.pointer_item_id and allowed.pointer_since is not null and allowed.pointer_item_id <> ${itemId}::uuid
			returning rcp_item.id, rcp_item.discussed_seconds as seconds
		), moved as (
			update rcp_session set
				pointer_item_id = ${itemId}::uuid,
				pointer_since = case when allowed.pointer_item_id = ${itemId}::uuid and allowed.pointer_since is not null then allowed.pointer_since else ${now}::timestamptz end
			from allowed where rcp_session.id = allowed.id
			returning rcp_session.pointer_since
		)
		select s.status, s.animator_id, (select id from target) as item, (select pointer_since from moved) as since,
			(select json_agg(json_build_object('id', prev.id, 'seconds', prev.seconds)) from prev) as discussed,
			(select json_agg(json_build_object('userId', g.user_id, 'itemIds', g.item_ids)) from rcp_participant g where g.session_id = s.id and g.kind = 'invite') as guests
		from s`.execute(db);
	const r = rows[0];
	if (!r || r.status !== 'en_cours') return { ok: false, error: "La RCP n'est pas en cours." };
	if (r.animator_id !== userId) return { ok: false, error: "Seul l'animateur ou l'animatrice déplace le point en cours." };
	if (!r.item || !r.since) return { ok: false, error: 'Point introuvable.' };
	return { ok: true, since: new Date(r.since).toISOString(), discussed: r.discussed ?? [], guests: r.guests ?? [] };
}

// ---------------------------------------------------------------- presence and attendance
//
// Time is accounted in the database, not in a process's memory: it survives a restart and adds up
// when a person's connections are served by several processes. Each open participant connection
// is "seen" when it joins and every PRESENCE_HEARTBEAT_SECONDS; a sighting adds the time since the
// previous one (whichever process recorded it), unless that is older than PRESENCE_GAP_SECONDS —
// the person was away. Leaving adds the last stretch and, when no participant connection of theirs
// remains, marks them gone. The attendance derived from this (src/lib/rcp/attendance.ts) is written
// on the sheet as it changes, unless someone corrected it.

/** The time since the person's last sighting, when it is recent enough to have been presence. */
const credit = sql<number>`(case when rcp_participant.seen_at > now() - ${sql.lit(PRESENCE_GAP_SECONDS)} * interval '1 second' then greatest(0, extract(epoch from now() - rcp_participant.seen_at)) else 0 end)::float8`;

/**
 * A participant connection of this person is in the live session (joining, still there, or the
 * session starting while they are in it): their time adds up. Nothing happens unless the session
 * is live. Returns true when their attendance on the sheet changed.
 */
export async function markPresent(db: Db, sessionId: string, userId: string, place: 'present' | 'distance'): Promise<boolean> {
	const { rows } = await sql<{ user_id: string }>`
		insert into rcp_participant (session_id, user_id, seen_at, seen_place)
		select id, ${userId}::uuid, now(), ${place} from rcp_session where id = ${sessionId}::uuid and status = 'en_cours'
		on conflict (session_id, user_id) do update set
			present_seconds = rcp_participant.present_seconds + ${credit},
			seen_at = greatest(now(), rcp_participant.seen_at),
			seen_place = excluded.seen_place
		returning user_id`.execute(db);
	return rows.length > 0 && (await refreshAttendance(db, sessionId, [userId]));
}

/**
 * One of this person's participant connections left the session (closed, or turned observer).
 * `stillThere`: another participant connection of theirs is still open.
 */
export async function markLeft(db: Db, sessionId: string, userId: string, stillThere: boolean): Promise<boolean> {
	const { rows } = await sql<{ user_id: string }>`
		update rcp_participant set
			present_seconds = present_seconds + ${credit},
			seen_at = ${stillThere ? sql`greatest(now(), seen_at)` : sql`null`}
		where session_id = ${sessionId}::uuid and user_id = ${userId}::uuid and seen_at is not null
		returning user_id`.execute(db);
	return rows.length > 0 && (await refreshAttendance(db, sessionId, [userId]));
}

/**
 * Whoever opens the live session, observer or guest, coordinator or not, is on the attendance sheet
 * (to be corrected there): presence alone will not make them present, but nobody is left off.
 */
export async function markJoined(db: Db, sessionId: string, userId: string): Promise<boolean> {
	const r = await db
		.insertInto('rcp_participant')
		.columns(['session_id', 'user_id'])
		.expression((eb) => eb.selectFrom('rcp_session').select(['id', sql<string>`${userId}::uuid`.as('user_id')]).where('id', '=', sessionId).where('status', '=', 'en_cours'))
		.onConflict((oc) => oc.columns(['session_id', 'user_id']).doNothing())
		.executeTakeFirst();
	return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/**
 * Writes on the sheet what presence says (attendanceFromPresence) for those nobody corrected, while
 * the session is live. Returns true when a line changed.
 */
export async function refreshAttendance(db: Db, sessionId: string, userIds?: string[]): Promise<boolean> {
	if (userIds?.length === 0) return false;
	const rows = await db
		.selectFrom('rcp_participant')
		.select(['user_id', 'attendance', 'present_seconds', 'at_decision', 'seen_place'])
		.where('session_id', '=', sessionId)
		.where('attendance_set_by', 'is', null)
		.$if(userIds !== undefined, (q) => q.where('user_id', 'in', userIds!))
		.execute();
	let changed = false;
	for (const row of rows) {
		const derived = attendanceFromPresence({ seconds: row.present_seconds, atDecision: row.at_decision, place: row.seen_place });
		if (derived === row.attendance) continue;
		const r = await db
			.updateTable('rcp_participant')
			.set({ attendance: derived })
			.where('session_id', '=', sessionId)
			.where('user_id', '=', row.user_id)
			// A correction made meanwhile wins; a closed session's sheet is final.
			.where('attendance_set_by', 'is', null)
			.where(({ exists, selectFrom }) => exists(selectFrom('rcp_session').select('id').where('id', '=', sessionId).where('status', '=', 'en_cours')))
			.executeTakeFirst();
		if (Number(r.numUpdatedRows) > 0) changed = true;
	}
	return changed;
}

export async function setAttendance(db: Db, sessionId: string, userId: string, attendance: Attendance, by: string): Promise<boolean> {
	const r = await db
		.updateTable('rcp_participant')
		.set({ attendance, attendance_set_by: by })
		.where('session_id', '=', sessionId)
		.where('user_id', '=', userId)
		.where(({ exists, selectFrom }) => exists(selectFrom('rcp_session').select('id').where('id', '=', sessionId).where('status', '=', 'en_cours')))
		.executeTakeFirst();
	return Number(r.numUpdatedRows) === 1;
}

/** People who may own an action decided for this microstructure: its clinicians and coordinators. */
export function actionOwners(db: Db, ms: MicrostructureRef) {
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.distinct()
		.where((eb) => eb.or([eb.and([eb('m.microstructure_id', '=', ms.id), eb('m.role', 'in', ['soignant', 'coordination'])]), eb.and([eb('m.network_id', '=', ms.networkId), eb('m.role', 'in', ['coordination_medicale', 'coordination_administrative'])])]))
		.where(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`)
		.orderBy('u.last_name')
		.execute();
}

/** Aborts a transaction with a French message for the user (everything it wrote is rolled back). */
class Refusal extends Error {}

/** What a decision changes in the live state, sent to the room without re-reading the session. */
export type DecisionChange = Pick<LiveItem, 'id' | 'decision' | 'decisionDetails' | 'decidedBy' | 'actions'>;

/**
 * Records (or replaces) the decision on a case and applies its effect on the patient's pathway.
 * `by` is the decider's name, for the change sent to the room.
 */
export async function recordDecision(
	db: Db,
	ctx: Ctx,
	ms: MicrostructureRef,
	sessionId: string,
	itemId: string,
	input: DecisionInput,
	by = ''
): Promise<{ ok: true; change: DecisionChange; attendanceChanged: boolean } | { ok: false; error: string }> {
	if (!isUuid(itemId)) return { ok: false, error: 'Point introuvable.' };
	const item = await db
		.selectFrom('rcp_item as i')
		.innerJoin('rcp_session as s', 's.id', 'i.session_id')
		.select(['i.id', 'i.kind', 'i.patient_id', 'i.decision', 'i.decision_details', 's.status'])
		.where('i.id', '=', itemId)
		.where('i.session_id', '=', sessionId)
		.executeTakeFirst();
	if (!item || item.kind !== 'cas' || !item.patient_id) return { ok: false, error: 'Point introuvable.' };
	if (item.status !== 'en_cours') return { ok: false, error: 'Les décisions se prennent pendant la RCP en cours.' };
	const alreadyFinal = { ok: false as const, error: 'Cette décision a déjà modifié le parcours du patient : elle ne peut plus être remplacée.' };
	if (item.decision_details.final) return alreadyFinal;
	const today = parisToday();
	const planned = planDecision(input, today);
	if (!planned.ok) return planned;
	const { plan } = planned;
	const owners = input.actions.length ? new Map((await actionOwners(db, ms)).map((o) => [o.id, name(o)])) : new Map<string, string>();
	if (input.actions.some((a) => !owners.has(a.ownerId))) return { ok: false, error: "Le responsable d'une action doit faire partie de l'équipe." };
	const details = { ...plan.details, final: plan.final, validatePps: plan.validatePps, carryOver: plan.carryOver };
	// The decision and its effect on the pathway (renewal, exit) are one change: both or neither.
	const outcome = await db
		.transaction()
		.execute(async (trx) => {
			// Closing locks the session for update: a decision either lands before it (and is in the
			// minutes) or finds the session closed.
			const session = await trx.selectFrom('rcp_session').select('status').where('id', '=', sessionId).forShare().executeTakeFirst();
			if (session?.status !== 'en_cours') throw new Refusal('Les décisions se prennent pendant la RCP en cours.');
			// Re-checked under the row lock: two people clicking at once cannot both replace a final decision.
			const updated = await trx
				.updateTable('rcp_item')
				.set({ decision: input.kind, decision_details: JSON.stringify(details), decided_by: ctx.actorId, decided_at: new Date() })
				.where('id', '=', itemId)
				.where(sql<boolean>`coalesce((decision_details->>'final')::boolean, false) = false`)
				.executeTakeFirst();
			if (Number(updated.numUpdatedRows) !== 1) throw new Refusal(alreadyFinal.error);
			if (plan.pathway) {
				const patient = await trx.selectFrom('patient').selectAll().where('id', '=', item.patient_id!).executeTakeFirstOrThrow();
				const applied = await applyPathwayAction(trx, ctx, ms, patient, plan.pathway, today);
				if (!applied.ok) throw new Refusal(applied.error);
			}
			await trx.deleteFrom('rcp_action').where('item_id', '=', itemId).execute();
			if (input.actions.length) {
				await trx
					.insertInto('rcp_action')
					.values(input.actions.map((a) => ({ item_id: itemId, patient_id: item.patient_id!, what: a.what, owner_id: a.ownerId, due_on: a.dueOn ?? null, created_by: ctx.actorId })))
					.execute();
			}
			await audit(trx, ctx, { action: 'rcp.decision', targetType: 'patient', targetId: item.patient_id!, microstructureId: ms.id, networkId: ms.networkId, details: { sessionId, decision: input.kind, actions: input.actions.length } });
			// Those taking part at this moment attended (a connection seen within the gap is open).
			const witnesses = await trx
				.updateTable('rcp_participant')
				.set({ at_decision: true })
				.where('session_id', '=', sessionId)
				.where('at_decision', '=', false)
				.where(sql<boolean>`seen_at > now() - ${sql.lit(PRESENCE_GAP_SECONDS)} * interval '1 second'`)
				.returning('user_id')
				.execute();
			return { ok: true as const, witnesses: witnesses.map((w) => w.user_id) };
		})
		.catch((error: unknown) => {
			if (error instanceof Refusal) return { ok: false as const, error: error.message };
			throw error;
		});
	if (!outcome.ok) return outcome;
	if (plan.pathway) {
		notifyPatientChanged(item.patient_id, ctx.actorId);
		// A patient who leaves keeps a read-only plan: open editors become readers at once (as from the record page).
		await reauthorizeDocument(ppsDocName(item.patient_id));
	}
	const attendanceChanged = await refreshAttendance(db, sessionId, outcome.witnesses);
	return {
		ok: true,
		attendanceChanged,
		change: {
			id: itemId,
			decision: input.kind,
			decisionDetails: details,
			decidedBy: by || null,
			actions: input.actions.map((a) => ({ what: a.what, ownerId: a.ownerId, owner: owners.get(a.ownerId) ?? '', dueOn: a.dueOn ?? null }))
		}
	};
}

/** Was the PPS edited since its last validated version? (Compares Yjs state vectors.) */
async function ppsChangedSinceLastVersion(db: Db, patientId: string, doc: Y.Doc): Promise<boolean> {
	const last = await db.selectFrom('pps_version').select('snapshot').where('patient_id', '=', patientId).orderBy('number', 'desc').limit(1).executeTakeFirst();
	const current = Y.encodeStateVector(doc);
	if (!last) return doc.store.clients.size > 0;
	return Buffer.compare(Buffer.from(current), Buffer.from(Y.encodeStateVectorFromUpdate(last.snapshot))) !== 0;
}

/**
 * "Clôturer la RCP": locks the session, fixes attendance, keeps each case's notes in the minutes,
 * validates the PPS changed during the session, records the passages, carries unreached cases over
 * and tells the care teams — all in one transaction, so that a failure leaves the session live and
 * closable again rather than closed without its passages. Returns false when the session was not
 * live (already closed).
 */
export async function closeSession(db: Db, ctx: Ctx, ms: MicrostructureRef, sessionId: string): Promise<boolean> {
	// A decision recorded between reading the live documents and locking the session means reading
	// them again; a live session settles quickly, hence the bound.
	for (let attempt = 0; attempt < 3; attempt++) {
		const items = await db.selectFrom('rcp_item').selectAll().where('session_id', '=', sessionId).orderBy('position').execute();
		// The live documents are read first: storing their last edits needs the database, which the
		// transaction below must not be holding meanwhile (the embedded database has one connection).
		const live = await readLiveDocuments(items);
		try {
			const outcome = await db.transaction().execute((trx) => closeLocked(trx, ctx, ms, sessionId, items, live));
			if (outcome === 'changed') continue;
			if (outcome === 'not_live') return false;
			for (const team of outcome.nudge) nudgeUsers(team);
			return true;
		} finally {
			for (const { pps } of live.values()) pps?.destroy();
		}
	}
	throw new Error(`rcp: session ${sessionId} kept changing while it was being closed`);
}

type LiveDocuments = Map<string, { notes: string; pps: Y.Doc | null }>;

async function readLiveDocuments(items: RcpItem[]): Promise<LiveDocuments> {
	const live: LiveDocuments = new Map();
	for (const item of items) {
		const notes = await withLiveDoc(notesDocName(item.id), (doc) => doc.getText('notes').toString());
		let pps: Y.Doc | null = null;
		if (item.patient_id && item.decision) {
			const snapshot = await withLiveDoc(ppsDocName(item.patient_id), (doc) => Y.encodeStateAsUpdate(doc));
			pps = new Y.Doc();
			Y.applyUpdate(pps, snapshot);
		}
		live.set(item.id, { notes, pps });
	}
	return live;
}

async function closeLocked(
	trx: Db,
	ctx: Ctx,
	ms: MicrostructureRef,
	sessionId: string,
	itemsRead: RcpItem[],
	live: LiveDocuments
): Promise<'not_live' | 'changed' | { nudge: string[][] }> {
	const now = new Date();
	const session = await trx.selectFrom('rcp_session').selectAll().where('id', '=', sessionId).forUpdate().executeTakeFirst();
	if (!session || session.status !== 'en_cours') return 'not_live';
	const items = await trx.selectFrom('rcp_item').selectAll().where('session_id', '=', sessionId).orderBy('position').execute();
	const same = (a: RcpItem, b: RcpItem | undefined) => b !== undefined && a.id === b.id && a.decision === b.decision && a.patient_id === b.patient_id;
	if (items.length !== itemsRead.length || items.some((item, i) => !same(item, itemsRead[i]))) return 'changed';

	if (session.pointer_item_id && session.pointer_since) {
		const elapsed = Math.max(0, Math.round((now.getTime() - session.pointer_since.getTime()) / 1000));
		await trx.updateTable('rcp_item').set((eb) => ({ discussed_seconds: eb('discussed_seconds', '+', elapsed) })).where('id', '=', session.pointer_item_id).execute();
	}
	// The last stretch of those still connected counts, and the sheet says what presence says for
	// those nobody corrected (it was shown as it changed); then it is final.
	await sql`update rcp_participant set present_seconds = present_seconds + ${credit}, seen_at = null where session_id = ${sessionId}::uuid and seen_at is not null`.execute(trx);
	await refreshAttendance(trx, sessionId);
	await trx.updateTable('rcp_session').set({ status: 'cloturee', closed_at: now, closed_by: ctx.actorId, pointer_item_id: null, pointer_since: null }).where('id', '=', sessionId).execute();
	// Nobody said otherwise: those who declined are excused, the others absent.
	await trx.updateTable('rcp_participant').set({ attendance: 'excuse' }).where('session_id', '=', sessionId).where('attendance', 'is', null).where('rsvp', '=', 'non').execute();
	await trx.updateTable('rcp_participant').set({ attendance: 'absent' }).where('session_id', '=', sessionId).where('attendance', 'is', null).execute();

	const day = parisWallClock(session.starts_at).date;
	for (const item of items) {
		const { notes, pps } = live.get(item.id)!;
		let ppsVersion: number | null = null;
		if (item.patient_id && item.decision) {
			const changed = item.decision_details.validatePps === true || (pps !== null && (await ppsChangedSinceLastVersion(trx, item.patient_id, pps)));
			if (pps && changed && pps.store.clients.size > 0 && projectionProblems(project(pps)).length === 0) {
				ppsVersion = await validateVersion(trx, ctx, ms, item.patient_id, pps, sessionId);
			}
			await trx.insertInto('rcp_passage').values({ patient_id: item.patient_id, session_id: sessionId, on_date: day, decision: item.decision }).onConflict((oc) => oc.doNothing()).execute();
			await recordEvent(trx, item.patient_id, 'rcp', day, ctx.actorId, { sessionId, decision: item.decision, ...(ppsVersion ? { ppsVersion } : {}) });
		}
		await trx.updateTable('rcp_item').set({ minutes_notes: notes || null, pps_version: ppsVersion }).where('id', '=', item.id).execute();
	}
	await carryOver(trx, session, items, ctx.actorId);
	const nudge = await notifyCareTeams(trx, session, items);
	await audit(trx, ctx, { action: 'rcp.closed', targetType: 'rcp_session', targetId: sessionId, microstructureId: ms.id, networkId: ms.networkId, details: { cases: items.filter((i) => i.kind === 'cas').length } });
	return { nudge };
}

/** Cases not reached, or to be seen again, go onto the next session when its agenda exists. */
async function carryOver(db: Db, session: RcpSession, items: RcpItem[], by: string): Promise<void> {
	const next = await db
		.selectFrom('rcp_session')
		.selectAll()
		.where('microstructure_id', '=', session.microstructure_id)
		.where('status', '=', 'planifiee')
		.where('starts_at', '>', session.starts_at)
		.where('agenda_built_at', 'is not', null)
		.orderBy('starts_at')
		.limit(1)
		.executeTakeFirst();
	if (!next) return; // The next agenda proposes them when it is built.
	for (const item of items) {
		if (item.kind !== 'cas' || !item.patient_id || (item.decision && item.decision !== 'a_revoir')) continue;
		const reason: RcpReason = { code: item.decision ? 'a_revoir' : 'carried_over', date: parisWallClock(session.starts_at).date };
		if (await addCase(db, next, item.patient_id, [reason], by)) continue;
		// Already on the next agenda (prepared before this session closed): the case is carried
		// there, or every later agenda would propose it again as not reached.
		await db
			.updateTable('rcp_item')
			.set({ reasons: sql`${JSON.stringify([reason])}::jsonb || reasons` })
			.where('session_id', '=', next.id)
			.where('patient_id', '=', item.patient_id)
			.execute();
		await db
			.updateTable('rcp_item')
			.set((eb) => ({ carried_to: eb.selectFrom('rcp_item as n').select('n.id').where('n.session_id', '=', next.id).where('n.patient_id', '=', item.patient_id) }))
			.where('id', '=', item.id)
			.where('carried_to', 'is', null)
			.execute();
	}
}

/** Notifies each decided case's care team; returns the teams to nudge once this is committed. */
async function notifyCareTeams(db: Db, session: RcpSession, items: RcpItem[]): Promise<string[][]> {
	const cases = items.filter((i) => i.kind === 'cas' && i.patient_id && i.decision);
	if (cases.length === 0) return [];
	const [teams, patients] = await Promise.all([
		db.selectFrom('patient_team_member').select(['patient_id', 'user_id']).where('patient_id', 'in', cases.map((c) => c.patient_id!)).execute(),
		db.selectFrom('patient').select(['id', 'code']).where('id', 'in', cases.map((c) => c.patient_id!)).execute()
	]);
	const day = parisWallClock(session.starts_at).date.split('-').reverse().join('/');
	const nudge: string[][] = [];
	for (const c of cases) {
		const code = patients.find((p) => p.id === c.patient_id)?.code ?? '';
		// The code, not the name: notifications may be read over a colleague's shoulder.
		const team = teams.filter((t) => t.patient_id === c.patient_id).map((t) => t.user_id);
		await notify(db, team, { kind: 'rcp_decision', title: `RCP du ${day} : décision pour ${code}`, link: `/ms/${session.microstructure_id}/patients/${c.patient_id}#rcp` });
		nudge.push(team);
	}
	return nudge;
}
