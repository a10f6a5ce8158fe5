// A microstructure's permanences: the series by professional, their next dates (with a one-off room
// change), creating, editing from a date and ending a series, and the rooms of its sites. Who may
// do what is the policy's: permanence.manage per professional (their own; the coordination for
// all), room.manage, and booking.read to see the dates.
import { error } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { date, formError, id, optionalDate, parseForm, text, time } from '$lib/server/forms';
import { microstructureFor } from '$lib/server/org/guard';
import { auditContext, requireActor } from '$lib/server/request';
import { parisToday } from '$lib/server/patients/lifecycle';
import { parisWallClock } from '$lib/server/rcp/schedule';
import { fill } from '$lib/i18n';
import { withPlanning } from '$lib/i18n/planning';
import {
	auditToMove,
	changeOccurrenceRoom,
	createPermanence,
	editPermanenceFrom,
	eligibleProfessionals,
	endPermanence,
	listOccurrences,
	listPermanences,
	type ToMove
} from '$lib/server/booking/permanences';
import { archiveRoom, createRoom, listSites, renameRoom, setSitePhone } from '$lib/server/booking/rooms';
import type { RequestEvent } from './$types';

async function context(event: RequestEvent) {
	const { user, actor } = requireActor(event);
	const ms = await microstructureFor(actor, event.params.msId);
	const ref = { id: ms.id, networkId: ms.network_id };
	return { actor, ms, ref, ctx: { ...auditContext(event), actorId: user.id } };
}

export async function load(event) {
	const { actor, ms, ref } = await context(event);
	const db = getDb();
	const professionals = await eligibleProfessionals(db, ms.id);
	const manageable = professionals.filter((p) => can(actor, 'permanence.manage', { microstructure: ref, professionalId: p.id }));
	const canRooms = can(actor, 'room.manage', { microstructure: ref });
	const canRead = can(actor, 'booking.read', { microstructure: ref });
	if (!canRead && manageable.length === 0 && !canRooms) error(404, { message: 'Page introuvable' });
	const now = new Date();
	const [permanences, occurrences, sites] = await Promise.all([
		listPermanences(db, ms.id),
		listOccurrences(db, ms.id, now, new Date(now.getTime() + 56 * 86_400_000), { limit: 80 }),
		listSites(db, ms.id)
	]);
	const manageIds = new Set(manageable.map((p) => p.id));
	return {
		ms: { id: ms.id, name: ms.name },
		today: parisToday(),
		professionals: manageable.map((p) => ({ id: p.id, name: `${p.first_name} ${p.last_name}`, profession: p.profession })),
		anyProfessional: professionals.length > 0,
		permanences: permanences.map((p) => ({ ...p, canManage: manageIds.has(p.professionalId) })),
		occurrences: occurrences.map((o) => ({
			id: o.id,
			professionalId: o.professional_id,
			professionalName: `${o.first_name} ${o.last_name}`,
			roomId: o.room_id,
			roomName: o.room_name,
			onDate: o.on_date,
			start: parisWallClock(o.starts_at).time,
			end: parisWallClock(o.ends_at).time,
			cancelReason: o.cancel_reason,
			booked: o.booked,
			canManage: manageIds.has(o.professional_id) && o.cancel_reason === null
		})),
		rooms: sites.flatMap((s) => s.rooms.map((r) => ({ id: r.id, label: sites.length > 1 ? `${s.name} — ${r.name}` : r.name }))),
		sites: canRooms ? sites : [],
		canRooms,
		// Links to move an appointment go where the actor may book.
		canBook: can(actor, 'booking.book', { microstructure: ref })
	};
}

const minutes = () => z.coerce.number({ error: 'errors.required' }).int({ error: 'Un nombre entier de minutes.' }).min(10, { error: 'Entre 10 et 240 minutes.' }).max(240, { error: 'Entre 10 et 240 minutes.' });
const roomId = () => z.union([z.literal(''), z.uuid({ error: 'errors.choice' })]).optional().default('');
const series = {
	weekday: z.enum(['1', '2', '3', '4', '5', '6', '7'], { error: 'errors.choice' }),
	everyWeeks: z.enum(['1', '2'], { error: 'errors.choice' }),
	startTime: time(),
	endTime: time(),
	firstMinutes: minutes(),
	followupMinutes: minutes(),
	roomId: roomId(),
	endsOn: optionalDate()
};
const createSchema = z.object({ professionalId: id(), startsOn: date(), ...series });
const editSchema = z.object({ id: id(), fromDate: date(), ...series });
const endSchema = z.object({ id: id(), fromDate: date(), confirm: z.literal('oui', { error: 'Cochez la case pour confirmer.' }) });
const occurrenceRoomSchema = z.object({ id: id(), roomId: roomId() });
const roomCreateSchema = z.object({ siteId: id(), name: text(60) });
const roomRenameSchema = z.object({ id: id(), name: text(60) });
const idSchema = z.object({ id: id() });
const phoneSchema = z.object({ siteId: id(), phone: z.string().trim().max(30, { error: 'errors.tooLong' }).optional().default('') });

