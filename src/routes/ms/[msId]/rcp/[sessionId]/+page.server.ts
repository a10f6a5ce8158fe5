import { fail, redirect, type RequestEvent } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { formError, parseForm, text, optionalText, choice, date, time, type FieldErrors } from '$lib/server/forms';
import { sessionOf } from '$lib/server/rcp/guard';
import { addCase, addOrganisationPoint, buildAgenda, cancelSession, getSession, guestCandidates, inviteGuest, moveItem, moveSessionToToday, proposals, removeItem, savePrepNote, sessionDay, setRsvp } from '$lib/server/rcp/sessions';
import { parisWallClock } from '$lib/server/rcp/schedule';
import { parisToday } from '$lib/server/patients/lifecycle';
import { notify } from '$lib/server/notifications/notifications';
import { actionOwners, closeSession, liveState, notesDocName, startSession, stateFor } from '$lib/server/rcp/live';
import { caseCapacity } from '$lib/server/rcp/agenda';
import { auditAll } from '$lib/server/audit/audit';
import { ppsAccess } from '$lib/server/access/policy';
import { resolvePatientRef, ppsDocName } from '$lib/server/pps/pps';
import { ownersFor } from '$lib/server/pps/context';
import { patientLabel } from '$lib/server/patients/patients';
import { announceRcpClosed, announceRcpStarted, broadcastRcpSession } from '$lib/server/live';
import { fill, formatDate, messages } from '$lib/i18n';

export async function load(event) {
	const base = await sessionOf(event);
	const { user, actor, access, ref, msRef, ms } = base;
	let session = base.session;
	const db = getDb();
	if (session.status === 'cloturee') redirect(303, `/ms/${ms.id}/rcp/${session.id}/compte-rendu`);
	const team = access.level === 'team';
	if (team && session.status === 'planifiee' && !session.agenda_built_at) {
		await buildAgenda(db, session, user.id);
		session = (await getSession(db, session.id))!;
	}
	const full = (await liveState(db, session.id))!;
	const state = stateFor(full, ref, team);
	await auditAll(db, base.ctx, state.items.filter((i) => i.patientId).map((i) => ({ action: 'patient.read', targetType: 'patient', targetId: i.patientId!, microstructureId: ms.id, networkId: ms.network_id, details: { purpose: 'rcp' } })));
	// The PPS beside each case: who may edit it, and to whom its actions can be given.
	const pps: Record<string, { docName: string; readOnly: boolean; owners: { id: string; label: string }[] }> = {};
	if (team) {
		await Promise.all(
			state.items.map(async (item) => {
				if (!item.patientId) return;
				const [patientRef, owners] = await Promise.all([resolvePatientRef(db, item.patientId), ownersFor(event, item.patientId, ms.id)]);
				const a = patientRef ? ppsAccess(actor, patientRef) : 'none';
				if (a !== 'none') pps[item.id] = { docName: ppsDocName(item.patientId), readOnly: a !== 'rw', owners };
			})
		);
	}
	const t = messages(event.locals.locale);
	const [proposed, candidates, owners, room, guests] = await Promise.all([
		team && session.status === 'planifiee' ? proposals(db, session) : Promise.resolve([]),
		team && session.status !== 'annulee'
			? db
					.selectFrom('patient')
					.select(['id', 'code', 'last_name', 'first_name', 'anonymised_at'])
					.where('microstructure_id', '=', ms.id)
					.where('state', 'in', ['inclus', 'en_suivi'])
					.$if(session.programme !== null, (q) => q.where('programme', '=', session.programme!))
					.orderBy('last_name')
					.execute()
			: Promise.resolve([]),
		actionOwners(db, msRef),
		session.room_id ? db.selectFrom('room').select('name').where('id', '=', session.room_id).executeTakeFirst() : Promise.resolve(undefined),
		team && !access.readOnly ? guestCandidates(db, session, ms.network_id) : Promise.resolve([])
	]);
	const label = new Map(candidates.map((p) => [p.id, patientLabel(p)]));
	const onAgenda = new Set(state.items.map((i) => i.patientId));
	return {
		ms: { id: ms.id, name: ms.name },
		session: {
			id: session.id,
			title: session.title,
			startsAt: session.starts_at,
			endsAt: session.ends_at,
			status: session.status,
			visioUrl: session.visio_url,
			room: room?.name ?? null,
			template: session.template,
			capacity: caseCapacity(session.template),
			day: sessionDay(session)
		},
		// Starting on another day than planned asks first (and offers to move the session to today).
		today: parisToday(),
		nowTime: parisWallClock(new Date()).time,
		state,
		team,
		readOnly: access.readOnly,
		me: { id: user.id, name: `${user.first_name} ${user.last_name}`, profession: user.profession },
		mode: event.url.searchParams.get('mode') === 'observateur' ? ('observateur' as const) : ('participant' as const),
		proposals: proposed.filter((p) => label.has(p.patientId)).map((p) => ({ ...p, label: label.get(p.patientId)! })),
		candidates: candidates.filter((p) => !onAgenda.has(p.id)).map((p) => ({ id: p.id, label: label.get(p.id)! })),
		owners: owners.map((o) => ({ id: o.id, label: `${o.first_name} ${o.last_name} (${t.professions[o.profession]})` })),
		guestCandidates: guests.map((g) => ({ id: g.id, label: `${g.first_name} ${g.last_name} (${t.professions[g.profession]})` })),
		notesDocs: Object.fromEntries(state.items.map((i) => [i.id, notesDocName(i.id)])),
		pps
	};
}

