// A patient's appointments and the booking of the next one: the step after an inclusion (on the
// GP's phone: the earliest free slots of the professionals the patient is oriented to, pick, confirm),
// and what the care team, the secretariat and the coordination do from the record or the agenda:
// book, move in one step, cancel with a coded reason, mark attendance, join the waiting list.
// The data and its rules live in $lib/server/booking; this file reads the form and the policy.
import { error, fail, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { bookingOf } from '$lib/server/booking/guard';
import { bookingPatient, type BookingPatient } from '$lib/server/booking/booking-patients';
import { ATTENDANCE, CANCEL_REASONS, SEARCH_WEEKS, book, cancel, getAppointment, markAttendance, move, patientAppointments, type PatientAppointment } from '$lib/server/booking/appointments';
import type { MicrostructureRef } from '$lib/server/access/policy';
import { freeSlots, type FreeSlot } from '$lib/server/booking/slots';
import { budgetFor } from '$lib/server/booking/budget';
import { PERIODS, WAITING_PROFESSIONS, addToWaitingList, removeFromWaitingList } from '$lib/server/booking/waiting-list';
import { choice, choices, id, optionalText, parseForm } from '$lib/server/forms';
import { messages, fill } from '$lib/i18n';
import { BOOKING_DEPENDENCY } from '$lib/booking/live';
import type { AppointmentKind, Profession } from '$lib/server/db/schema';

/** Slots shown per professional, and with "Voir plus de créneaux". */
const SLOTS_FEW = 4;
const SLOTS_MORE = 16;

/** The kind of the next appointment with a profession: a first contact until one was honoured. */
function kindFor(appointments: PatientAppointment[], profession: Profession): AppointmentKind {
	return appointments.some((a) => a.profession === profession && a.status === 'venu') ? 'suivi' : 'premier_contact';
}

/** The slots to offer: per professional of the care team, or (nobody in it yet) per profession oriented to. */
async function slotsFor(msId: string, patient: BookingPatient, appointments: PatientAppointment[], only: { professionalId?: string; kind?: AppointmentKind }, limit: number, now: Date) {
	const db = getDb();
	const to = new Date(now.getTime() + SEARCH_WEEKS * 7 * 86_400_000);
	const people = only.professionalId ? patient.professionals.filter((p) => p.id === only.professionalId) : patient.professionals;
	if (people.length) {
		const lists = await Promise.all(
			people.map((p) => freeSlots(db, { microstructureId: msId, professionalIds: [p.id], kind: only.kind ?? kindFor(appointments, p.profession), from: now, to, limit, now }))
		);
		return lists.flat();
	}
	if (only.professionalId || patient.orientedTo.length === 0) return [];
	const lists = await Promise.all(
		patient.orientedTo.map((profession) => freeSlots(db, { microstructureId: msId, professions: [profession], kind: only.kind ?? kindFor(appointments, profession), from: now, to, limit: limit * 3, now }))
	);
	return lists.flat();
}

const slotView = (s: FreeSlot) => ({ ...s, key: `${s.occurrenceId}_${s.startsAt.getTime()}` });

export async function load(event) {
	event.depends(BOOKING_DEPENDENCY);
	const { actor, ms, ref, ctx } = await bookingOf(event, 'booking.read');
	const db = getDb();
	const patient = await bookingPatient(db, ctx, ref, event.params.patientId);
	if (!patient) error(404, { message: 'Page introuvable' });
	const canBook = can(actor, 'booking.book', { microstructure: ref }) && patient.active;
	const [appointments, budget] = await Promise.all([patientAppointments(db, ctx, ref, patient.id), budgetFor(db, patient.id)]);
	const now = new Date();
	const url = event.url.searchParams;
	const movingId = url.get('deplacer');
	const moving = movingId ? appointments.find((a) => a.id === movingId && a.status === 'prevu' && a.startsAt > now) : undefined;
	const proParam = url.get('pro');
	const professionalId = moving?.professionalId ?? (proParam && patient.professionals.some((p) => p.id === proParam) ? proParam : undefined);
	const more = url.has('plus');
	const slots = canBook ? (await slotsFor(ms.id, patient, appointments, { professionalId, kind: moving?.kind }, more ? SLOTS_MORE : SLOTS_FEW, now)).map(slotView) : [];
	const chosenKey = url.get('creneau');
	const chosen = chosenKey ? slots.find((s) => s.key === chosenKey) : undefined;
	const booked = url.get('pris') ?? url.get('deplace');
	return {
		ms: { id: ms.id, name: ms.name },
		patient: { id: patient.id, code: patient.code, name: patient.name, state: patient.state, active: patient.active, professionals: patient.professionals, orientedTo: patient.orientedTo, waiting: patient.waiting },
		budget: budget?.lines ?? [],
		// The professions the waiting list may be joined for: the team's, else the orientation's.
		waitingProfessions: [...new Set([...patient.professionals.map((p) => p.profession), ...patient.orientedTo])].filter((p) => (WAITING_PROFESSIONS as readonly string[]).includes(p)),
		// The record's link for those who may read it (the secretariat has none).
		recordHref: can(actor, 'patient.read', { microstructure: ref }) ? `/ms/${ms.id}/patients/${patient.id}` : null,
		canBook,
		appointments: appointments.map((a) => ({
			...a,
			// The professional who held it, or the coordination, says whether the patient came.
			canMark: a.startsAt <= now && (a.status === 'prevu' || a.status === 'venu' || a.status === 'excuse' || a.status === 'absent') && can(actor, 'booking.mark_attendance', { microstructure: ref, professionalId: a.professionalId }),
			canChange: canBook && a.status === 'prevu' && a.startsAt > now
		})),
		slots,
		chosen: chosen ?? null,
		chosenMissing: Boolean(chosenKey && !chosen),
		moving: moving ? { id: moving.id, startsAt: moving.startsAt, professionalName: moving.professionalName, kind: moving.kind } : null,
		professionalId: professionalId ?? null,
		more,
		booked: booked ? (appointments.find((a) => a.id === booked) ?? null) : null,
		moved: url.has('deplace'),
		afterInclusion: url.has('inclusion'),
		// A fresh key each time the form is rendered: a double click or a resend of this form books once.
		requestKey: crypto.randomUUID(),
		now
	};
}

const slotFields = {
	occurrenceId: id(),
	professionalId: id(),
	// The slot's start, as the page sent it (epoch milliseconds).
	startsAt: z.string({ error: 'errors.required' }).regex(/^\d{12,14}$/, { error: 'errors.choice' }),
	requestKey: id()
};
// `overBudget`: the booker saw the warning that this appointment goes past the yearly package.
const bookSchema = z.object({ ...slotFields, kind: choice(['premier_contact', 'suivi']), overBudget: z.literal('oui', { error: 'errors.choice' }).optional() });
const moveSchema = z.object({ ...slotFields, appointmentId: id() });
const cancelSchema = z.object({ appointmentId: id(), reason: choice(CANCEL_REASONS), note: optionalText(300) });
const attendanceSchema = z.object({ appointmentId: id(), status: choice(ATTENDANCE) });
const waitSchema = z.object({
	profession: choice(WAITING_PROFESSIONS),
	weekdays: choices(['1', '2', '3', '4', '5', '6', '7']),
	periods: choices(PERIODS),
	note: optionalText(300)
});
const unwaitSchema = z.object({ entryId: id() });

const base = (msId: string, patientId: string) => `/ms/${msId}/rendez-vous/patient/${patientId}`;

/** An appointment id posted on this patient's page must be one of this patient's (else: not found, nothing done). */
async function ofThisPatient(ref: MicrostructureRef, appointmentId: string, patientId: string): Promise<boolean> {
	const a = await getAppointment(getDb(), ref, appointmentId);
	return a?.patient_id === patientId;
}

export const actions = {
	book: async (event) => {
		const { ref, ctx } = await bookingOf(event, 'booking.book');
		const parsed = parseForm(bookSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const t = messages(event.locals.locale).appointments;
		// Past the package: booked only once the warning was seen and confirmed.
		const profession = (await bookingPatient(getDb(), ctx, ref, event.params.patientId))?.professionals.find((p) => p.id === d.professionalId)?.profession;
		const line = profession ? (await budgetFor(getDb(), event.params.patientId))?.lines.find((l) => l.profession === profession) : undefined;
		if (line?.full && d.overBudget !== 'oui') {
			return fail(409, { message: fill(t.book.overBudget, { used: line.honoured + line.planned, total: line.perYear }), overBudget: true });
		}
		const result = await book(getDb(), ctx, ref, {
			patientId: event.params.patientId,
			professionalId: d.professionalId,
			occurrenceId: d.occurrenceId,
			startsAt: new Date(Number(d.startsAt)),
			kind: d.kind,
			requestKey: d.requestKey
		});
		if (!result.ok) return fail(409, { message: result.error, nextSlots: result.nextSlots.map(slotView) });
		redirect(303, `${base(ref.id, event.params.patientId)}?pris=${result.appointment.id}${event.url.searchParams.has('inclusion') ? '&inclusion' : ''}`);
	},
	move: async (event) => {
		const { ref, ctx } = await bookingOf(event, 'booking.book');
		const parsed = parseForm(moveSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		if (!(await ofThisPatient(ref, d.appointmentId, event.params.patientId))) return fail(404, { message: messages(event.locals.locale).appointments.errors.notFound });
		const result = await move(getDb(), ctx, ref, { appointmentId: d.appointmentId, professionalId: d.professionalId, occurrenceId: d.occurrenceId, startsAt: new Date(Number(d.startsAt)), requestKey: d.requestKey });
		if (!result.ok) return fail(409, { message: result.error, nextSlots: result.nextSlots.map(slotView) });
		redirect(303, `${base(ref.id, event.params.patientId)}?deplace=${result.appointment.id}`);
	},
	cancel: async (event) => {
		const { ref, ctx } = await bookingOf(event, 'booking.book');
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(cancelSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (!(await ofThisPatient(ref, parsed.data.appointmentId, event.params.patientId))) return fail(404, { message: t.errors.notFound });
		const result = await cancel(getDb(), ctx, ref, parsed.data.appointmentId, { reason: parsed.data.reason, note: parsed.data.note });
		if (!result.ok) return fail(409, { message: result.error });
		return { success: t.cancel.cancelled };
	},
	wait: async (event) => {
		const { ref, ctx } = await bookingOf(event, 'booking.book');
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(waitSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const appointments = await patientAppointments(getDb(), ctx, ref, event.params.patientId);
		const result = await addToWaitingList(getDb(), ctx, ref, {
			patientId: event.params.patientId,
			profession: d.profession,
			kind: kindFor(appointments, d.profession),
			weekdays: d.weekdays.map(Number),
			periods: d.periods,
			note: d.note
		});
		if (!result.ok) return fail(409, { message: result.error });
		return { success: t.waiting.joined };
	},
	unwait: async (event) => {
		const { ref, ctx } = await bookingOf(event, 'booking.book');
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(unwaitSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const patient = await bookingPatient(getDb(), ctx, ref, event.params.patientId);
		if (!patient?.waiting.some((w) => w.id === parsed.data.entryId)) return fail(404, { message: t.errors.waitingNotFound });
		const result = await removeFromWaitingList(getDb(), ctx, ref, parsed.data.entryId);
		if (!result.ok) return fail(409, { message: result.error });
		return { success: t.waiting.removed };
	},
	attendance: async (event) => {
		const { actor, ref, ctx } = await bookingOf(event, 'booking.read');
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(attendanceSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (!(await ofThisPatient(ref, parsed.data.appointmentId, event.params.patientId))) return fail(404, { message: t.errors.notFound });
		const result = await markAttendance(getDb(), ctx, actor, ref, parsed.data.appointmentId, parsed.data.status);
		if (!result.ok) return fail(409, { message: result.error });
		return { success: fill(t.attendance.marked, { status: t.statuses[parsed.data.status] }) };
	}
};
