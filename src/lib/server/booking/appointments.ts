// Appointments (issue 12, points 2–4 and 9): booking, moving, cancelling and marking attendance on
// the permanences' slots, and the agendas that read them.
//
// The database holds the invariants (migration 0008): a professional, a room and a patient hold at
// most one live appointment at a time (exclusion constraints), a booking request's key books once
// (unique (booked_by, request_key)), a patient's appointments stay in their microstructure. This
// module checks what the database cannot (the patient is still followed here, the professional
// works here, the slot lies on a live permanence's grid — slots.ts `slotFits`, which share-locks
// the occurrence) and turns the database's refusals into French answers with the next free slots.
// Reminders are written (and withdrawn) in the same transaction as the appointment.
//
// Callers (pages, form actions) check the policy for booking.read / booking.book before calling;
// markAttendance checks booking.mark_attendance itself because it needs the appointment's
// professional. Every read and write is audited; after each commit the live layer is told.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { AppointmentKind, AppointmentStatus, CancelReason, OccurrenceCancelReason, Patient, Profession } from '../db/schema.ts';
import { audit, auditAll, type AuditContext } from '../audit/audit.ts';
import { can, type Actor, type MicrostructureRef } from '../access/policy.ts';
import { isUuid } from '../org/microstructures.ts';
import { applyPathwayAction } from '../patients/patients.ts';
import { patientLabel } from '../patients/patients.ts';
import { parisToday } from '../patients/lifecycle.ts';
import { parisWallClock } from '../rcp/schedule.ts';
import { config } from '../config.ts';
import { announceBookingChanged } from '../live.ts';
import { freeSlots, slotFits, type FreeSlot } from './slots.ts';
import { cancelReminders, scheduleReminders } from './reminders.ts';
import { fr } from '../../i18n/fr.ts';

export type Appointment = {
	id: string;
	microstructure_id: string;
	patient_id: string;
	professional_id: string;
	profession: Profession;
	occurrence_id: string;
	room_id: string | null;
	kind: AppointmentKind;
	starts_at: Date;
	ends_at: Date;
	status: AppointmentStatus;
	booked_by: string;
	booked_at: Date;
	request_key: string;
	refills_id: string | null;
	moved_to: string | null;
	cancelled_at: Date | null;
	cancelled_by: string | null;
	cancel_reason: CancelReason | null;
	cancel_note: string;
	late_cancel: boolean;
	attendance_marked_at: Date | null;
	attendance_marked_by: string | null;
};

/** Every column but the generated range. */
const COLUMNS = [
	'id',
	'microstructure_id',
	'patient_id',
	'professional_id',
	'profession',
	'occurrence_id',
	'room_id',
	'kind',
	'starts_at',
	'ends_at',
	'status',
	'booked_by',
	'booked_at',
	'request_key',
	'refills_id',
	'moved_to',
	'cancelled_at',
	'cancelled_by',
	'cancel_reason',
	'cancel_note',
	'late_cancel',
	'attendance_marked_at',
	'attendance_marked_by'
] as const;

/** How many next free slots a refused booking proposes, and how far ahead they are looked for. */
export const NEXT_SLOTS = 5;
export const SEARCH_WEEKS = 8;
/** The longest period an agenda read covers, and the most rows it returns. */
export const MAX_AGENDA_DAYS = 62;
export const MAX_AGENDA_ROWS = 1000;

type Ctx = AuditContext & { actorId: string };
const t = () => fr.appointments.errors;

/** French answer and the professional's next free slots: what a refused booking shows. */
export type Refusal = { ok: false; error: string; nextSlots: FreeSlot[] };
export type BookResult = { ok: true; appointment: Appointment; replayed: boolean } | Refusal;

export interface BookInput {
	patientId: string;
	professionalId: string;
	occurrenceId: string;
	startsAt: Date;
	kind: AppointmentKind;
	/** The client's key for this request (a UUID in the form): a resend returns the same appointment. */
	requestKey: string;
	/** The freed appointment whose slot this booking refills (from a waiting-list offer). */
	refillsId?: string | null;
}

class Refused extends Error {
	constructor(
		readonly french: string,
		/** Propose the professional's next free slots (the slot itself was the problem). */
		readonly withSlots: boolean
	) {
		super(french);
	}
}

