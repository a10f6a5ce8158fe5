// A professional's absences (holidays, sick leave, training) across every microstructure they work
// in. Recording one cancels their live occurrences in the range (cancel_reason 'absence'), lists
// the appointments still planned in them to be moved (they are not cancelled: someone must tell the
// patient and offer another slot) and tells the coordination of each microstructure affected, once.
// Cancelling an absence restores the occurrences that are still to come and still free.
//
// Occurrence rows are locked for update before they change, so a booking (which takes a share lock
// on its occurrence) either commits first and is listed to be moved, or sees the occurrence cancelled.
import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/index.ts';
import type { Actor, Resource } from '../access/policy.ts';
import type { AbsenceReason } from '../db/schema.ts';
import { audit, auditAll } from '../audit/audit.ts';
import { notify } from '../notifications/notifications.ts';
import { isUuid } from '../org/microstructures.ts';
import { daysBetween, parisToday } from '../patients/lifecycle.ts';
import { coordinationOf, frenchDate, PERMANENCE_PROFESSIONS, plannedIn, tellSecretariat, type Ctx, type Result, type ToMove } from './permanences.ts';

export const ABSENCE_REASONS = ['conges', 'maladie', 'formation', 'autre'] as const satisfies readonly AbsenceReason[];
export const ABSENCE_MAX_DAYS = 366;

