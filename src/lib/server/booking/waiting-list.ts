// The microstructure's waiting list (issue 12, point 5): when no slot suits, a patient waits for a
// profession with constraints (days, mornings or afternoons). When a slot is freed (a cancellation
// or a move), the people who book are offered the waiting patients who fit, first waiting first,
// and fill it in one action: `book` with `refillsId` (appointments.ts), which resolves the entry
// in the booking's own transaction. One open entry per patient and profession (unique index).
//
// Callers check booking.book (add, remove, offers) or booking.read (list, statistics).
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { AppointmentKind, DayPeriod, Profession } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { isUuid } from '../org/microstructures.ts';
import { patientLabel } from '../patients/patients.ts';
import { parisWallClock } from '../rcp/schedule.ts';
import { fr } from '../../i18n/fr.ts';

export const WAITING_PROFESSIONS = ['psychologue', 'travailleur_social', 'psychiatre'] as const satisfies readonly Profession[];
export const PERIODS = ['matin', 'apres_midi'] as const satisfies readonly DayPeriod[];
/** A slot starting before this Paris time is a morning one. */
export const AFTERNOON_FROM = '12:00';

const t = () => fr.appointments.errors;

export interface WaitingInput {
	patientId: string;
	profession: (typeof WAITING_PROFESSIONS)[number];
	kind: AppointmentKind;
	/** ISO weekdays that suit (1 = Monday); empty: any day. */
	weekdays: number[];
	/** Parts of the day that suit; empty: any. */
	periods: DayPeriod[];
	note?: string;
}

/** Puts a patient of the microstructure on its waiting list for a profession. */
export async function addToWaitingList(
	db: Db,
	ctx: AuditContext & { actorId: string },
	ms: MicrostructureRef,
	input: WaitingInput
): Promise<{ ok: true; id: string } | { ok: false; error: string }> {
	if (!isUuid(input.patientId)) return { ok: false, error: t().invalid };
	if (!(WAITING_PROFESSIONS as readonly string[]).includes(input.profession)) return { ok: false, error: t().professionUnknown };
	if (input.kind !== 'premier_contact' && input.kind !== 'suivi') return { ok: false, error: t().invalid };
	const weekdays = [...new Set(input.weekdays)].sort();
	const periods = [...new Set(input.periods)].sort();
	if (weekdays.some((d) => !Number.isInteger(d) || d < 1 || d > 7) || periods.some((p) => !(PERIODS as readonly string[]).includes(p))) return { ok: false, error: t().invalid };
	const note = (input.note ?? '').trim();
	if (note.length > 300) return { ok: false, error: t().noteTooLong };
	const patient = await db
		.selectFrom('patient')
		.select(['id', 'state', 'anonymised_at'])
		.where('id', '=', input.patientId)
		.where('microstructure_id', '=', ms.id)
		.executeTakeFirst();
	if (!patient) return { ok: false, error: t().patientUnknown };
	if (patient.anonymised_at || patient.state === 'sorti' || patient.state === 'transfere') return { ok: false, error: t().patientLeft };
	try {
		const row = await db
			.insertInto('waiting_entry')
			.values({ microstructure_id: ms.id, patient_id: input.patientId, profession: input.profession, kind: input.kind, weekdays, periods, note, created_by: ctx.actorId })
			.returning('id')
			.executeTakeFirstOrThrow();
		await audit(db, ctx, { action: 'booking.waiting_added', targetType: 'patient', targetId: input.patientId, microstructureId: ms.id, networkId: ms.networkId, details: { entryId: row.id, profession: input.profession } });
		return { ok: true, id: row.id };
	} catch (error) {
		// One open entry per patient and profession, even under two concurrent clicks.
		if ((error as { code?: string }).code === '23505') return { ok: false, error: t().waitingAlready };
		throw error;
	}
}

/** Takes a patient off the waiting list (found a slot elsewhere, no longer needed). */
export async function removeFromWaitingList(db: Db, ctx: AuditContext & { actorId: string }, ms: MicrostructureRef, entryId: string): Promise<{ ok: true } | { ok: false; error: string }> {
	if (!isUuid(entryId)) return { ok: false, error: t().waitingNotFound };
	const row = await db
		.updateTable('waiting_entry')
		.set({ removed_at: new Date(), resolved_by: ctx.actorId })
		.where('id', '=', entryId)
		.where('microstructure_id', '=', ms.id)
		.where('resolved_at', 'is', null)
		.where('removed_at', 'is', null)
		.returning('patient_id')
		.executeTakeFirst();
	if (!row) return { ok: false, error: t().waitingNotFound };
	await audit(db, ctx, { action: 'booking.waiting_removed', targetType: 'patient', targetId: row.patient_id, microstructureId: ms.id, networkId: ms.networkId, details: { entryId } });
	return { ok: true };
}

