// Permanences: a professional's recurring availability in a microstructure (weekly or fortnightly,
// Paris wall-clock times), materialised as dated occurrences so that PostgreSQL itself refuses a
// professional in two places at once (across microstructures) and a room held twice.
//
// Occurrences are generated in SQL: the calendar days come from generate_series over `timestamp`
// (no time zone, so adding weeks never drifts across a DST change) and each day's wall-clock start
// and end become instants once, with `AT TIME ZONE 'Europe/Paris'`. No rrule.js (open DST bugs).
//
// The past is never rewritten: editing a series applies from a date on (the old series ends the day
// before, its successor starts, the old future occurrences are cancelled 'serie_modifiee'), ending
// a series cancels its future occurrences ('serie_terminee'). Appointments booked in cancelled
// occurrences are not touched: they are returned to be moved, and the coordination is told.
import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/index.ts';
import { activeMembership, type MicrostructureRef } from '../access/policy.ts';
import type { OccurrenceCancelReason, Profession } from '../db/schema.ts';
import { audit, auditAll, type AuditContext } from '../audit/audit.ts';
import { notify } from '../notifications/notifications.ts';
import { isUuid } from '../org/microstructures.ts';
import { addDays, parisToday } from '../patients/lifecycle.ts';
import { parisDay } from '../../i18n/formatters.ts';
import { frenchTime, parisWallClock } from '../rcp/schedule.ts';

export type Ctx = AuditContext & { actorId: string };

/** Professions that hold permanences in microstructures. */
export const PERMANENCE_PROFESSIONS = ['psychologue', 'travailleur_social', 'psychiatre'] as const satisfies readonly Profession[];

/** How far ahead occurrences exist as rows (extended daily by the job queue). */
export const HORIZON_WEEKS = 26;
/** A series may start at most this far ahead (its conflicts are then still within generated rows). */
export const MAX_START_DAYS = 365;

export type Result<T = object> = ({ ok: true } & T) | { ok: false; error: string };

export interface PermanenceInput {
	professionalId: string;
	roomId: string | null;
	/** ISO weekday, 1 = Monday. */
	weekday: number;
	everyWeeks: 1 | 2;
	/** From this date on (the first occurrence is the first such weekday on or after it). */
	startsOn: string;
	endsOn: string | null;
	/** Paris wall clock 'HH:MM'. */
	startTime: string;
	endTime: string;
	firstMinutes: number;
	followupMinutes: number;
}

/** An appointment still planned in an occurrence that no longer holds: to be moved. */
export interface ToMove {
	id: string;
	microstructureId: string;
	patientId: string;
	patientName: string;
	patientCode: string;
	professionalId: string;
	startsAt: Date;
	endsAt: Date;
}

const WEEKDAY_NAMES = ['lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi', 'dimanche'];

export function weekdayName(weekday: number): string {
	return WEEKDAY_NAMES[weekday - 1] ?? '';
}

/** ISO weekday (1 = Monday) of a 'YYYY-MM-DD' date. */
export function isoWeekday(date: string): number {
	const d = new Date(`${date}T00:00:00Z`).getUTCDay();
	return d === 0 ? 7 : d;
}

/** The first date on or after `date` that falls on `weekday`. */
export function nextWeekday(date: string, weekday: number): string {
	return addDays(date, (weekday - isoWeekday(date) + 7) % 7);
}

const frenchDay = new Intl.DateTimeFormat('fr-FR', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** "mardi 1er décembre 2026": French writes the first day of a month "1er". */
export function frenchDate(date: string): string {
	return frenchDay
		.formatToParts(new Date(`${date}T12:00:00Z`))
		.map((part) => (part.type === 'day' && part.value === '1' ? '1er' : part.value))
		.join('');
}

function minutesOf(time: string): number {
	const [h, m] = time.split(':').map(Number);
	return h * 60 + m;
}

function pgCode(e: unknown): { code?: string; constraint?: string } {
	return typeof e === 'object' && e !== null ? (e as { code?: string; constraint?: string }) : {};
}

/**
 * Two transactions inserting conflicting rows under an exclusion constraint may each wait for the
 * other: PostgreSQL then aborts one with 40P01 (unlike a unique index, an exclusion constraint has no
 * speculative insertion). The aborted one is tried again and meets the winner's rows as a plain
 * conflict (23P01). Only a transaction of our own can be tried again.
 */
async function retryingDeadlocks<T>(db: Db, fn: () => Promise<T>): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await fn();
		} catch (e) {
			if (db.isTransaction || attempt >= 4 || pgCode(e).code !== '40P01') throw e;
		}
	}
}

