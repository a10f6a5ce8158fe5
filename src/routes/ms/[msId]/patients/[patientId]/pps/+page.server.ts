import { getDb } from '$lib/server/db';
import { patientLabel } from '$lib/server/patients/patients';
import { ppsContext, ownersFor } from '$lib/server/pps/context';
import { listVersions, validateVersion } from '$lib/server/pps/pps';
import { withLiveDoc } from '$lib/server/realtime/attach';
import { formError } from '$lib/server/forms';
import { fill, messages } from '$lib/i18n';
import { project, projectionProblems } from '$lib/pps/model';
import * as Y from 'yjs';

export async function load(event) {
	const { patient, ms, access, docName, user } = await ppsContext(event);
	return {
		ms: { id: ms.id, name: ms.name },
		patient: { id: patient.id, code: patient.code, name: patientLabel(patient) },
		docName,
		readOnly: access !== 'rw',
		me: { id: user.id, name: `${user.first_name} ${user.last_name}` },
		owners: await ownersFor(event, patient.id, ms.id),
		versions: await listVersions(getDb(), patient.id),
		restored: Number(event.url.searchParams.get('restauree')) || null
	};
}

export const actions = {
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