export interface WaitingEntry {
	id: string;
	patientId: string;
	patientName: string;
	patientCode: string;
	profession: Profession;
	kind: AppointmentKind;
	weekdays: number[];
	periods: DayPeriod[];
	note: string;
	createdAt: Date;
}

function openEntries(db: Db, microstructureId: string) {
	return db
		.selectFrom('waiting_entry as w')
		.innerJoin('patient as p', 'p.id', 'w.patient_id')
		.select(['w.id', 'w.patient_id', 'p.code', 'p.last_name', 'p.first_name', 'p.anonymised_at', 'w.profession', 'w.kind', 'w.weekdays', 'w.periods', 'w.note', 'w.created_at'])
		.where('w.microstructure_id', '=', microstructureId)
		.where('w.resolved_at', 'is', null)
		.where('w.removed_at', 'is', null)
		// Patients who left are no longer offered anything.
		.where('p.state', 'not in', ['sorti', 'transfere'])
		.where('p.anonymised_at', 'is', null)
		.orderBy('w.created_at')
		.orderBy('w.id');
}

type EntryRow = Awaited<ReturnType<ReturnType<typeof openEntries>['execute']>>[number];

const toEntry = (r: EntryRow): WaitingEntry => ({
	id: r.id,
	patientId: r.patient_id,
	patientName: patientLabel({ code: r.code, last_name: r.last_name, first_name: r.first_name, anonymised_at: r.anonymised_at }),
	patientCode: r.code,
	profession: r.profession,
	kind: r.kind,
	weekdays: r.weekdays,
	periods: r.periods,
	note: r.note,
	createdAt: r.created_at
});

/** The open waiting list, first waiting first (audited: it names patients). */
export async function waitingList(db: Db, ctx: AuditContext, ms: MicrostructureRef): Promise<WaitingEntry[]> {
	const rows = (await openEntries(db, ms.id).limit(500).execute()).map(toEntry);
	await audit(db, ctx, { action: 'booking.waiting_read', targetType: 'microstructure', targetId: ms.id, microstructureId: ms.id, networkId: ms.networkId, details: { count: rows.length, patients: rows.map((r) => r.patientId) } });
	return rows;
}

/** A slot a cancellation or a move freed: the appointment row's facts. */
export interface FreedSlot {
	/** The cancelled or moved appointment. */
	id: string;
	professionalId: string;
	profession: Profession;
	occurrenceId: string;
	startsAt: Date;
	endsAt: Date;
}