/** The professionals who may hold permanences in a microstructure: active 'soignant' members of a permanence profession. */
export function eligibleProfessionals(db: Db, msId: string) {
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.distinct()
		.where('m.microstructure_id', '=', msId)
		.where('m.role', '=', 'soignant')
		.where(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`)
		.where('u.disabled_at', 'is', null)
		.where('u.profession', 'in', [...PERMANENCE_PROFESSIONS])
		.orderBy('u.last_name')
		.orderBy('u.first_name')
		.execute();
}

/** Rooms of the microstructure's sites that may be chosen (not archived). */
async function roomOfMicrostructure(db: Db, msId: string, roomId: string): Promise<boolean> {
	if (!isUuid(roomId)) return false;
	const r = await db
		.selectFrom('room as r')
		.innerJoin('site as s', 's.id', 'r.site_id')
		.select('r.id')
		.where('r.id', '=', roomId)
		.where('s.microstructure_id', '=', msId)
		.where('r.archived_at', 'is', null)
		.executeTakeFirst();
	return !!r;
}

async function checkInput(db: Db, ms: MicrostructureRef, input: PermanenceInput, today: string): Promise<string | null> {
	if (!isUuid(input.professionalId)) return 'Professionnel introuvable.';
	const pros = await eligibleProfessionals(db, ms.id);
	if (!pros.some((p) => p.id === input.professionalId)) {
		return 'Seuls un psychologue, un travailleur social ou un psychiatre membre soignant actif de la microstructure tiennent une permanence.';
	}
	if (!Number.isInteger(input.weekday) || input.weekday < 1 || input.weekday > 7) return 'Jour de la semaine invalide.';
	if (input.everyWeeks !== 1 && input.everyWeeks !== 2) return 'Fréquence invalide.';
	if (input.startsOn < today) return 'Une permanence ne peut pas commencer dans le passé.';
	if (input.startsOn > addDays(today, MAX_START_DAYS)) return 'Une permanence commence au plus tard dans un an.';
	if (input.endsOn !== null && input.endsOn < input.startsOn) return 'La date de fin précède la date de début.';
	if (!/^\d{2}:\d{2}$/.test(input.startTime) || !/^\d{2}:\d{2}$/.test(input.endTime)) return 'Heure invalide.';
	const length = minutesOf(input.endTime) - minutesOf(input.startTime);
	if (length <= 0) return 'L’heure de fin doit suivre l’heure de début.';
	if (length < 30) return 'Une permanence dure au moins 30\u00a0minutes.';
	for (const m of [input.firstMinutes, input.followupMinutes]) {
		if (!Number.isInteger(m) || m < 10 || m > 240) return 'La durée d’un rendez-vous va de 10 à 240\u00a0minutes.';
		if (m > length) return 'Un rendez-vous ne peut pas durer plus longtemps que la permanence.';
	}
	if (input.roomId !== null && !(await roomOfMicrostructure(db, ms.id, input.roomId))) return 'Salle introuvable dans cette microstructure.';
	return null;
}

/**
 * Inserts the occurrences of the selected series whose date lies in [fromDate, untilDate].
 * Absences already recorded cancel the matching occurrences at once. `skipConflicts` (the daily
 * extension) leaves out rows that already exist or that a constraint refuses; otherwise a
 * conflict raises 23P01 and the caller's transaction writes nothing.
 */
async function generate(db: Db, where: ReturnType<typeof sql>, fromDate: string, untilDate: string, skipConflicts: boolean): Promise<number> {
	const r = await sql`
		insert into permanence_occurrence
			(permanence_id, microstructure_id, professional_id, room_id, on_date, starts_at, ends_at, cancelled_at, cancel_reason, absence_id)
		select p.id, p.microstructure_id, p.professional_id, p.room_id, d.day,
			(d.day + p.start_time) at time zone 'Europe/Paris',
			(d.day + p.end_time) at time zone 'Europe/Paris',
			case when a.id is not null then now() end,
			case when a.id is not null then 'absence' end,
			a.id
		from permanence p
		cross join lateral (
			select g::date as day
			from generate_series(p.starts_on::timestamp, least(coalesce(p.ends_on, ${untilDate}::date), ${untilDate}::date)::timestamp, make_interval(weeks => p.every_weeks::int)) g
		) d
		left join lateral (
			select ab.id from absence ab
			where ab.professional_id = p.professional_id and ab.cancelled_at is null and d.day between ab.starts_on and ab.ends_on
			order by ab.created_at limit 1
		) a on true
		where ${where} and d.day >= ${fromDate}::date
		${skipConflicts ? sql`on conflict do nothing` : sql``}
	`.execute(db);
	return Number(r.numAffectedRows ?? 0);
}

/**
 * Extends every running series up to `untilDate` (idempotent: existing rows and conflicts are
 * left alone). Scheduled daily by the job queue; returns the number of occurrences created.
 */
export async function extendOccurrences(db: Db, untilDate: string, today = parisToday()): Promise<number> {
	return generate(db, sql`(p.ends_on is null or p.ends_on >= ${today}::date)`, today, untilDate, true);
}

export function horizon(today = parisToday()): string {
	return addDays(today, HORIZON_WEEKS * 7);
}

/** Names the live occurrence (of the professional, or in the room) that the series would overlap. */
async function describeConflict(db: Db, permanenceRow: { professional_id: string; room_id: string | null; weekday: number; every_weeks: number; starts_on: string; ends_on: string | null; start_time: string; end_time: string }, untilDate: string, except: { permanenceId: string; fromDate: string } | null, constraint: string | undefined, today: string): Promise<string> {
	// The neighbours' rows as the failed creation saw them (extended as far), then rolled back.
	let found: string | null = null;
	await db
		.transaction()
		.execute(async (trx) => {
			await extendNeighbours(trx, '00000000-0000-0000-0000-000000000000', permanenceRow.professional_id, permanenceRow.room_id, today, untilDate);
			found = await findConflict(trx, permanenceRow, untilDate, except, constraint);
			throw new Stale();
		})
		.catch((e) => {
			if (!(e instanceof Stale)) throw e;
		});
	return found ?? 'Ce créneau vient d’être pris par une autre permanence\u00a0: rechargez la page et réessayez.';
}

async function findConflict(db: Db, permanenceRow: Parameters<typeof describeConflict>[1], untilDate: string, except: { permanenceId: string; fromDate: string } | null, constraint: string | undefined): Promise<string | null> {
	const p = permanenceRow;
	const byRoom = constraint === 'occurrence_room_free';
	const exceptSql = except ? sql`and not (o.permanence_id = ${except.permanenceId} and o.on_date >= ${except.fromDate}::date)` : sql``;
	const who = byRoom && p.room_id ? sql`o.room_id = ${p.room_id}` : sql`o.professional_id = ${p.professional_id}`;
	const r = await sql<{ on_date: string; starts_at: Date; ends_at: Date; ms_name: string; room_name: string | null }>`
		with days as (
			select g::date as day from generate_series(${p.starts_on}::date::timestamp, least(coalesce(${p.ends_on}::date, ${untilDate}::date), ${untilDate}::date)::timestamp, make_interval(weeks => ${p.every_weeks}::int)) g
		)
		select o.on_date::text as on_date, o.starts_at, o.ends_at, m.name as ms_name, r.name as room_name
		from days
		join permanence_occurrence o on ${who} and o.cancelled_at is null
			and o.during && tstzrange((days.day + ${p.start_time}::time) at time zone 'Europe/Paris', (days.day + ${p.end_time}::time) at time zone 'Europe/Paris', '[)')
		join microstructure m on m.id = o.microstructure_id
		left join room r on r.id = o.room_id
		where true ${exceptSql}
		order by o.starts_at limit 1
	`.execute(db);
	const c = r.rows[0];
	if (!c) return null;
	const when = `le ${frenchDate(c.on_date)} de ${frenchTime(parisWallClock(c.starts_at).time)} à ${frenchTime(parisWallClock(c.ends_at).time)}`;
	if (byRoom) return `La salle «\u00a0${c.room_name ?? ''}\u00a0» est déjà occupée ${when} (${c.ms_name})\u00a0: choisissez une autre salle ou un autre horaire.`;
	return `Ce professionnel tient déjà une permanence ${when} à «\u00a0${c.ms_name}\u00a0»\u00a0: un professionnel ne peut pas être à deux endroits à la fois.`;
}

function seriesRow(ms: MicrostructureRef, input: PermanenceInput, ctx: Ctx, previousId: string | null) {
	const startsOn = nextWeekday(input.startsOn, input.weekday);
	return {
		microstructure_id: ms.id,
		professional_id: input.professionalId,
		room_id: input.roomId,
		weekday: input.weekday,
		every_weeks: input.everyWeeks,
		starts_on: startsOn,
		ends_on: input.endsOn,
		start_time: input.startTime,
		end_time: input.endTime,
		first_minutes: input.firstMinutes,
		followup_minutes: input.followupMinutes,
		previous_id: previousId,
		created_by: ctx.actorId
	};
}

/** Creates a series and its occurrences up to the horizon, or nothing with a French error. */
export async function createPermanence(db: Db, ctx: Ctx, ms: MicrostructureRef, input: PermanenceInput, today = parisToday()): Promise<Result<{ id: string }>> {
	const problem = await checkInput(db, ms, input, today);
	if (problem) return { ok: false, error: problem };
	const row = seriesRow(ms, input, ctx, null);
	if (row.ends_on !== null && row.ends_on < row.starts_on) return { ok: false, error: 'Aucune occurrence entre ces dates.' };
	const until = untilFor(row.starts_on, today);
	try {
		const id = await retryingDeadlocks(db, () => inTransaction(db, async (trx) => {
			const created = await trx.insertInto('permanence').values(row).returning('id').executeTakeFirstOrThrow();
			await extendNeighbours(trx, created.id, row.professional_id, row.room_id, today, until);
			await generate(trx, sql`p.id = ${created.id}`, row.starts_on, until, false);
			await audit(trx, ctx, {
				action: 'permanence.created',
				targetType: 'permanence',
				targetId: created.id,
				microstructureId: ms.id,
				networkId: ms.networkId,
				details: { professionalId: row.professional_id, weekday: row.weekday, everyWeeks: row.every_weeks, startsOn: row.starts_on, startTime: row.start_time, endTime: row.end_time }
			});
			return created.id;
		}));
		return { ok: true, id };
	} catch (e) {
		const { code, constraint } = pgCode(e);
		if (code === '23P01') return { ok: false, error: await describeConflict(db, row, until, null, constraint, today) };
		throw e;
	}
}

/**
 * Before a series is generated up to `until`, the series it could meet (the professional's, the
 * room's) are extended as far: a conflict past their generated rows then shows at creation instead
 * of being skipped later by the daily extension.
 */
async function extendNeighbours(trx: Db, newId: string, professionalId: string, roomId: string | null, today: string, until: string): Promise<void> {
	const room = roomId ? sql`or p.room_id = ${roomId}` : sql``;
	await generate(trx, sql`p.id <> ${newId} and (p.professional_id = ${professionalId} ${room}) and (p.ends_on is null or p.ends_on >= ${today}::date)`, today, until, true);
}

/** Occurrences are generated at least four weeks past a series' start, so its conflicts show at creation. */
function untilFor(startsOn: string, today: string): string {
	const h = horizon(today);
	const min = addDays(startsOn, 28);
	return min > h ? min : h;
}

/** Appointments still planned in these occurrences (to be moved), oldest first. */
export async function plannedIn(db: Db, occurrenceIds: string[]): Promise<ToMove[]> {
	if (occurrenceIds.length === 0) return [];
	const rows = await db
		.selectFrom('appointment as a')
		.innerJoin('patient as pt', 'pt.id', 'a.patient_id')
		.select(['a.id', 'a.microstructure_id', 'a.patient_id', 'a.professional_id', 'a.starts_at', 'a.ends_at', 'pt.first_name', 'pt.last_name', 'pt.code'])
		.where('a.occurrence_id', 'in', occurrenceIds)
		.where('a.status', '=', 'prevu')
		.orderBy('a.starts_at')
		.execute();
	return rows.map((r) => ({
		id: r.id,
		microstructureId: r.microstructure_id,
		patientId: r.patient_id,
		patientName: [r.first_name, r.last_name].filter(Boolean).join(' ') || r.code,
		patientCode: r.code,
		professionalId: r.professional_id,
		startsAt: r.starts_at,
		endsAt: r.ends_at
	}));
}

/** Who books and moves a microstructure's appointments day to day, and answers the patients' calls. */
async function secretariatOf(db: Db, msId: string): Promise<string[]> {
	const rows = await db
		.selectFrom('membership as m')
		.select('m.user_id')
		.distinct()
		.where(activeMembership)
		.where('m.microstructure_id', '=', msId)
		.where('m.role', '=', 'secretariat')
		.execute();
	return rows.map((r) => r.user_id);
}

/**
 * Appointments to move in a microstructure: its secretariat hears it too, with a link to the first
 * day concerned in the agenda it works from (the absence or series pages are the coordination's).
 */
export async function tellSecretariat(db: Db, ctx: Ctx, msId: string, toMove: ToMove[], title: string): Promise<void> {
	const mine = toMove.filter((a) => a.microstructureId === msId);
	if (mine.length === 0) return;
	const users = (await secretariatOf(db, msId)).filter((u) => u !== ctx.actorId);
	const first = mine.reduce((a, b) => (a.startsAt <= b.startsAt ? a : b));
	await notify(db, users, {
		kind: 'permanence',
		title,
		body: `${mine.length} rendez-vous à déplacer\u00a0: prévenez les patients et proposez un autre créneau.`,
		link: `/ms/${msId}/rendez-vous?date=${parisDay(first.startsAt)}`
	});
}

/** The people who plan a microstructure's agenda: its coordination members and the network's coordinators. */
export async function coordinationOf(db: Db, msId: string): Promise<string[]> {
	const rows = await db
		.selectFrom('membership as m')
		.select('m.user_id')
		.distinct()
		.where(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`)
		.where((w) =>
			w.or([
				w.and([w('m.microstructure_id', '=', msId), w('m.role', '=', 'coordination')]),
				w.and([
					w('m.network_id', '=', w.selectFrom('microstructure').select('network_id').where('id', '=', msId)),
					w('m.role', '=', 'coordination_administrative')
				])
			])
		)
		.execute();
	return rows.map((r) => r.user_id);
}