/** The PostgreSQL refusal of an overlap, by constraint (23P01 exclusion_violation). */
function overlapMessage(error: unknown): string | null {
	const e = error as { code?: string; constraint?: string };
	if (e?.code !== '23P01') return null;
	if (e.constraint === 'appointment_patient_free') return t().patientBusy;
	if (e.constraint === 'appointment_room_free') return t().roomBusy;
	return t().taken;
}

/**
 * Runs a booking transaction again when PostgreSQL aborted it to break a deadlock or a
 * serialisation conflict (rare: two bookings of one patient or one room with different
 * professionals at the same instant); the retry sees the other's row and answers in French.
 */
async function retried<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
	for (let i = 1; ; i++) {
		try {
			return await fn();
		} catch (error) {
			const code = (error as { code?: string })?.code;
			if (i >= attempts || (code !== '40P01' && code !== '40001')) throw error;
		}
	}
}

function isUniqueViolation(error: unknown): boolean {
	return (error as { code?: string })?.code === '23505';
}

/** The professional's next free slots of this kind in the microstructure, from now. */
export async function nextSlotsOf(db: Db, microstructureId: string, professionalId: string, kind: AppointmentKind, now = new Date()): Promise<FreeSlot[]> {
	const to = new Date(now.getTime() + SEARCH_WEEKS * 7 * 86_400_000);
	return freeSlots(db, { microstructureId, professionalIds: [professionalId], kind, from: now, to, limit: NEXT_SLOTS, now });
}

async function findByKey(db: Db, bookedBy: string, requestKey: string): Promise<Appointment | undefined> {
	return (await db.selectFrom('appointment').select(COLUMNS).where('booked_by', '=', bookedBy).where('request_key', '=', requestKey).executeTakeFirst()) as Appointment | undefined;
}

/** The same request sent again: the appointment it booked, if it is the same booking. */
function replayOf(existing: Appointment, input: Pick<BookInput, 'patientId'>): BookResult {
	if (existing.patient_id !== input.patientId) return { ok: false, error: t().keyReused, nextSlots: [] };
	return { ok: true, appointment: existing, replayed: true };
}

/**
 * What a new appointment needs checked inside its transaction, then its row (with reminders).
 * Throws Refused with a French message; lets PostgreSQL's own refusals through.
 */