/** Agenda and session actions are for the team of a session that is not closed. */
async function forTeam(event: RequestEvent) {
	const base = await sessionOf(event);
	const t = messages(event.locals.locale);
	if (base.access.level !== 'team' || base.access.readOnly) return { ...base, refused: formError(403, t.errors.forbidden) };
	return { ...base, refused: null };
}

const itemSchema = z.object({ itemId: z.uuid({ error: 'errors.choice' }) });

export const actions = {
	rsvp: async (event) => {
		const { session, user } = await sessionOf(event);
		const parsed = parseForm(z.object({ rsvp: choice(['oui', 'non', 'peut_etre'] as const) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (session.status !== 'planifiee') return formError(400, messages(event.locals.locale).errors.forbidden);
		await setRsvp(getDb(), session.id, user.id, parsed.data.rsvp);
		return { success: messages(event.locals.locale).rcp.session.rsvpSaved };
	},
	addCase: async (event) => {
		const { session, user, refused } = await forTeam(event);
		if (refused) return refused;
		const t = messages(event.locals.locale);
		const parsed = parseForm(z.object({ patientId: z.uuid({ error: 'errors.choice' }) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const reasons = (await proposals(getDb(), session)).find((p) => p.patientId === parsed.data.patientId)?.reasons ?? [{ code: 'manual' as const }];
		const id = await addCase(getDb(), session, parsed.data.patientId, reasons, user.id);
		if (!id) return formError(400, 'Ce patient ne peut pas être ajouté à cette RCP.', {}, { patientId: t.errors.choice });
		await broadcastRcpSession(session.id);
		return { success: t.rcp.session.added };
	},
	addPoint: async (event) => {
		const { session, user, refused } = await forTeam(event);
		if (refused) return refused;
		const parsed = parseForm(z.object({ kind: choice(['organisation_pec', 'organisation_ms'] as const), title: text(200) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		await addOrganisationPoint(getDb(), session, parsed.data.kind, parsed.data.title, user.id);
		await broadcastRcpSession(session.id);
		return { success: messages(event.locals.locale).rcp.session.added };
	},
	remove: async (event) => {
		const { session, refused } = await forTeam(event);
		if (refused) return refused;
		const parsed = parseForm(itemSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (!(await removeItem(getDb(), session, parsed.data.itemId))) return formError(400, 'Ce point ne peut pas être retiré (une décision a été prise).');
		await broadcastRcpSession(session.id);
		return { success: messages(event.locals.locale).rcp.session.removed };
	},
	move: async (event) => {
		const { session, refused } = await forTeam(event);
		if (refused) return refused;
		const parsed = parseForm(itemSchema.extend({ direction: choice(['up', 'down'] as const) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		await moveItem(getDb(), session, parsed.data.itemId, parsed.data.direction);
		await broadcastRcpSession(session.id);
		return {};
	},
	prep: async (event) => {
		const { session, user, refused } = await forTeam(event);
		if (refused) return refused;
		const parsed = parseForm(itemSchema.extend({ body: optionalText(4000) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const item = await getDb().selectFrom('rcp_item').select('id').where('id', '=', parsed.data.itemId).where('session_id', '=', session.id).executeTakeFirst();
		if (!item) return formError(404, 'Point introuvable.');
		await savePrepNote(getDb(), item.id, { id: user.id, profession: user.profession }, parsed.data.body);
		await broadcastRcpSession(session.id);
		return { success: messages(event.locals.locale).rcp.session.prepSaved };
	},
	invite: async (event) => {
		const { session, msRef, ms, ctx, refused } = await forTeam(event);
		if (refused) return refused;
		const t = messages(event.locals.locale);
		const parsed = parseForm(z.object({ userId: z.uuid({ error: 'errors.choice' }), itemIds: z.array(z.uuid({ error: 'errors.choice' })).min(1, { error: 'Choisissez au moins un point.' }).max(50) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (!(await inviteGuest(getDb(), ctx, msRef, session, parsed.data.userId, parsed.data.itemIds))) return formError(400, t.errors.choice, {}, { userId: t.errors.choice });
		await notify(getDb(), [parsed.data.userId], { kind: 'rcp_invitation', title: `${t.rcp.guests.notification} — ${ms.name}`, link: `/ms/${ms.id}/rcp/${session.id}` });
		await broadcastRcpSession(session.id);
		return { success: t.rcp.guests.invited };
	},
	start: async (event) => {
		const { session, msRef, ctx, refused } = await forTeam(event);
		if (refused) return refused;
		const t = messages(event.locals.locale);
		const parsed = parseForm(z.object({ offDay: choice(['confirme'] as const).optional() }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		// Outside its day, only on purpose: its minutes will carry the planned date.
		const day = sessionDay(session);
		if (session.status === 'planifiee' && day !== parisToday() && !parsed.data.offDay) {
			return fail(409, { errors: {} as FieldErrors, values: {} as Record<string, string>, message: fill(t.rcp.session.offDay.confirm, { date: formatDate(day, event.locals.locale) }), offDay: true });
		}
		if (!(await startSession(getDb(), ctx, msRef, session.id))) return formError(400, 'Cette RCP ne peut plus être démarrée.');
		await announceRcpStarted(session.id);
		return { success: t.rcp.session.started };
	},
	/** Moves a session planned on another day to today (same duration), then starts it. */
	moveToday: async (event) => {
		const { session, msRef, ctx, actor, refused } = await forTeam(event);
		if (refused) return refused;
		const t = messages(event.locals.locale);
		const form = await event.request.formData();
		const parsed = parseForm(z.object({ date: date(), startTime: time() }), form, event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const today = parisToday();
		if (parsed.data.date !== today) return formError(400, t.rcp.session.offDay.notToday, { startTime: parsed.data.startTime }, { date: t.rcp.session.offDay.notToday });
		const db = getDb();
		// Clashes as planning shows them: with the RCPs of every microstructure the person works in.
		const moved = await moveSessionToToday(db, ctx, msRef, session.id, parsed.data.startTime, actor.microstructures.map((m) => m.id), today);
		if (!moved.ok) return formError(400, moved.error, { startTime: parsed.data.startTime }, { startTime: moved.error });
		if (await startSession(db, ctx, msRef, session.id)) await announceRcpStarted(session.id);
		// A second click (or a colleague) started it meanwhile: it is live, which is what was asked.
		else if ((await getSession(db, session.id))?.status !== 'en_cours') return formError(400, 'Cette RCP ne peut plus être démarrée.');
		return { success: moved.moved ? t.rcp.session.offDay.moved : t.rcp.session.started };
	},
	cancel: async (event) => {
		const { session, msRef, ctx, ms, refused } = await forTeam(event);
		if (refused) return refused;
		if (!(await cancelSession(getDb(), ctx, msRef, session.id))) return formError(400, 'Seule une RCP planifiée peut être annulée.');
		redirect(303, `/ms/${ms.id}/rcp`);
	},
	close: async (event) => {
		const { session, msRef, ctx, ms, refused } = await forTeam(event);
		if (refused) return refused;
		const db = getDb();
		if (!(await closeSession(db, ctx, msRef, session.id))) return formError(400, "Cette RCP n'est pas en cours.");
		const items = await db.selectFrom('rcp_item').select('id').where('session_id', '=', session.id).execute();
		await announceRcpClosed(session.id, items.map((i) => i.id));
		redirect(303, `/ms/${ms.id}/rcp/${session.id}/compte-rendu`);
	}
};
