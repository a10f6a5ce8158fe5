// Absences: a professional's own, and for network coordinators those of the professionals of their
// networks. Recording one cancels the permanence dates in every microstructure and lists the
// appointments to move (with a link where the actor may book); cancelling restores what is free.
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can, type Actor } from '$lib/server/access/policy';
import { date, formError, id, optionalText, parseForm } from '$lib/server/forms';
import { auditContext, requireActor } from '$lib/server/request';
import { parisToday } from '$lib/server/patients/lifecycle';
import { parisWallClock } from '$lib/server/rcp/schedule';
import { auditAll } from '$lib/server/audit/audit';
import { fill } from '$lib/i18n';
import { withPlanning } from '$lib/i18n/planning';
import { ABSENCE_REASONS, absenceResource, absenceResources, absenceToMove, cancelAbsence, createAbsence, getAbsence, listAbsences, manageableProfessionals } from '$lib/server/booking/absences';
import type { ToMove } from '$lib/server/booking/permanences';
import type { RequestEvent } from './$types';

async function allowed(actor: Actor, professionalId: string) {
	return can(actor, 'absence.manage', await absenceResource(getDb(), professionalId));
}

/** The appointments to move as the page lists them: names (audited), and a link where the actor books. */
async function shown(actor: Actor, ctx: { actorId: string; ip?: string | null; userAgent?: string | null }, toMove: ToMove[]) {
	if (toMove.length === 0) return [];
	const db = getDb();
	const msIds = [...new Set(toMove.map((a) => a.microstructureId))];
	const places = await db.selectFrom('microstructure').select(['id', 'name', 'network_id']).where('id', 'in', msIds).execute();
	const place = new Map(places.map((m) => [m.id, m]));
	await auditAll(
		db,
		ctx,
		toMove.map((a) => ({ action: 'booking.to_move_read', targetType: 'appointment', targetId: a.id, microstructureId: a.microstructureId, networkId: place.get(a.microstructureId)?.network_id ?? null, details: { patientId: a.patientId } }))
	);
	return toMove.map((a) => {
		const m = place.get(a.microstructureId);
		const canBook = !!m && can(actor, 'booking.book', { microstructure: { id: m.id, networkId: m.network_id } });
		// Someone who cannot book there (the professional elsewhere) sees the date and the place, not the patient.
		return {
			id: a.id,
			microstructureName: m?.name ?? '',
			patientName: canBook ? a.patientName : null,
			link: canBook ? `/ms/${a.microstructureId}/rendez-vous/patient/${a.patientId}` : null,
			day: parisWallClock(a.startsAt).date,
			time: parisWallClock(a.startsAt).time
		};
	});
}

export async function load(event) {
	const { user, actor } = requireActor(event);
	const db = getDb();
	const candidates = await manageableProfessionals(db, actor);
	const resources = await absenceResources(
		db,
		candidates.map((p) => p.id)
	);
	const professionals = candidates
		.filter((p) => can(actor, 'absence.manage', resources.get(p.id) ?? { professionalId: '', networkIds: [] }))
		.map((p) => ({ id: p.id, name: `${p.first_name} ${p.last_name}`, profession: p.profession }));
	const absences = await listAbsences(
		db,
		professionals.map((p) => p.id)
	);
	let selected: { id: string; toMove: Awaited<ReturnType<typeof shown>> } | null = null;
	const wanted = event.url.searchParams.get('absence');
	if (wanted) {
		const absence = await getAbsence(db, wanted);
		if (absence && (await allowed(actor, absence.professional_id))) {
			selected = { id: absence.id, toMove: await shown(actor, { ...auditContext(event), actorId: user.id }, await absenceToMove(db, absence.id)) };
		}
	}
	return { today: parisToday(), professionals, absences, selected, userId: user.id };
}

const createSchema = z
	.object({
		professionalId: id(),
		startsOn: date(),
		endsOn: date(),
		reason: z.enum(ABSENCE_REASONS, { error: 'errors.choice' }),
		note: optionalText(300)
	})
	.refine((d) => d.endsOn >= d.startsOn, { path: ['endsOn'], error: 'La date de fin précède la date de début.' });
const idSchema = z.object({ id: id() });

function ctxOf(event: RequestEvent, userId: string) {
	return { ...auditContext(event), actorId: userId };
}

export const actions = {
	create: async (event) => {
		const { user, actor } = requireActor(event);
		const t = withPlanning(event.locals.locale).permanences.absences;
		const parsed = parseForm(createSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		if (!(await allowed(actor, d.professionalId))) return formError(403, 'Vous ne gérez pas les absences de ce professionnel.');
		const r = await createAbsence(getDb(), ctxOf(event, user.id), { professionalId: d.professionalId, startsOn: d.startsOn, endsOn: d.endsOn, reason: d.reason, note: d.note });
		if (!r.ok) return formError(400, r.error);
		return { success: fill(t.created, { n: r.cancelledOccurrences }), toMove: await shown(actor, ctxOf(event, user.id), r.toMove), absenceId: r.id };
	},
	cancel: async (event) => {
		const { user, actor } = requireActor(event);
		const t = withPlanning(event.locals.locale).permanences.absences;
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const absence = await getAbsence(getDb(), parsed.data.id);
		if (!absence || !(await allowed(actor, absence.professional_id))) return formError(404, 'Absence introuvable.');
		const r = await cancelAbsence(getDb(), ctxOf(event, user.id), absence.id);
		if (!r.ok) return formError(400, r.error);
		return { success: fill(t.cancelled, { n: r.restored }) };
	}
};