async function insertAppointment(
	trx: Db,
	ctx: Ctx,
	ms: MicrostructureRef,
	input: BookInput,
	now: Date,
	options: { keepKind?: boolean } = {}
): Promise<Appointment | null> {
	// The patient, the professional and the occurrence in one round trip (each may be missing).
	const { rows } = await sql<{
		state: string | null;
		anonymised: boolean | null;
		profession: Profession | null;
		seen: boolean | null;
		first_minutes: number | null;
		followup_minutes: number | null;
	}>`
		select p.state, p.anonymised_at is not null as anonymised, pro.profession,
			-- A first contact is the first honoured appointment with that profession; after it, follow-ups.
			exists (select 1 from appointment a where a.patient_id = p.id and a.profession = pro.profession and a.status = 'venu') as seen,
			occ.first_minutes, occ.followup_minutes
		from (select 1) one
		left join patient p on p.id = ${input.patientId} and p.microstructure_id = ${ms.id}
		left join lateral (
			select u.profession from membership m join app_user u on u.id = m.user_id
			where m.user_id = ${input.professionalId} and m.microstructure_id = ${ms.id} and m.role = 'soignant' and u.disabled_at is null
				and m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)
			limit 1
		) pro on true
		left join lateral (
			select pe.first_minutes, pe.followup_minutes from permanence_occurrence o join permanence pe on pe.id = o.permanence_id
			where o.id = ${input.occurrenceId} and o.professional_id = ${input.professionalId} and o.microstructure_id = ${ms.id}
		) occ on true
	`.execute(trx);
	const facts = rows[0];
	if (!facts?.state) throw new Refused(t().patientUnknown, false);
	if (facts.anonymised || facts.state === 'sorti' || facts.state === 'transfere') throw new Refused(t().patientLeft, false);
	if (!facts.profession) throw new Refused(t().professionalUnknown, false);
	const professional = { profession: facts.profession };
	// (A follow-up without a recorded first contact is allowed: patients seen before the tool.)
	if (input.kind === 'premier_contact' && !options.keepKind && facts.seen) throw new Refused(t().alreadySeen, false);
	if (facts.first_minutes === null || facts.followup_minutes === null) throw new Refused(t().slotUnknown, true);
	const occurrence = { first_minutes: facts.first_minutes, followup_minutes: facts.followup_minutes };
	// Bookings of one professional take turns (until the commit): two inserts racing for one slot
	// would otherwise each wait on the other's row in the exclusion constraint's check, and one of
	// them end in a deadlock error rather than the French answer. The loser then meets the winner's
	// row in slotFits. Different professionals never wait on each other here.
	await sql`select pg_advisory_xact_lock(hashtextextended(${`appointment:${input.professionalId}`}, 0))`.execute(trx);
	const minutes = input.kind === 'premier_contact' ? occurrence.first_minutes : occurrence.followup_minutes;
	const endsAt = new Date(input.startsAt.getTime() + minutes * 60_000);
	const fit = await slotFits(trx, { occurrenceId: input.occurrenceId, professionalId: input.professionalId, startsAt: input.startsAt, endsAt, kind: input.kind, now });
	if (!fit.ok) throw new Refused(fit.error, true);

	if (input.refillsId) {
		const freed = await trx
			.selectFrom('appointment')
			.select('id')
			.where('id', '=', input.refillsId)
			.where('microstructure_id', '=', ms.id)
			.where('status', 'in', ['annule', 'deplace'])
			.executeTakeFirst();
		if (!freed) throw new Refused(t().refillUnknown, false);
	}

	const row = (await trx
		.insertInto('appointment')
		.values({
			microstructure_id: ms.id,
			patient_id: input.patientId,
			professional_id: input.professionalId,
			profession: professional.profession,
			occurrence_id: input.occurrenceId,
			room_id: fit.occurrence.room_id,
			kind: input.kind,
			starts_at: input.startsAt,
			ends_at: endsAt,
			booked_by: ctx.actorId,
			request_key: input.requestKey,
			refills_id: input.refillsId ?? null
		})
		.onConflict((oc) => oc.columns(['booked_by', 'request_key']).doNothing())
		.returning(COLUMNS)
		.executeTakeFirst()) as Appointment | undefined;
	if (!row) return null;

	// Booked: no longer waiting for this profession (an offer from the waiting list, or not).
	await trx
		.updateTable('waiting_entry')
		.set({ resolved_at: now, resolved_by: ctx.actorId, appointment_id: row.id })
		.where('patient_id', '=', input.patientId)
		.where('profession', '=', professional.profession)
		.where('resolved_at', 'is', null)
		.where('removed_at', 'is', null)
		.execute();
	await scheduleReminders(trx, row.id, now);
	return row;
}

/**
 * Books an appointment for a patient of the microstructure (the caller checked booking.book).
 * A resend with the same request key returns the same appointment, also when the first request is
 * still running (the unique key makes the second wait for it). A slot someone else took meanwhile
 * comes back as a French error with the professional's next free slots.
 */
export async function book(db: Db, ctx: Ctx, ms: MicrostructureRef, input: BookInput, now = new Date()): Promise<BookResult> {
	if (!isUuid(input.patientId) || !isUuid(input.professionalId) || !isUuid(input.occurrenceId) || !isUuid(input.requestKey)) {
		return { ok: false, error: t().invalid, nextSlots: [] };
	}
	if (input.refillsId && !isUuid(input.refillsId)) return { ok: false, error: t().invalid, nextSlots: [] };
	if (Number.isNaN(input.startsAt.getTime())) return { ok: false, error: t().invalid, nextSlots: [] };
	// A resend whose booking committed meets its own row: the unique key (the insert does nothing)
	// or its own slot (refused), and both ways end at `findByKey`: the same appointment comes back.
	let row: Appointment | null;
	try {
		row = await retried(() =>
			db.transaction().execute(async (trx) => {
				const inserted = await insertAppointment(trx, ctx, ms, input, now);
				if (!inserted) return null;
				await audit(trx, ctx, bookingAudit(ms, inserted, 'booking.booked', { refills: inserted.refills_id }));
				return inserted;
			})
		);
	} catch (error) {
		return refusal(db, ctx, ms, input, error, now);
	}
	// The same key committed by a concurrent request of this person: that one is the booking.
	if (!row) {
		const winner = await findByKey(db, ctx.actorId, input.requestKey);
		return winner ? replayOf(winner, input) : { ok: false, error: t().retry, nextSlots: [] };
	}
	announceBookingChanged(ms.id, row.professional_id);
	return { ok: true, appointment: row, replayed: false };
}

