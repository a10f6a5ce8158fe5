// The professional's agenda across every microstructure they work in: today's list first (on a
// phone), then the week; attendance marked in one tap after the slot; a follow-up booked from a line.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { auditContext, requireActor } from '$lib/server/request';
import { ATTENDANCE, markAttendance, professionalAgenda, type AgendaEntry } from '$lib/server/booking/appointments';
import { dayRange, weekOf } from '$lib/server/booking/guard';
import { getMicrostructureRef } from '$lib/server/org/microstructures';
import { parisToday } from '$lib/server/patients/lifecycle';
import { choice, id, parseForm } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import { BOOKING_DEPENDENCY } from '$lib/booking/live';
import type { Actor } from '$lib/server/access/policy';

function lines(actor: Actor, entries: AgendaEntry[], now: Date) {
	return entries.map((e) => {
		const ms = { id: e.microstructureId, networkId: actor.microstructures.find((m) => m.id === e.microstructureId)?.networkId ?? '' };
		return {
			...e,
			canMark: e.startsAt <= now && e.status !== 'annule' && e.status !== 'deplace' && can(actor, 'booking.mark_attendance', { microstructure: ms, professionalId: e.professionalId }),
			// A follow-up with this professional, from the patient's booking page.
			bookHref: can(actor, 'booking.book', { microstructure: ms }) ? `/ms/${e.microstructureId}/rendez-vous/patient/${e.patientId}?pro=${e.professionalId}` : null
		};
	});
}

export async function load(event) {
	event.depends(BOOKING_DEPENDENCY);
	const { user, actor } = requireActor(event);
	const db = getDb();
	const ctx = auditContext(event);
	const today = parisToday();
	const week = weekOf(event.url.searchParams.get('semaine'), today);
	const now = new Date();
	const todayRange = dayRange(today);
	const [weekEntries, todayEntries] = await Promise.all([
		professionalAgenda(db, ctx, actor, user.id, week.from, week.to),
		week.current ? Promise.resolve(null) : professionalAgenda(db, ctx, actor, user.id, todayRange.from, todayRange.to)
	]);
	const todays = todayEntries ?? weekEntries.filter((e) => e.startsAt >= todayRange.from && e.startsAt < todayRange.to);
	return {
		today,
		week: { monday: week.monday, days: week.days, current: week.current, previous: addWeek(week.monday, -7), next: addWeek(week.monday, 7) },
		todayEntries: lines(actor, todays, now),
		weekEntries: lines(actor, weekEntries, now),
		// Those who hold permanences have an agenda; others are told what it is for.
		holdsPermanences: ['psychologue', 'travailleur_social', 'psychiatre'].includes(user.profession)
	};
}

function addWeek(date: string, days: number): string {
	const d = new Date(`${date}T12:00:00Z`);
	d.setUTCDate(d.getUTCDate() + days);
	return d.toISOString().slice(0, 10);
}

const attendanceSchema = z.object({ appointmentId: id(), microstructureId: id(), status: choice(ATTENDANCE) });

export const actions = {
	attendance: async (event) => {
		const { user, actor } = requireActor(event);
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(attendanceSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const ms = await getMicrostructureRef(getDb(), parsed.data.microstructureId);
		if (!ms || !can(actor, 'booking.read', { microstructure: ms })) return fail(404, { message: t.errors.notFound });
		const result = await markAttendance(getDb(), { ...auditContext(event), actorId: user.id }, actor, ms, parsed.data.appointmentId, parsed.data.status);
		if (!result.ok) return fail(409, { message: result.error });
		return { success: fill(t.attendance.marked, { status: t.statuses[parsed.data.status] }) };
	}
};

