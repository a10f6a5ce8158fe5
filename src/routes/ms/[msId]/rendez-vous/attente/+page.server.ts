// The waiting list: who waits for which profession (first waiting first), the freed slots still
// ahead with the waiting patients who fit them, refilled in one action; and how many freed slots
// were refilled. The rules (who fits, what counts as refilled) are in booking/waiting-list.ts.
import { fail, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { bookingOf } from '$lib/server/booking/guard';
import { book, microstructureAgenda } from '$lib/server/booking/appointments';
import { freedSlots, offersFor, refillStats, waitingList } from '$lib/server/booking/waiting-list';
import { id, parseForm } from '$lib/server/forms';
import { messages } from '$lib/i18n';
import { BOOKING_DEPENDENCY } from '$lib/booking/live';

/** Offers shown per freed slot; the period the refill count covers (back and ahead). */
const OFFERS = 5;
const STATS_BACK_DAYS = 90;
const AHEAD_DAYS = 56;

export async function load(event) {
	event.depends(BOOKING_DEPENDENCY);
	const { ms, ref, ctx } = await bookingOf(event, 'booking.book');
	const db = getDb();
	const now = new Date();
	const ahead = new Date(now.getTime() + AHEAD_DAYS * 86_400_000);
	const [waiting, freed, stats, agenda] = await Promise.all([
		waitingList(db, ctx, ref),
		freedSlots(db, ref, now),
		refillStats(db, ref, new Date(now.getTime() - STATS_BACK_DAYS * 86_400_000), ahead),
		// The freed appointments' professional and room, as the agenda shows them.
		microstructureAgenda(db, ctx, ref, now, ahead)
	]);
	const offers = await Promise.all(freed.map((f) => offersFor(db, ref, f, now, OFFERS)));
	const line = new Map(agenda.map((e) => [e.id, e]));
	return {
		ms: { id: ms.id, name: ms.name },
		waiting,
		freed: freed.map((f, i) => ({ ...f, professionalName: line.get(f.id)?.professionalName ?? null, roomName: line.get(f.id)?.roomName ?? null, offers: offers[i] })),
		stats,
		// One key per rendering of the page: a double click on "Donner ce créneau" books once.
		requestKey: crypto.randomUUID()
	};
}

const fillSchema = z.object({ freedId: id(), entryId: id(), requestKey: id() });

export const actions = {
	fill: async (event) => {
		const { ref, ctx } = await bookingOf(event, 'booking.book');
		const t = messages(event.locals.locale).appointments;
		const parsed = parseForm(fillSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		const now = new Date();
		// The freed slot and the offer are read again: still free, the patient still fits.
		const freed = (await freedSlots(db, ref, now)).find((f) => f.id === parsed.data.freedId);
		if (!freed) return fail(409, { message: t.errors.refillUnknown });
		const entry = (await offersFor(db, ref, freed, now, 500)).find((e) => e.id === parsed.data.entryId);
		if (!entry) return fail(409, { message: t.errors.waitingNotFound });
		const result = await book(db, ctx, ref, {
			patientId: entry.patientId,
			professionalId: freed.professionalId,
			occurrenceId: freed.occurrenceId,
			startsAt: freed.startsAt,
			kind: entry.kind,
			requestKey: parsed.data.requestKey,
			refillsId: freed.id
		});
		if (!result.ok) return fail(409, { message: result.error });
		redirect(303, `/ms/${ref.id}/rendez-vous/attente?redonne=${result.appointment.id}`);
	}
};