async function refusal(db: Db, ctx: Ctx, ms: MicrostructureRef, input: BookInput, error: unknown, now: Date): Promise<BookResult> {
	// A concurrent request with the same key may have won while this one hit its slot.
	const same = await findByKey(db, ctx.actorId, input.requestKey);
	if (same) return replayOf(same, input);
	const overlap = overlapMessage(error);
	if (overlap) return { ok: false, error: overlap, nextSlots: await nextSlotsOf(db, ms.id, input.professionalId, input.kind, now) };
	if (isUniqueViolation(error)) return { ok: false, error: t().retry, nextSlots: [] };
	if (error instanceof Refused) {
		return { ok: false, error: error.french, nextSlots: error.withSlots ? await nextSlotsOf(db, ms.id, input.professionalId, input.kind, now) : [] };
	}
	throw error;
}

function bookingAudit(ms: MicrostructureRef, a: Appointment, action: string, details: Record<string, unknown> = {}) {
	return {
		action,
		targetType: 'patient',
		targetId: a.patient_id,
		microstructureId: ms.id,
		networkId: ms.networkId,
		details: { appointmentId: a.id, professionalId: a.professional_id, startsAt: a.starts_at.toISOString(), ...details }
	};
}

export interface MoveInput {
	appointmentId: string;
	/** The new slot: by default with the same professional. */
	professionalId?: string;
	occurrenceId: string;
	startsAt: Date;
	requestKey: string;
}

/**
 * Moves an appointment in one step: the old row becomes 'deplace' pointing at the new one (the
 * history stays), its reminders are withdrawn and the new one's written, in one transaction. The
 * old slot is freed before the new one is checked, so moving by a quarter of an hour works.
 * Returns the new appointment and the freed one (for the waiting list's offers).
 */
export async function move(
	db: Db,
	ctx: Ctx,
	ms: MicrostructureRef,
	input: MoveInput,
	now = new Date()
): Promise<{ ok: true; appointment: Appointment; freed: Appointment; replayed: boolean } | Refusal> {
	if (!isUuid(input.appointmentId) || !isUuid(input.occurrenceId) || !isUuid(input.requestKey) || (input.professionalId && !isUuid(input.professionalId))) {
		return { ok: false, error: t().invalid, nextSlots: [] };
	}
	if (Number.isNaN(input.startsAt.getTime())) return { ok: false, error: t().invalid, nextSlots: [] };
	const old = await getAppointment(db, ms, input.appointmentId);
	if (!old) return { ok: false, error: t().notFound, nextSlots: [] };
	const professionalId = input.professionalId ?? old.professional_id;
	const bookInput: BookInput = { patientId: old.patient_id, professionalId, occurrenceId: input.occurrenceId, startsAt: input.startsAt, kind: old.kind, requestKey: input.requestKey };
	// A resend of a move that went through.
	if (old.status === 'deplace' && old.moved_to) {
		const moved = await findByKey(db, ctx.actorId, input.requestKey);
		if (moved && moved.id === old.moved_to) return { ok: true, appointment: moved, freed: old, replayed: true };
	}
	let result: { appointment: Appointment; freed: Appointment };
	try {
		result = await retried(() => db.transaction().execute(async (trx) => {
			const locked = (await trx.selectFrom('appointment').select(COLUMNS).where('id', '=', old.id).forUpdate().executeTakeFirstOrThrow()) as Appointment;
			if (locked.status !== 'prevu') throw new Refused(t().notPlanned, false);
			if (locked.starts_at <= now) throw new Refused(t().alreadyStarted, false);
			// Free the old slot first (the check constraint wants moved_to for 'deplace': set below).
			await trx.updateTable('appointment').set({ status: 'annule', cancelled_at: now, cancelled_by: ctx.actorId }).where('id', '=', old.id).execute();
			const created = await insertAppointment(trx, ctx, ms, bookInput, now, { keepKind: true });
			if (!created) throw new Refused(t().keyReused, false);
			const freed = (await trx
				.updateTable('appointment')
				.set({ status: 'deplace', moved_to: created.id })
				.where('id', '=', old.id)
				.returning(COLUMNS)
				.executeTakeFirstOrThrow()) as Appointment;
			await cancelReminders(trx, old.id);
			await audit(trx, ctx, bookingAudit(ms, created, 'booking.moved', { from: old.id, fromStartsAt: old.starts_at.toISOString() }));
			return { appointment: created, freed };
		}));
	} catch (error) {
		const overlap = overlapMessage(error);
		if (overlap) return { ok: false, error: overlap, nextSlots: await nextSlotsOf(db, ms.id, professionalId, old.kind, now) };
		if (error instanceof Refused) {
			return { ok: false, error: error.french, nextSlots: error.withSlots ? await nextSlotsOf(db, ms.id, professionalId, old.kind, now) : [] };
		}
		if (isUniqueViolation(error)) return { ok: false, error: t().keyReused, nextSlots: [] };
		throw error;
	}
	announceBookingChanged(ms.id, old.professional_id);
	if (professionalId !== old.professional_id) announceBookingChanged(ms.id, professionalId);
	return { ok: true, ...result, replayed: false };
}