/** Locks (for update) and cancels the live occurrences of a series from `fromDate` on. */
async function cancelFrom(trx: Db, permanenceId: string, fromDate: string, reason: OccurrenceCancelReason): Promise<string[]> {
	const live = await trx
		.selectFrom('permanence_occurrence')
		.select('id')
		.where('permanence_id', '=', permanenceId)
		.where('on_date', '>=', fromDate)
		.where('cancelled_at', 'is', null)
		.orderBy('on_date')
		.forUpdate()
		.execute();
	const ids = live.map((o) => o.id);
	if (ids.length) await trx.updateTable('permanence_occurrence').set({ cancelled_at: new Date(), cancel_reason: reason }).where('id', 'in', ids).execute();
	return ids;
}

async function tellCoordination(db: Db, ctx: Ctx, ms: MicrostructureRef, toMove: ToMove[], title: string): Promise<void> {
	if (toMove.length === 0) return;
	await tellSecretariat(db, ctx, ms.id, toMove, title);
	const users = (await coordinationOf(db, ms.id)).filter((u) => u !== ctx.actorId);
	await notify(db, users, {
		kind: 'permanence',
		title,
		body: `${toMove.length} rendez-vous à déplacer.`,
		link: `/ms/${ms.id}/permanences`
	});
}

