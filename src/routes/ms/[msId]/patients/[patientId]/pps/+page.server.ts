import { getDb } from '$lib/server/db';
import { patientLabel } from '$lib/server/patients/patients';
import { ppsContext, ownersFor } from '$lib/server/pps/context';
import { listVersions, validateVersion } from '$lib/server/pps/pps';
import { withLiveDoc } from '$lib/server/live';
import { formError } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import { project, projectionProblems } from '$lib/pps/model';
import * as Y from 'yjs';
import { mayAskToJoinTeam } from '$lib/server/access/policy';
import { pendingAccessRequest, requestAccess } from '$lib/server/patients/requests';

export async function load(event) {
	const { patient, ms, access, decision, docName, user } = await ppsContext(event);
	const canAsk = mayAskToJoinTeam(decision);
	return {
		ms: { id: ms.id, name: ms.name },
		patient: { id: patient.id, code: patient.code, name: patientLabel(patient) },
		docName,
		readOnly: access !== 'rw',
		// Why, from the policy, and whether "Demander l'accès" applies (with the request already sent).
		readOnlyReason: decision.reason,
		canAsk,
		askedOn: canAsk ? await pendingAccessRequest(getDb(), patient.id, user.id) : null,
		me: { id: user.id, name: `${user.first_name} ${user.last_name}` },
		owners: await ownersFor(event, patient.id, ms.id),
		versions: await listVersions(getDb(), patient.id),
		restored: Number(event.url.searchParams.get('restauree')) || null
	};
}

export const actions = {
	requestAccess: async (event) => {
		const { ref, ctx, patient, decision } = await ppsContext(event, 'pps.access_request');
		const t = messages(event.locals.locale);
		if (!mayAskToJoinTeam(decision)) return formError(400, t.readOnly.cannotAsk);
		const result = await requestAccess(getDb(), ctx, ref, patient);
		if (!result.ok) return result.reason === 'already' ? { success: t.readOnly.already } : formError(400, t.readOnly.nobody);
		return { success: t.readOnly.asked };
	},
	validate: async (event) => {
		const { ref, ctx, patient, access, docName } = await ppsContext(event, 'pps.validate');
		const t = messages(event.locals.locale);
		if (access !== 'rw') return formError(403, t.errors.forbidden);
		// The version is taken from the live document: every edit the server has received.
		const snapshot = await withLiveDoc(docName, (doc) => Y.encodeStateAsUpdate(doc));
		const doc = new Y.Doc();
		Y.applyUpdate(doc, snapshot);
		if (projectionProblems(project(doc)).length) return formError(400, t.pps.tooLarge);
		const number = await validateVersion(getDb(), ctx, ref, patient.id, doc);
		doc.destroy();
		return { success: fill(t.pps.validated, { n: number }) };
	}
};