export const CANCEL_REASONS = ['patient', 'professionnel', 'absence', 'autre'] as const satisfies readonly CancelReason[];

/**
 * Cancels a planned appointment that has not started: who, when, a coded reason and a note; a
 * cancellation less than BOOKING_LATE_CANCEL_HOURS before the start is marked late. The reminders
 * are withdrawn in the same transaction (a reminder is never sent after a cancellation). Returns
 * the freed appointment, whose slot the waiting list may refill (waiting-list.ts offersFor).
 */
export async function cancel(
	db: Db,
	ctx: Ctx,
	ms: MicrostructureRef,
	appointmentId: string,
	input: { reason: CancelReason; note?: string },
	now = new Date()
): Promise<{ ok: true; appointment: Appointment } | { ok: false; error: string }> {
	if (!isUuid(appointmentId) || !(CANCEL_REASONS as readonly string[]).includes(input.reason)) return { ok: false, error: t().invalid };
	const note = (input.note ?? '').trim();
	if (note.length > 300) return { ok: false, error: t().noteTooLong };
	const lateBefore = new Date(now.getTime() + config.bookingLateCancelHours * 3600_000);
	const outcome = await db.transaction().execute(async (trx) => {
		const current = (await trx.selectFrom('appointment').select(COLUMNS).where('id', '=', appointmentId).where('microstructure_id', '=', ms.id).forUpdate().executeTakeFirst()) as Appointment | undefined;
		if (!current) return { ok: false as const, error: t().notFound };
		if (current.status !== 'prevu') return { ok: false as const, error: t().notPlanned };
		if (current.starts_at <= now) return { ok: false as const, error: t().alreadyStarted };
		const row = (await trx
			.updateTable('appointment')
			.set({ status: 'annule', cancelled_at: now, cancelled_by: ctx.actorId, cancel_reason: input.reason, cancel_note: note, late_cancel: current.starts_at < lateBefore })
			.where('id', '=', appointmentId)
			.returning(COLUMNS)
			.executeTakeFirstOrThrow()) as Appointment;
		await cancelReminders(trx, appointmentId);
		await audit(trx, ctx, bookingAudit(ms, row, 'booking.cancelled', { reason: input.reason, late: row.late_cancel }));
		return { ok: true as const, appointment: row };
	});
	if (outcome.ok) announceBookingChanged(ms.id, outcome.appointment.professional_id);
	return outcome;
}

export const ATTENDANCE = ['venu', 'excuse', 'absent'] as const;
export type Attendance = (typeof ATTENDANCE)[number];

/**
 * After the slot has started, the professional who held it (or the coordination correcting it)
 * says whether the patient came. 'venu' feeds the pathway: the first honoured appointment is the
 * first contact (the patient goes "en suivi"), each later one updates the last contact — through
 * the pathway's own action, in the same transaction. A correction of a mark is allowed; a first
 * contact already recorded stays (the pathway never goes back). A no-show is a clinical signal,
 * computed from the marks (no-shows.ts): it reaches the next RCP's agenda and the "À faire".
 */