async function loadSeries(db: Db, ms: MicrostructureRef, permanenceId: string) {
	if (!isUuid(permanenceId)) return undefined;
	return db.selectFrom('permanence').selectAll().where('id', '=', permanenceId).where('microstructure_id', '=', ms.id).forUpdate().executeTakeFirst();
}

/**
 * Edits a series from `fromDate` on: the old one ends the day before, its successor (previous_id)
 * starts on the first chosen weekday from then (a fortnight keeps the old anchor's parity when the
 * weekday is unchanged). Occurrences before `fromDate` are untouched.
 */
export async function editPermanenceFrom(
	db: Db,
	ctx: Ctx,
	ms: MicrostructureRef,
	permanenceId: string,
	fromDate: string,
	changes: Omit<PermanenceInput, 'professionalId' | 'startsOn'>,
	today = parisToday()
): Promise<Result<{ id: string; toMove: ToMove[] }>> {
	if (fromDate < today) return { ok: false, error: 'Une modification s’applique à partir d’aujourd’hui au plus tôt\u00a0: le passé ne change pas.' };
	const current = await db.selectFrom('permanence').selectAll().where('id', '=', isUuid(permanenceId) ? permanenceId : '00000000-0000-0000-0000-000000000000').where('microstructure_id', '=', ms.id).executeTakeFirst();
	if (!current) return { ok: false, error: 'Permanence introuvable.' };
	if (current.ends_on !== null && current.ends_on < fromDate) return { ok: false, error: 'Cette permanence est déjà terminée à cette date.' };
	let startsOn = nextWeekday(fromDate, changes.weekday);
	if (changes.everyWeeks === 2 && current.every_weeks === 2 && changes.weekday === current.weekday) {
		const weeks = Math.round((Date.parse(`${startsOn}T00:00:00Z`) - Date.parse(`${current.starts_on}T00:00:00Z`)) / (7 * 86_400_000));
		if (weeks % 2 !== 0) startsOn = addDays(startsOn, 7);
	}
	const input: PermanenceInput = { ...changes, professionalId: current.professional_id, startsOn };
	const problem = await checkInput(db, ms, input, today);
	if (problem) return { ok: false, error: problem };
	const row = seriesRow(ms, input, ctx, current.id);
	if (row.ends_on !== null && row.ends_on < row.starts_on) return { ok: false, error: 'Aucune occurrence entre ces dates.' };
	const until = untilFor(row.starts_on, today);
	try {
		const out = await retryingDeadlocks(db, () => inTransaction(db, async (trx) => {
			const locked = await loadSeries(trx, ms, current.id);
			if (!locked || (locked.ends_on !== null && locked.ends_on < fromDate)) throw new Stale();
			const cancelled = await cancelFrom(trx, locked.id, fromDate, 'serie_modifiee');
			const endsOn = addDays(fromDate, -1) < locked.starts_on ? locked.starts_on : addDays(fromDate, -1);
			await trx.updateTable('permanence').set({ ends_on: endsOn }).where('id', '=', locked.id).execute();
			// The old series' future days that fall on or after fromDate but before its new end (only when
			// it had not started yet) are cancelled above; nothing in the past moves.
			const created = await trx.insertInto('permanence').values(row).returning('id').executeTakeFirstOrThrow();
			await extendNeighbours(trx, created.id, row.professional_id, row.room_id, today, until);
			await generate(trx, sql`p.id = ${created.id}`, row.starts_on, until, false);
			const toMove = await plannedIn(trx, cancelled);
			await audit(trx, ctx, {
				action: 'permanence.edited',
				targetType: 'permanence',
				targetId: created.id,
				microstructureId: ms.id,
				networkId: ms.networkId,
				details: { previousId: locked.id, fromDate, cancelledOccurrences: cancelled.length, appointmentsToMove: toMove.length }
			});
			await tellCoordination(trx, ctx, ms, toMove, `Permanence modifiée à partir du ${frenchDate(fromDate)}`);
			return { id: created.id, toMove };
		}));
		return { ok: true, ...out };
	} catch (e) {
		if (e instanceof Stale) return { ok: false, error: 'Cette permanence vient d’être modifiée par quelqu’un d’autre\u00a0: rechargez la page.' };
		const { code, constraint } = pgCode(e);
		if (code === '23P01') return { ok: false, error: await describeConflict(db, row, until, { permanenceId: current.id, fromDate }, constraint, today) };
		throw e;
	}
}

