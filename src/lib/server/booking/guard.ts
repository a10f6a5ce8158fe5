// What a booking page or action needs: the actor, the microstructure and the policy's answer.
// A microstructure the actor may not book in answers 404, like one that does not exist.
import { error, type RequestEvent } from '@sveltejs/kit';
import { can, type Action } from '../access/policy.ts';
import { getDb } from '../db/index.ts';
import { getMicrostructure } from '../org/microstructures.ts';
import { auditContext, requireActor } from '../request.ts';
import { addDays } from '../patients/lifecycle.ts';
import { parisInstant } from '../rcp/schedule.ts';

export async function bookingOf(event: RequestEvent, action: Extract<Action, 'booking.read' | 'booking.book'> = 'booking.read') {
	const { user, actor } = requireActor(event);
	const ms = await getMicrostructure(getDb(), event.params.msId ?? '');
	const ref = ms ? { id: ms.id, networkId: ms.network_id } : null;
	if (!ms || !ref || !can(actor, action, { microstructure: ref })) error(404, { message: 'Page introuvable' });
	return { user, actor, ms, ref, ctx: { ...auditContext(event), actorId: user.id } };
}

/** A week of agenda (Paris): Monday's date, the instants it covers and its seven days. */
export function weekOf(param: string | null, today: string): { monday: string; from: Date; to: Date; days: string[]; current: boolean } {
	const valid = param && /^\d{4}-\d{2}-\d{2}$/.test(param) && !Number.isNaN(new Date(`${param}T12:00:00Z`).getTime()) && new Date(`${param}T12:00:00Z`).toISOString().slice(0, 10) === param;
	const base = valid && param >= '2000-01-01' && param <= '2100-01-01' ? param : today;
	const isoDay = ((new Date(`${base}T12:00:00Z`).getUTCDay() + 6) % 7) + 1;
	const monday = addDays(base, 1 - isoDay);
	const days = Array.from({ length: 7 }, (_, i) => addDays(monday, i));
	const currentMonday = addDays(today, 1 - (((new Date(`${today}T12:00:00Z`).getUTCDay() + 6) % 7) + 1));
	return { monday, from: parisInstant(monday, '00:00'), to: parisInstant(addDays(monday, 7), '00:00'), days, current: monday === currentMonday };
}

/** One Paris day: the instants it covers. */
export function dayRange(date: string): { from: Date; to: Date } {
	return { from: parisInstant(date, '00:00'), to: parisInstant(addDays(date, 1), '00:00') };
}
