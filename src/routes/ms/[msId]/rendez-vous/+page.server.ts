// The microstructure's agenda for the secretariat, the coordination and the team: by professional or
// by room, a day or a week; who comes when, with whom, where — nothing clinical. Booking for a
// patient starts with a search by name; moving and cancelling happen on the patient's booking page.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { bookingOf, dayRange, weekOf } from '$lib/server/booking/guard';
import { ATTENDANCE, markAttendance, microstructureAgenda } from '$lib/server/booking/appointments';
import { searchBookablePatients } from '$lib/server/booking/booking-patients';
import { parisToday } from '$lib/server/patients/lifecycle';
import { choice, id, parseForm } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import { BOOKING_DEPENDENCY } from '$lib/booking/live';

export async function load(event) {
	event.depends(BOOKING_DEPENDENCY);
	const { actor, ms, ref, ctx } = await bookingOf(event, 'booking.read');
	const db = getDb();
	const params = event.url.searchParams;
	const today = parisToday();
	const view = params.get('vue') === 'semaine' ? 'semaine' : 'jour';
	const by = params.get('par') === 'salle' ? 'salle' : 'pro';
	const week = weekOf(params.get('date'), today);
	const requested = params.get('date');
	const date = requested && week.days.includes(requested) ? requested : week.current ? today : week.monday;
	const range = view === 'semaine' ? { from: week.from, to: week.to } : dayRange(date);
	const canBook = can(actor, 'booking.book', { microstructure: ref });
	const q = (params.get('q') ?? '').slice(0, 100);
	const now = new Date();
	const [entries, found] = await Promise.all([
		microstructureAgenda(db, ctx, ref, range.from, range.to),
		canBook && q.trim().length >= 2 ? searchBookablePatients(db, ctx, ref, q) : Promise.resolve(null)
	]);
	const shift = (days: number) => {
		const d = new Date(`${date}T12:00:00Z`);
		d.setUTCDate(d.getUTCDate() + days);
		return d.toISOString().slice(0, 10);
	};
	return {
		ms: { id: ms.id, name: ms.name },
		view,
		by,
		date,
		today,
		days: view === 'semaine' ? week.days : [date],
		previous: shift(view === 'semaine' ? -7 : -1),
		next: shift(view === 'semaine' ? 7 : 1),
		canBook,
		q,
		found,
		entries: entries.map((e) => ({
			...e,
			canMark: e.startsAt <= now && e.status !== 'annule' && e.status !== 'deplace' && can(actor, 'booking.mark_attendance', { microstructure: ref, professionalId: e.professionalId }),
			bookHref: canBook ? `/ms/${ms.id}/rendez-vous/patient/${e.patientId}` : null
		}))
	};
}

const attendanceSchema = z.object({ appointmentId: id(), microstructureId: id(), status: choice(ATTENDANCE) });

export const actions = {
	attendance: async (event) => {
		const { actor, ref, ctx } = await bookingOf(event, 'booking.read');
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(attendanceSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (parsed.data.microstructureId !== ref.id) return fail(404, { message: t.errors.notFound });
		const result = await markAttendance(getDb(), ctx, actor, ref, parsed.data.appointmentId, parsed.data.status);
		if (!result.ok) return fail(409, { message: result.error });
		return { success: fill(t.attendance.marked, { status: t.statuses[parsed.data.status] }) };
	}
};