class Stale extends Error {}

/** Ends a series: no occurrence from `fromDate` on (cancelled 'serie_terminee'); returns the appointments to move. */
export async function endPermanence(db: Db, ctx: Ctx, ms: MicrostructureRef, permanenceId: string, fromDate: string, today = parisToday()): Promise<Result<{ toMove: ToMove[] }>> {
	if (fromDate < today) return { ok: false, error: 'Une permanence se termine à partir d’aujourd’hui au plus tôt\u00a0: le passé ne change pas.' };
	return inTransaction(db, async (trx) => {
		const series = await loadSeries(trx, ms, permanenceId);
		if (!series) return { ok: false as const, error: 'Permanence introuvable.' };
		if (series.ends_on !== null && series.ends_on < fromDate) return { ok: false as const, error: 'Cette permanence est déjà terminée à cette date.' };
		const cancelled = await cancelFrom(trx, series.id, fromDate, 'serie_terminee');
		const endsOn = addDays(fromDate, -1) < series.starts_on ? series.starts_on : addDays(fromDate, -1);
		await trx.updateTable('permanence').set({ ends_on: endsOn }).where('id', '=', series.id).execute();
		const toMove = await plannedIn(trx, cancelled);
		await audit(trx, ctx, {
			action: 'permanence.ended',
			targetType: 'permanence',
			targetId: series.id,
			microstructureId: ms.id,
			networkId: ms.networkId,
			details: { fromDate, cancelledOccurrences: cancelled.length, appointmentsToMove: toMove.length }
		});
		await tellCoordination(trx, ctx, ms, toMove, `Permanence terminée à partir du ${frenchDate(fromDate)}`);
		return { ok: true as const, toMove };
	});
}

