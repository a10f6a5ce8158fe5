// Loads what a patient page or action needs, answering 404 — never "forbidden" — when the
// microstructure or the patient is not visible to the actor, so that guessing ids reveals nothing.
import { error, type RequestEvent } from '@sveltejs/kit';
import { can } from '../access/policy.ts';
import { getDb } from '../db/index.ts';
import { isUuid } from '../org/microstructures.ts';
import { auditContext, requireActor } from '../request.ts';
import { openPatient } from './patients.ts';

export async function patientsOf(event: RequestEvent) {
	const { user, actor } = requireActor(event);
	const ms = await microstructure(event.params.msId ?? '');
	const ref = ms ? { id: ms.id, networkId: ms.network_id } : null;
	if (!ms || !ref || !can(actor, 'patient.read', { microstructure: ref })) error(404, { message: 'Page introuvable' });
	return { user, actor, ms, ref, ctx: { ...auditContext(event), actorId: user.id } };
}

/** What patient pages use of the microstructure, in one query (no sites or rooms). */
async function microstructure(id: string) {
	if (!isUuid(id)) return undefined;
	return getDb()
		.selectFrom('microstructure')
		.select(['id', 'name', 'programmes', 'practice_kind', 'city', 'network_id'])
		.where('id', '=', id)
		.where('archived_at', 'is', null)
		.executeTakeFirst();
}

export async function patientOf(event: RequestEvent, purpose = 'record') {
	const base = await patientsOf(event);
	const patient = await openPatient(getDb(), base.ctx, base.actor, base.ref, event.params.patientId ?? '', purpose);
	if (!patient) error(404, { message: 'Page introuvable' });
	return { ...base, patient };
}