export async function markAttendance(
	db: Db,
	ctx: Ctx,
	actor: Actor,
	ms: MicrostructureRef,
	appointmentId: string,
	status: Attendance,
	now = new Date()
): Promise<{ ok: true; appointment: Appointment; pathway: 'first_contact' | 'contact' | null } | { ok: false; error: string }> {
	if (!isUuid(appointmentId) || !(ATTENDANCE as readonly string[]).includes(status)) return { ok: false, error: t().invalid };
	const current = await getAppointment(db, ms, appointmentId);
	if (!current) return { ok: false, error: t().notFound };
	if (!can(actor, 'booking.mark_attendance', { microstructure: ms, professionalId: current.professional_id })) return { ok: false, error: t().notYourAppointment };
	if (current.starts_at > now) return { ok: false, error: t().notStarted };
	if (current.status === 'annule' || current.status === 'deplace') return { ok: false, error: t().notPlanned };
	const outcome = await db.transaction().execute(async (trx) => {
		const row = (await trx
			.updateTable('appointment')
			.set({ status, attendance_marked_at: now, attendance_marked_by: ctx.actorId })
			.where('id', '=', appointmentId)
			.where('status', '=', current.status)
			.returning(COLUMNS)
			.executeTakeFirst()) as Appointment | undefined;
		if (!row) return null;
		let pathway: 'first_contact' | 'contact' | null = null;
		if (status === 'venu' && current.status !== 'venu') pathway = await honoured(trx, ctx, ms, row, now);
		await audit(trx, ctx, bookingAudit(ms, row, 'booking.attendance', { status, previous: current.status }));
		return { row, pathway };
	});
	if (!outcome) return { ok: false, error: t().changedMeanwhile };
	announceBookingChanged(ms.id, current.professional_id);
	return { ok: true, appointment: outcome.row, pathway: outcome.pathway };
}

/** An honoured appointment is a contact of the pathway (first contact while "inclus"). */
async function honoured(trx: Db, ctx: Ctx, ms: MicrostructureRef, a: Appointment, now: Date): Promise<'first_contact' | 'contact' | null> {
	const patient = (await trx.selectFrom('patient').selectAll().where('id', '=', a.patient_id).forUpdate().executeTakeFirstOrThrow()) as Patient;
	const on = parisWallClock(a.starts_at).date;
	const today = parisToday(now) < on ? on : parisToday(now);
	let kind: 'first_contact' | 'contact' | null = null;
	if (patient.state === 'inclus') kind = 'first_contact';
	else if (patient.state === 'en_suivi' && (!patient.last_contact_on || patient.last_contact_on < on)) kind = 'contact';
	if (!kind) return null;
	// A contact dated before the pathway's last step (an old appointment marked late) is refused by
	// the state machine: the attendance still counts, the pathway keeps its later date.
	const r = await applyPathwayAction(trx, ctx, ms, patient, { kind, on }, today);
	return r.ok ? kind : null;
}

// ---------------------------------------------------------------- reads

export async function getAppointment(db: Db, ms: MicrostructureRef, appointmentId: string): Promise<Appointment | undefined> {
	if (!isUuid(appointmentId)) return undefined;
	return (await db.selectFrom('appointment').select(COLUMNS).where('id', '=', appointmentId).where('microstructure_id', '=', ms.id).executeTakeFirst()) as Appointment | undefined;
}

/** One line of an agenda: who comes when, with whom, where — never a motive or a programme. */
export interface AgendaEntry {
	id: string;
	microstructureId: string;
	microstructureName: string;
	startsAt: Date;
	endsAt: Date;
	kind: AppointmentKind;
	status: AppointmentStatus;
	lateCancel: boolean;
	/**
	 * Still planned on a permanence date that was cancelled since (the professional's absence, a
	 * series changed or ended): someone must call the patient and offer another slot. Why, or null.
	 */
	toMove: OccurrenceCancelReason | null;
	movedTo: string | null;
	professionalId: string;
	professionalName: string;
	profession: Profession;
	roomId: string | null;
	roomName: string | null;
	patientId: string;
	/** "DUPONT Jean", or the code alone once anonymised. */
	patientName: string;
	patientCode: string;
}

/** A patient's appointment on their record: the agenda line, with the cancellation's facts. */
export interface PatientAppointment extends AgendaEntry {
	cancelReason: CancelReason | null;
	cancelNote: string;
	cancelledAt: Date | null;
	refillsId: string | null;
}