/** One occurrence in another room (the borrowed office); its planned appointments follow it. */
export async function changeOccurrenceRoom(db: Db, ctx: Ctx, ms: MicrostructureRef, occurrenceId: string, roomId: string | null, now = new Date()): Promise<Result> {
	if (!isUuid(occurrenceId)) return { ok: false, error: 'Permanence introuvable.' };
	if (roomId !== null && !(await roomOfMicrostructure(db, ms.id, roomId))) return { ok: false, error: 'Salle introuvable dans cette microstructure.' };
	try {
		return await retryingDeadlocks(db, () => inTransaction(db, async (trx) => {
			const occ = await trx.selectFrom('permanence_occurrence').selectAll().where('id', '=', occurrenceId).where('microstructure_id', '=', ms.id).forUpdate().executeTakeFirst();
			if (!occ) return { ok: false as const, error: 'Permanence introuvable.' };
			if (occ.cancelled_at) return { ok: false as const, error: 'Cette permanence est annulée.' };
			if (occ.ends_at <= now) return { ok: false as const, error: 'Cette permanence est passée\u00a0: le passé ne change pas.' };
			if (occ.room_id === roomId) return { ok: true as const };
			await trx.updateTable('permanence_occurrence').set({ room_id: roomId }).where('id', '=', occ.id).execute();
			await trx.updateTable('appointment').set({ room_id: roomId }).where('occurrence_id', '=', occ.id).where('status', 'not in', ['annule', 'deplace']).execute();
			await audit(trx, ctx, {
				action: 'permanence.occurrence_room',
				targetType: 'permanence_occurrence',
				targetId: occ.id,
				microstructureId: ms.id,
				networkId: ms.networkId,
				details: { from: occ.room_id, to: roomId, date: occ.on_date }
			});
			return { ok: true as const };
		}));
	} catch (e) {
		const { code } = pgCode(e);
		if (code === '23P01') return { ok: false, error: 'Cette salle est déjà occupée à ce moment-là\u00a0: choisissez-en une autre.' };
		throw e;
	}
}