function seriesOf(d: z.output<typeof editSchema> | z.output<typeof createSchema>) {
	return {
		roomId: d.roomId || null,
		weekday: Number(d.weekday),
		everyWeeks: Number(d.everyWeeks) as 1 | 2,
		endsOn: d.endsOn ?? null,
		startTime: d.startTime,
		endTime: d.endTime,
		firstMinutes: d.firstMinutes,
		followupMinutes: d.followupMinutes
	};
}

/** The appointments to move, as the page lists them (patient names: audited). */
async function shown(event: RequestEvent, toMove: ToMove[], ref: { id: string; networkId: string }, ctx: { actorId: string }) {
	await auditToMove(getDb(), ctx, toMove, () => ref.networkId);
	return toMove.map((a) => ({ id: a.id, patientId: a.patientId, patientName: a.patientName, day: parisWallClock(a.startsAt).date, time: parisWallClock(a.startsAt).time }));
}

async function permanenceOf(msId: string, permanenceId: string) {
	return getDb().selectFrom('permanence').select(['id', 'professional_id']).where('id', '=', permanenceId).where('microstructure_id', '=', msId).executeTakeFirst();
}

export const actions = {
	create: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		const parsed = parseForm(createSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		if (!can(actor, 'permanence.manage', { microstructure: ref, professionalId: d.professionalId })) return formError(403, 'Vous ne pouvez pas gérer les permanences de ce professionnel.');
		const r = await createPermanence(getDb(), ctx, ref, { ...seriesOf(d), professionalId: d.professionalId, startsOn: d.startsOn });
		if (!r.ok) return formError(400, r.error, { _form: 'create' });
		const n = await getDb().selectFrom('permanence_occurrence').select((e) => e.fn.countAll<string>().as('n')).where('permanence_id', '=', r.id).where('cancelled_at', 'is', null).executeTakeFirstOrThrow();
		return { success: fill(t.permanences.created, { n: Number(n.n) }) };
	},
	edit: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		const parsed = parseForm(editSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const p = await permanenceOf(ref.id, d.id);
		if (!p || !can(actor, 'permanence.manage', { microstructure: ref, professionalId: p.professional_id })) return formError(404, 'Permanence introuvable.');
		const r = await editPermanenceFrom(getDb(), ctx, ref, p.id, d.fromDate, seriesOf(d));
		if (!r.ok) return formError(400, r.error, { _form: `edit-${p.id}` });
		return { success: t.permanences.edited, toMove: await shown(event, r.toMove, ref, ctx) };
	},
	end: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		const parsed = parseForm(endSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const p = await permanenceOf(ref.id, d.id);
		if (!p || !can(actor, 'permanence.manage', { microstructure: ref, professionalId: p.professional_id })) return formError(404, 'Permanence introuvable.');
		const r = await endPermanence(getDb(), ctx, ref, p.id, d.fromDate);
		if (!r.ok) return formError(400, r.error, { _form: `end-${p.id}` });
		return { success: t.permanences.ended, toMove: await shown(event, r.toMove, ref, ctx) };
	},
	occurrenceRoom: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		const parsed = parseForm(occurrenceRoomSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const d = parsed.data;
		const occ = await getDb().selectFrom('permanence_occurrence').select(['id', 'professional_id']).where('id', '=', d.id).where('microstructure_id', '=', ref.id).executeTakeFirst();
		if (!occ || !can(actor, 'permanence.manage', { microstructure: ref, professionalId: occ.professional_id })) return formError(404, 'Permanence introuvable.');
		const r = await changeOccurrenceRoom(getDb(), ctx, ref, occ.id, d.roomId || null);
		if (!r.ok) return formError(400, r.error);
		return { success: t.permanences.roomChanged };
	},
	roomCreate: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		if (!can(actor, 'room.manage', { microstructure: ref })) return formError(403, 'Vous ne pouvez pas gérer les salles de cette microstructure.');
		const parsed = parseForm(roomCreateSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const r = await createRoom(getDb(), ctx, ref, parsed.data.siteId, parsed.data.name);
		if (!r.ok) return formError(400, r.error);
		return { success: t.permanences.roomAdded };
	},
	roomRename: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		if (!can(actor, 'room.manage', { microstructure: ref })) return formError(403, 'Vous ne pouvez pas gérer les salles de cette microstructure.');
		const parsed = parseForm(roomRenameSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const r = await renameRoom(getDb(), ctx, ref, parsed.data.id, parsed.data.name);
		if (!r.ok) return formError(400, r.error);
		return { success: t.permanences.renamed };
	},
	roomArchive: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		if (!can(actor, 'room.manage', { microstructure: ref })) return formError(403, 'Vous ne pouvez pas gérer les salles de cette microstructure.');
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const r = await archiveRoom(getDb(), ctx, ref, parsed.data.id);
		if (!r.ok) return formError(400, r.error);
		return { success: t.permanences.archived };
	},
	sitePhone: async (event) => {
		const { actor, ref, ctx } = await context(event);
		const t = withPlanning(event.locals.locale);
		if (!can(actor, 'room.manage', { microstructure: ref })) return formError(403, 'Vous ne pouvez pas gérer les sites de cette microstructure.');
		const parsed = parseForm(phoneSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const r = await setSitePhone(getDb(), ctx, ref, parsed.data.siteId, parsed.data.phone);
		if (!r.ok) return formError(400, r.error, {}, { phone: r.error });
		return { success: t.permanences.phoneSaved };
	}
};