function agendaQuery(db: Db) {
	return db
		.selectFrom('appointment as a')
		.innerJoin('patient as p', 'p.id', 'a.patient_id')
		.innerJoin('app_user as u', 'u.id', 'a.professional_id')
		.innerJoin('microstructure as ms', 'ms.id', 'a.microstructure_id')
		.leftJoin('room as r', 'r.id', 'a.room_id')
		.innerJoin('permanence_occurrence as o', 'o.id', 'a.occurrence_id')
		.select([
			'a.id',
			'a.microstructure_id',
			'ms.name as ms_name',
			sql<OccurrenceCancelReason | null>`case when o.cancelled_at is not null then o.cancel_reason end`.as('occurrence_cancel_reason'),
			'a.starts_at',
			'a.ends_at',
			'a.kind',
			'a.status',
			'a.late_cancel',
			'a.moved_to',
			'a.professional_id',
			'u.first_name as pro_first',
			'u.last_name as pro_last',
			'a.profession',
			'a.room_id',
			'r.name as room_name',
			'a.patient_id',
			'p.code',
			'p.last_name',
			'p.first_name',
			'p.anonymised_at',
			'a.cancel_reason',
			'a.cancel_note',
			'a.cancelled_at',
			'a.refills_id'
		]);
}

type AgendaRow = Awaited<ReturnType<ReturnType<typeof agendaQuery>['execute']>>[number];

function entry(r: AgendaRow): AgendaEntry {
	return {
		id: r.id,
		microstructureId: r.microstructure_id,
		microstructureName: r.ms_name,
		startsAt: r.starts_at,
		endsAt: r.ends_at,
		kind: r.kind,
		status: r.status,
		lateCancel: r.late_cancel,
		toMove: r.status === 'prevu' ? r.occurrence_cancel_reason : null,
		movedTo: r.moved_to,
		professionalId: r.professional_id,
		professionalName: `${r.pro_first} ${r.pro_last}`,
		profession: r.profession,
		roomId: r.room_id,
		roomName: r.room_name,
		patientId: r.patient_id,
		patientName: patientLabel({ code: r.code, last_name: r.last_name, first_name: r.first_name, anonymised_at: r.anonymised_at }),
		patientCode: r.code
	};
}

/** A period an agenda may cover: ordered, at most MAX_AGENDA_DAYS. */
function checkRange(from: Date, to: Date): boolean {
	return !Number.isNaN(from.getTime()) && !Number.isNaN(to.getTime()) && to > from && to.getTime() - from.getTime() <= MAX_AGENDA_DAYS * 86_400_000;
}

/** One audit row per agenda page and microstructure, naming the patients it showed. */
async function auditAgenda(db: Db, ctx: AuditContext, action: string, rows: AgendaEntry[], mss: MicrostructureRef[], details: Record<string, unknown>) {
	await auditAll(
		db,
		ctx,
		mss.map((ms) => {
			const here = rows.filter((r) => r.microstructureId === ms.id);
			return {
				action,
				targetType: 'microstructure',
				targetId: ms.id,
				microstructureId: ms.id,
				networkId: ms.networkId,
				details: { ...details, count: here.length, patients: [...new Set(here.map((r) => r.patientId))] }
			};
		})
	);
}

/** A patient's appointments, latest first, for the record (the caller checked the patient is readable). */
export async function patientAppointments(db: Db, ctx: AuditContext, ms: MicrostructureRef, patientId: string, limit = 200): Promise<PatientAppointment[]> {
	if (!isUuid(patientId)) return [];
	const rows = await agendaQuery(db)
		.where('a.patient_id', '=', patientId)
		.where('a.microstructure_id', '=', ms.id)
		.orderBy('a.starts_at', 'desc')
		.limit(Math.min(limit, MAX_AGENDA_ROWS))
		.execute();
	await audit(db, ctx, { action: 'booking.patient_appointments', targetType: 'patient', targetId: patientId, microstructureId: ms.id, networkId: ms.networkId, details: { count: rows.length } });
	return rows.map((r) => ({ ...entry(r), cancelReason: r.cancel_reason, cancelNote: r.cancel_note, cancelledAt: r.cancelled_at, refillsId: r.refills_id }));
}

/**
 * A microstructure's agenda for the secretariat and the coordination (the caller checked
 * booking.read): patient name, time, professional, room, status — nothing clinical (no motive, no
 * programme, no note). Moved rows are left out (their successor is there); cancelled ones stay.
 */