export interface PermanenceSummary {
	id: string;
	professionalId: string;
	professionalName: string;
	profession: Profession;
	roomId: string | null;
	roomName: string | null;
	weekday: number;
	everyWeeks: number;
	startsOn: string;
	endsOn: string | null;
	startTime: string;
	endTime: string;
	firstMinutes: number;
	followupMinutes: number;
	previousId: string | null;
}

/** The microstructure's series that are running or to come (ended ones when `withEnded`). */
export async function listPermanences(db: Db, msId: string, opts: { professionalId?: string; withEnded?: boolean; today?: string } = {}): Promise<PermanenceSummary[]> {
	const today = opts.today ?? parisToday();
	let q = db
		.selectFrom('permanence as p')
		.innerJoin('app_user as u', 'u.id', 'p.professional_id')
		.leftJoin('room as r', 'r.id', 'p.room_id')
		.select(['p.id', 'p.professional_id', 'u.first_name', 'u.last_name', 'u.profession', 'p.room_id', 'r.name as room_name', 'p.weekday', 'p.every_weeks', 'p.starts_on', 'p.ends_on', 'p.start_time', 'p.end_time', 'p.first_minutes', 'p.followup_minutes', 'p.previous_id'])
		.where('p.microstructure_id', '=', msId);
	if (opts.professionalId) q = q.where('p.professional_id', '=', opts.professionalId);
	if (!opts.withEnded) q = q.where((w) => w.or([w('p.ends_on', 'is', null), w('p.ends_on', '>=', today)]));
	const rows = await q.orderBy('u.last_name').orderBy('p.weekday').orderBy('p.start_time').limit(500).execute();
	return rows.map((r) => ({
		id: r.id,
		professionalId: r.professional_id,
		professionalName: `${r.first_name} ${r.last_name}`,
		profession: r.profession,
		roomId: r.room_id,
		roomName: r.room_name,
		weekday: r.weekday,
		everyWeeks: r.every_weeks,
		startsOn: r.starts_on,
		endsOn: r.ends_on,
		startTime: r.start_time.slice(0, 5),
		endTime: r.end_time.slice(0, 5),
		firstMinutes: r.first_minutes,
		followupMinutes: r.followup_minutes,
		previousId: r.previous_id
	}));
}