/** Does a slot starting at this instant suit these constraints (Paris weekday and part of the day)? */
export function slotSuits(startsAt: Date, weekdays: number[], periods: DayPeriod[]): boolean {
	const { date, time } = parisWallClock(startsAt);
	const isoDay = ((new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;
	const period: DayPeriod = time < AFTERNOON_FROM ? 'matin' : 'apres_midi';
	return (weekdays.length === 0 || weekdays.includes(isoDay)) && (periods.length === 0 || periods.includes(period));
}

/**
 * The waiting patients a freed slot may go to, first waiting first: same profession, their days and
 * part of the day, a kind whose length fits the freed time (a first contact needs the permanence's
 * first-contact minutes), and no other appointment of theirs at that time. Nothing is offered once
 * the slot has started or someone has taken it again. The entries' patients are named: the caller
 * audits the page that shows them (or uses `waitingList`).
 */
export async function offersFor(db: Db, ms: MicrostructureRef, freed: FreedSlot, now = new Date(), limit = 20): Promise<WaitingEntry[]> {
	if (freed.startsAt <= now) return [];
	const fit = await db
		.selectFrom('permanence_occurrence as o')
		.innerJoin('permanence as p', 'p.id', 'o.permanence_id')
		.select(['p.first_minutes', 'p.followup_minutes', 'o.cancelled_at'])
		.where('o.id', '=', freed.occurrenceId)
		.where('o.microstructure_id', '=', ms.id)
		.executeTakeFirst();
	if (!fit || fit.cancelled_at) return [];
	// Taken again meanwhile (someone booked over the freed time)?
	const retaken = await db
		.selectFrom('appointment')
		.select('id')
		.where('professional_id', '=', freed.professionalId)
		.where('status', 'not in', ['annule', 'deplace'])
		.where(sql<boolean>`during && tstzrange(${freed.startsAt}, ${freed.endsAt}, '[)')`)
		.executeTakeFirst();
	if (retaken) return [];
	const freedMinutes = (freed.endsAt.getTime() - freed.startsAt.getTime()) / 60_000;
	const kinds: AppointmentKind[] = ['suivi', ...(freedMinutes >= fit.first_minutes ? (['premier_contact'] as const) : [])];
	if (freedMinutes < fit.followup_minutes) return [];
	const rows = await openEntries(db, ms.id)
		.where('w.profession', '=', freed.profession)
		.where('w.kind', 'in', kinds)
		.where((eb) =>
			eb.not(
				eb.exists(
					eb
						.selectFrom('appointment as b')
						.select('b.id')
						.whereRef('b.patient_id', '=', 'w.patient_id')
						.where('b.status', 'not in', ['annule', 'deplace'])
						.where(sql<boolean>`b.during && tstzrange(${freed.startsAt}, ${freed.endsAt}, '[)')`)
				)
			)
		)
		.limit(500)
		.execute();
	return rows
		.map(toEntry)
		.filter((e) => slotSuits(freed.startsAt, e.weekdays, e.periods))
		.slice(0, limit);
}

/** The freed slots of a microstructure still ahead (cancelled or moved, not yet refilled). */
export async function freedSlots(db: Db, ms: MicrostructureRef, now = new Date(), limit = 50): Promise<FreedSlot[]> {
	const rows = await db
		.selectFrom('appointment as a')
		.innerJoin('permanence_occurrence as o', 'o.id', 'a.occurrence_id')
		.select(['a.id', 'a.professional_id', 'a.profession', 'a.occurrence_id', 'a.starts_at', 'a.ends_at'])
		.where('a.microstructure_id', '=', ms.id)
		.where('a.status', 'in', ['annule', 'deplace'])
		.where('a.starts_at', '>', now)
		.where('o.cancelled_at', 'is', null)
		.where((eb) => eb.not(eb.exists(eb.selectFrom('appointment as r').select('r.id').whereRef('r.refills_id', '=', 'a.id').where('r.status', 'not in', ['annule', 'deplace']))))
		// Not taken again by an ordinary booking either.
		.where((eb) =>
			eb.not(
				eb.exists(
					eb
						.selectFrom('appointment as b')
						.select('b.id')
						.whereRef('b.professional_id', '=', 'a.professional_id')
						.where('b.status', 'not in', ['annule', 'deplace'])
						.where(sql<boolean>`b.during && a.during`)
				)
			)
		)
		.orderBy('a.starts_at')
		.limit(limit)
		.execute();
	return rows.map((r) => ({ id: r.id, professionalId: r.professional_id, profession: r.profession, occurrenceId: r.occurrence_id, startsAt: r.starts_at, endsAt: r.ends_at }));
}

/**
 * How many slots were freed in [from, to) (cancelled or moved before they started, on a
 * permanence still held) and how many of them were refilled by a booking from an offer.
 */
export async function refillStats(db: Db, ms: MicrostructureRef, from: Date, to: Date): Promise<{ freed: number; refilled: number }> {
	const { rows } = await sql<{ freed: string; refilled: string }>`
		select count(*) as freed,
			count(*) filter (where exists (
				select 1 from appointment r where r.refills_id = a.id and r.status not in ('annule', 'deplace')
			)) as refilled
		from appointment a
		join permanence_occurrence o on o.id = a.occurrence_id
		where a.microstructure_id = ${ms.id}
			and a.status in ('annule', 'deplace')
			and a.cancelled_at < a.starts_at
			and o.cancelled_at is null
			and a.starts_at >= ${from} and a.starts_at < ${to}
	`.execute(db);
	return { freed: Number(rows[0]?.freed ?? 0), refilled: Number(rows[0]?.refilled ?? 0) };
}

/** The slot an appointment held, once cancelled or moved (what `cancel` and `move` return). */
export function freedSlotOf(a: { id: string; professional_id: string; profession: Profession; occurrence_id: string; starts_at: Date; ends_at: Date }): FreedSlot {
	return { id: a.id, professionalId: a.professional_id, profession: a.profession, occurrenceId: a.occurrence_id, startsAt: a.starts_at, endsAt: a.ends_at };
}
