import { getDb } from '$lib/server/db';
import { listVisibleMicrostructures } from '$lib/server/org/microstructures';
import { todoForActor } from '$lib/server/patients/patients';
import { namePatients } from '$lib/server/patients/names';
import { parisToday } from '$lib/server/patients/lifecycle';
import { audit } from '$lib/server/audit/audit';
import { auditContext, requireActor } from '$lib/server/request';
import { markActionDone, openActionsFor } from '$lib/server/rcp/actions';
import { formError, parseForm } from '$lib/server/forms';
import { messages } from '$lib/i18n';
import { z } from 'zod';

export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const visible = await listVisibleMicrostructures(db, actor);
	const refs = visible.map((m) => ({ id: m.id, networkId: m.network_id }));
	const [items, actions] = await Promise.all([todoForActor(db, actor, refs, parisToday()), openActionsFor(db, actor)]);
	const ctx = auditContext(event);
	await audit(db, ctx, { action: 'patient.todo', targetType: 'user', targetId: actor.userId, details: { count: items.length } });
	// Both lists only hold patients the actor may read: each is named beside its code.
	const patients = await namePatients(db, ctx, actor, [...items.map((i) => i.patientId), ...actions.map((a) => a.patient_id)], 'a_faire');
	const nameOf = (id: string) => patients.get(id)?.name ?? null;
	const msNames = new Map(visible.map((m) => [m.id, m.name]));
	return {
		items: items.map((i) => ({ ...i, name: nameOf(i.patientId), microstructureName: msNames.get(i.microstructureId) ?? '' })),
		actions: actions.map((a) => ({ ...a, name: nameOf(a.patient_id) }))
	};
}

export const actions = {
	done: async (event) => {
		const { user } = requireActor(event);
		const t = messages(event.locals.locale);
		const parsed = parseForm(z.object({ id: z.uuid({ error: 'errors.choice' }) }), await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		if (!(await markActionDone(getDb(), { ...auditContext(event), actorId: user.id }, parsed.data.id))) return formError(404, 'Action introuvable.');
		return { success: t.rcp.todo.doneSaved };
	}
}