const activeMembership = sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`;

/**
 * The policy's resource for a professional's absences: the professional and the networks where they
 * work as a permanence profession (none for a GP or the secretariat: they have no permanences).
 */
export async function absenceResource(db: Db, professionalId: string): Promise<Resource> {
	if (!isUuid(professionalId)) return { professionalId: '', networkIds: [] };
	return (await absenceResources(db, [professionalId])).get(professionalId)!;
}

/** The same for several professionals, in one query (a coordinator's list). */
export async function absenceResources(db: Db, professionalIds: string[]): Promise<Map<string, { professionalId: string; networkIds: string[] }>> {
	const ids = professionalIds.filter(isUuid);
	const out = new Map(ids.map((id) => [id, { professionalId: id, networkIds: [] as string[] }]));
	if (ids.length === 0) return out;
	const rows = await db
		.selectFrom('membership as m')
		.innerJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['m.user_id', 'ms.network_id'])
		.distinct()
		.where('m.user_id', 'in', ids)
		.where('m.role', '=', 'soignant')
		.where('u.profession', 'in', [...PERMANENCE_PROFESSIONS])
		.where(activeMembership)
		.execute();
	for (const r of rows) out.get(r.user_id)?.networkIds.push(r.network_id);
	return out;
}

/**
 * The professionals whose absences the actor may manage: themselves (when they hold permanences)
 * and, for network coordinators, the permanence professionals of their networks.
 */
export async function manageableProfessionals(db: Db, actor: Actor) {
	const coordinated = actor.networks.filter((n) => n.role === 'coordination_medicale' || n.role === 'coordination_administrative').map((n) => n.id);
	return db
		.selectFrom('membership as m')
		.innerJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.distinct()
		.where('m.role', '=', 'soignant')
		.where(activeMembership)
		.where('u.profession', 'in', [...PERMANENCE_PROFESSIONS])
		.where((w) => (coordinated.length ? w.or([w('u.id', '=', actor.userId), w('ms.network_id', 'in', coordinated)]) : w('u.id', '=', actor.userId)))
		.orderBy('u.last_name')
		.orderBy('u.first_name')
		.execute();
}

export interface AbsenceInput {
	professionalId: string;
	startsOn: string;
	endsOn: string;
	reason: AbsenceReason;
	note: string;
}

export interface AbsenceOutcome {
	id: string;
	cancelledOccurrences: number;
	toMove: ToMove[];
}

/** Records an absence; refused when it overlaps another of the same professional or lies in the past. */
export async function createAbsence(db: Db, ctx: Ctx, input: AbsenceInput, today = parisToday(), now = new Date()): Promise<Result<AbsenceOutcome>> {
	if (!isUuid(input.professionalId)) return { ok: false, error: 'Professionnel introuvable.' };
	if (!(ABSENCE_REASONS as readonly string[]).includes(input.reason)) return { ok: false, error: 'Motif d’absence invalide.' };
	if (input.endsOn < input.startsOn) return { ok: false, error: 'La date de fin précède la date de début.' };
	if (input.endsOn < today) return { ok: false, error: 'Cette absence est entièrement passée\u00a0: le passé ne change pas.' };
	if (daysBetween(input.startsOn, input.endsOn) >= ABSENCE_MAX_DAYS) return { ok: false, error: 'Une absence dure au plus un an.' };
	if (input.note.length > 300) return { ok: false, error: 'La note compte au plus 300 caractères.' };
	return inTransaction(db, async (trx) => {
		// Two absences of one professional never overlap: serialise their creation per professional.
		await sql`select pg_advisory_xact_lock(hashtext('absence:' || ${input.professionalId}))`.execute(trx);
		const overlap = await trx
			.selectFrom('absence')
			.select(['starts_on', 'ends_on'])
			.where('professional_id', '=', input.professionalId)
			.where('cancelled_at', 'is', null)
			.where('starts_on', '<=', input.endsOn)
			.where('ends_on', '>=', input.startsOn)
			.executeTakeFirst();
		if (overlap) return { ok: false as const, error: `Une absence du ${frenchDate(overlap.starts_on)} au ${frenchDate(overlap.ends_on)} couvre déjà une partie de ces dates.` };
		const absence = await trx
			.insertInto('absence')
			.values({ professional_id: input.professionalId, starts_on: input.startsOn, ends_on: input.endsOn, reason: input.reason, note: input.note, created_by: ctx.actorId, cancelled_at: null })
			.returning('id')
			.executeTakeFirstOrThrow();
		const live = await trx
			.selectFrom('permanence_occurrence')
			.select(['id', 'microstructure_id'])
			.where('professional_id', '=', input.professionalId)
			.where('cancelled_at', 'is', null)
			.where('on_date', '>=', input.startsOn)
			.where('on_date', '<=', input.endsOn)
			// The past is not rewritten: an occurrence already begun stays as it was held.
			.where('starts_at', '>', now)
			.orderBy('starts_at')
			.forUpdate()
			.execute();
		const ids = live.map((o) => o.id);
		if (ids.length) await trx.updateTable('permanence_occurrence').set({ cancelled_at: now, cancel_reason: 'absence', absence_id: absence.id }).where('id', 'in', ids).execute();
		const toMove = await plannedIn(trx, ids);
		const msIds = [...new Set(live.map((o) => o.microstructure_id))];
		const networks = msIds.length ? await trx.selectFrom('microstructure').select(['id', 'network_id']).where('id', 'in', msIds).execute() : [];
		const networkOf = new Map(networks.map((n) => [n.id, n.network_id]));
		await audit(trx, ctx, {
			action: 'absence.created',
			targetType: 'absence',
			targetId: absence.id,
			details: { professionalId: input.professionalId, startsOn: input.startsOn, endsOn: input.endsOn, reason: input.reason, cancelledOccurrences: ids.length, appointmentsToMove: toMove.length, microstructures: msIds }
		});
		await auditAll(
			trx,
			ctx,
			toMove.map((a) => ({ action: 'booking.to_move_read', targetType: 'appointment', targetId: a.id, microstructureId: a.microstructureId, networkId: networkOf.get(a.microstructureId) ?? null, details: { patientId: a.patientId, absenceId: absence.id } }))
		);
		const who = await trx.selectFrom('app_user').select(['first_name', 'last_name']).where('id', '=', input.professionalId).executeTakeFirstOrThrow();
		const title = `Absence de ${who.first_name} ${who.last_name} du ${frenchDate(input.startsOn)} au ${frenchDate(input.endsOn)}`;
		for (const msId of msIds) {
			// The professional hears it below, once, even when they coordinate this microstructure too.
			const users = (await coordinationOf(trx, msId)).filter((u) => u !== ctx.actorId && u !== input.professionalId);
			const n = toMove.filter((a) => a.microstructureId === msId).length;
			await notify(trx, users, {
				kind: 'absence',
				title,
				body: n ? `${n} rendez-vous à déplacer.` : 'Aucun rendez-vous à déplacer.',
				link: `/absences?absence=${absence.id}`
			});
			await tellSecretariat(trx, ctx, msId, toMove, title);
		}
		// Recorded by a coordinator: the professional's own agenda changed without them.
		if (ctx.actorId !== input.professionalId) {
			await notify(trx, [input.professionalId], {
				kind: 'absence',
				title: `Une absence a été enregistrée pour vous du ${frenchDate(input.startsOn)} au ${frenchDate(input.endsOn)}`,
				body: `${ids.length} date(s) de permanence annulée(s), ${toMove.length} rendez-vous à déplacer.`,
				link: `/absences?absence=${absence.id}`
			});
		}
		return { ok: true as const, id: absence.id, cancelledOccurrences: ids.length, toMove };
	});
}

/**
 * Cancels an absence: its occurrences that are still to come, whose series still runs that day and
 * that nothing else took meanwhile (another permanence of the professional, the room) are live
 * again; those still covered by another absence move to it.
 */
export async function cancelAbsence(db: Db, ctx: Ctx, absenceId: string, now = new Date()): Promise<Result<{ restored: number }>> {
	if (!isUuid(absenceId)) return { ok: false, error: 'Absence introuvable.' };
	try {
		return await inTransaction(db, async (trx) => {
			const absence = await trx.selectFrom('absence').selectAll().where('id', '=', absenceId).forUpdate().executeTakeFirst();
			if (!absence || absence.cancelled_at) return { ok: false as const, error: 'Absence introuvable ou déjà annulée.' };
			await sql`select pg_advisory_xact_lock(hashtext('absence:' || ${absence.professional_id}))`.execute(trx);
			await trx.updateTable('absence').set({ cancelled_at: now }).where('id', '=', absence.id).execute();
			await trx.selectFrom('permanence_occurrence').select('id').where('absence_id', '=', absence.id).forUpdate().execute();
			await sql`
				update permanence_occurrence o set absence_id = other.id
				from absence other
				where o.absence_id = ${absence.id} and other.professional_id = ${absence.professional_id}
					and other.cancelled_at is null and o.on_date between other.starts_on and other.ends_on
			`.execute(trx);
			const restored = await sql`
				update permanence_occurrence o set cancelled_at = null, cancel_reason = null, absence_id = null
				from permanence p
				where o.absence_id = ${absence.id} and o.cancel_reason = 'absence'
					and p.id = o.permanence_id and (p.ends_on is null or p.ends_on >= o.on_date)
					and o.starts_at > ${now}
					and not exists (
						select 1 from permanence_occurrence x
						where x.id <> o.id and x.cancelled_at is null and x.during && o.during
							and (x.professional_id = o.professional_id or (o.room_id is not null and x.room_id = o.room_id))
					)
			`.execute(trx);
			const n = Number(restored.numAffectedRows ?? 0);
			await audit(trx, ctx, { action: 'absence.cancelled', targetType: 'absence', targetId: absence.id, details: { professionalId: absence.professional_id, restoredOccurrences: n } });
			return { ok: true as const, restored: n };
		});
	} catch (e) {
		// A permanence created at the same instant took one of the slots: nothing changed, try again.
		if (typeof e === 'object' && e !== null && (e as { code?: string }).code === '23P01') return { ok: false, error: 'Un créneau vient d’être repris par une autre permanence\u00a0: réessayez.' };
		throw e;
	}
}

export interface AbsenceSummary {
	id: string;
	professionalId: string;
	professionalName: string;
	startsOn: string;
	endsOn: string;
	reason: AbsenceReason;
	note: string;
	cancelledAt: Date | null;
}

/** Absences of these professionals ending on or after `since` (the current and coming ones by default). */
export async function listAbsences(db: Db, professionalIds: string[], since = parisToday(), opts: { withCancelled?: boolean } = {}): Promise<AbsenceSummary[]> {
	if (professionalIds.length === 0) return [];
	let q = db
		.selectFrom('absence as a')
		.innerJoin('app_user as u', 'u.id', 'a.professional_id')
		.select(['a.id', 'a.professional_id', 'u.first_name', 'u.last_name', 'a.starts_on', 'a.ends_on', 'a.reason', 'a.note', 'a.cancelled_at'])
		.where('a.professional_id', 'in', professionalIds)
		.where('a.ends_on', '>=', since);
	if (!opts.withCancelled) q = q.where('a.cancelled_at', 'is', null);
	const rows = await q.orderBy('a.starts_on').limit(300).execute();
	return rows.map((r) => ({
		id: r.id,
		professionalId: r.professional_id,
		professionalName: `${r.first_name} ${r.last_name}`,
		startsOn: r.starts_on,
		endsOn: r.ends_on,
		reason: r.reason,
		note: r.note,
		cancelledAt: r.cancelled_at
	}));
}

export async function getAbsence(db: Db, absenceId: string) {
	if (!isUuid(absenceId)) return undefined;
	return db.selectFrom('absence').selectAll().where('id', '=', absenceId).executeTakeFirst();
}

/** The appointments still planned in the occurrences an absence cancelled (to be moved). */
export async function absenceToMove(db: Db, absenceId: string): Promise<ToMove[]> {
	if (!isUuid(absenceId)) return [];
	const occ = await db.selectFrom('permanence_occurrence').select('id').where('absence_id', '=', absenceId).where('cancel_reason', '=', 'absence').execute();
	return plannedIn(
		db,
		occ.map((o) => o.id)
	);
}