export async function microstructureAgenda(db: Db, ctx: AuditContext, ms: MicrostructureRef, from: Date, to: Date): Promise<AgendaEntry[]> {
	if (!checkRange(from, to)) return [];
	const rows = await agendaQuery(db)
		.where('a.microstructure_id', '=', ms.id)
		.where('a.starts_at', '>=', from)
		.where('a.starts_at', '<', to)
		.where('a.status', '<>', 'deplace')
		.orderBy('a.starts_at')
		.orderBy('u.last_name')
		.limit(MAX_AGENDA_ROWS)
		.execute();
	const entries = rows.map(entry);
	await auditAgenda(db, ctx, 'booking.agenda_read', entries, [ms], { from: from.toISOString(), to: to.toISOString() });
	return entries;
}

/**
 * A professional's appointments across every microstructure they work in, limited to those whose
 * agenda the actor may read (booking.read): the professional's own day and week, or the
 * coordination's view of it. Moved rows are left out.
 */
export async function professionalAgenda(db: Db, ctx: AuditContext, actor: Actor, userId: string, from: Date, to: Date): Promise<AgendaEntry[]> {
	if (!isUuid(userId) || !checkRange(from, to)) return [];
	const places = await db
		.selectFrom('appointment as a')
		.innerJoin('microstructure as ms', 'ms.id', 'a.microstructure_id')
		.select(['ms.id', 'ms.network_id'])
		.distinct()
		.where('a.professional_id', '=', userId)
		.where('a.starts_at', '>=', from)
		.where('a.starts_at', '<', to)
		.where('ms.archived_at', 'is', null)
		.execute();
	const readable = places.map((p) => ({ id: p.id, networkId: p.network_id })).filter((ms) => can(actor, 'booking.read', { microstructure: ms }));
	if (readable.length === 0) return [];
	const rows = await agendaQuery(db)
		.where('a.professional_id', '=', userId)
		.where(
			'a.microstructure_id',
			'in',
			readable.map((m) => m.id)
		)
		.where('a.starts_at', '>=', from)
		.where('a.starts_at', '<', to)
		.where('a.status', '<>', 'deplace')
		.orderBy('a.starts_at')
		.limit(MAX_AGENDA_ROWS)
		.execute();
	const entries = rows.map(entry);
	await auditAgenda(db, ctx, 'booking.agenda_read', entries, readable, { professionalId: userId, from: from.toISOString(), to: to.toISOString() });
	return entries;
}

/**
 * Today's appointments for the home page: the actor's own as a professional, and, where the actor
 * is the secretariat, the whole microstructure's (it welcomes the patients). Cancelled and moved
 * ones are left out.
 */
export async function todayAppointments(db: Db, ctx: AuditContext, actor: Actor, now = new Date()): Promise<AgendaEntry[]> {
	const today = parisToday(now);
	const from = new Date(`${today}T00:00:00Z`);
	from.setUTCHours(from.getUTCHours() - 14);
	const to = new Date(from.getTime() + 40 * 3600_000);
	const secretariat = actor.microstructures.filter((m) => m.role === 'secretariat' && can(actor, 'booking.read', { microstructure: m }));
	const mine = actor.microstructures.filter((m) => can(actor, 'booking.read', { microstructure: m }));
	if (mine.length === 0) return [];
	const rows = await agendaQuery(db)
		.where('a.microstructure_id', 'in', mine.map((m) => m.id))
		.where((eb) => eb.or([eb('a.professional_id', '=', actor.userId), ...(secretariat.length ? [eb('a.microstructure_id', 'in', secretariat.map((m) => m.id))] : [])]))
		.where('a.starts_at', '>=', from)
		.where('a.starts_at', '<', to)
		.where('a.status', 'not in', ['annule', 'deplace'])
		.orderBy('a.starts_at')
		.limit(MAX_AGENDA_ROWS)
		.execute();
	// The window is wide (UTC vs Paris); keep the Paris day exactly.
	const entries = rows.map(entry).filter((e) => parisWallClock(e.startsAt).date === today);
	const shown = mine.filter((m) => entries.some((e) => e.microstructureId === m.id)).map((m) => ({ id: m.id, networkId: m.networkId }));
	await auditAgenda(db, ctx, 'booking.agenda_read', entries, shown, { purpose: 'today', date: today });
	return entries;
}