/** The next occurrences of a microstructure (live and cancelled), with how many appointments they hold. */
export async function listOccurrences(db: Db, msId: string, from: Date, to: Date, opts: { professionalId?: string; limit?: number } = {}) {
	let q = db
		.selectFrom('permanence_occurrence as o')
		.innerJoin('app_user as u', 'u.id', 'o.professional_id')
		.leftJoin('room as r', 'r.id', 'o.room_id')
		.select((eb) => [
			'o.id',
			'o.permanence_id',
			'o.professional_id',
			'u.first_name',
			'u.last_name',
			'o.room_id',
			'r.name as room_name',
			'o.on_date',
			'o.starts_at',
			'o.ends_at',
			'o.cancel_reason',
			eb
				.selectFrom('appointment as a')
				.select((e) => e.fn.countAll<string>().as('n'))
				.whereRef('a.occurrence_id', '=', 'o.id')
				.where('a.status', 'not in', ['annule', 'deplace'])
				.as('booked')
		])
		.where('o.microstructure_id', '=', msId)
		.where('o.ends_at', '>', from)
		.where('o.starts_at', '<', to);
	if (opts.professionalId) q = q.where('o.professional_id', '=', opts.professionalId);
	const rows = await q.orderBy('o.starts_at').limit(opts.limit ?? 60).execute();
	return rows.map((r) => ({ ...r, booked: Number(r.booked ?? 0) }));
}

/** The audit of a listing of appointments to move (patient names are shown). */
export async function auditToMove(db: Db, ctx: Ctx, toMove: ToMove[], networkIdOf: (msId: string) => string | null): Promise<void> {
	await auditAll(
		db,
		ctx,
		toMove.map((a) => ({ action: 'booking.to_move_read', targetType: 'appointment', targetId: a.id, microstructureId: a.microstructureId, networkId: networkIdOf(a.microstructureId), details: { patientId: a.patientId } }))
	);
}
