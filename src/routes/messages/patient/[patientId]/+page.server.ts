// "Écrire à l'équipe": the patient's thread, created on first use, for whoever the policy lets
// read it — anyone else gets the same 404 as for a patient that does not exist.
import { error, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { conversationAccess } from '$lib/server/access/policy';
import { resolvePatientRef } from '$lib/server/pps/pps';
import { patientThreadId } from '$lib/server/messaging/conversations';
import { requireActor } from '$lib/server/request';
import { isCleanText } from '$lib/server/input';
import { parseShareRequest, shareParam } from '$lib/server/messaging/links';

const MAX_CONTEXT = 500;

export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const patient = await resolvePatientRef(db, event.params.patientId);
	if (!patient || conversationAccess(actor, { kind: 'patient', patient }) === 'none') error(404, { message: 'Page introuvable' });
	const id = await patientThreadId(db, event.params.patientId, patient.microstructure.id);
	// Kept as given (a trailing space lets the person type straight after "PPS : ").
	const context = event.url.searchParams.get('contexte') ?? '';
	const query = new URLSearchParams();
	if (context.trim() && context.length <= MAX_CONTEXT && isCleanText(context)) query.set('brouillon', context);
	// "Partager dans le fil de l'équipe" from a PPS version or a compte-rendu: checked by the thread's page.
	const share = parseShareRequest(event.url.searchParams.get('lien'));
	if (share) query.set('lien', shareParam(share));
	redirect(303, `/messages/${id}${query.size ? `?${query}` : ''}`);
}
