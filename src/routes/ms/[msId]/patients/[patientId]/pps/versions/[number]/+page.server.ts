import { error, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { patientLabel } from '$lib/server/patients/patients';
import { ppsContext, ownersFor } from '$lib/server/pps/context';
import { getVersion } from '$lib/server/pps/pps';
import { conversationAccess } from '$lib/server/access/policy';
import { withLiveDoc } from '$lib/server/live';
import { audit } from '$lib/server/audit/audit';
import { formError } from '$lib/server/forms';
import { messages } from '$lib/i18n';
import { diff, restore, type PpsProjection } from '$lib/pps/model';

function versionNumber(value: string | null | undefined): number | null {
	const n = Number(value);
	return Number.isInteger(n) && n > 0 && n < 1_000_000 ? n : null;
}

export async function load(event) {
	const { patient, ms, access, patientRef, actor } = await ppsContext(event, 'pps.version');
	const n = versionNumber(event.params.number);
	const db = getDb();
	const version = n ? await getVersion(db, patient.id, n) : undefined;
	if (!version) error(404, { message: 'Page introuvable' });
	const otherNumber = versionNumber(event.url.searchParams.get('avec')) ?? (version.number > 1 ? version.number - 1 : null);
	const other = otherNumber && otherNumber !== version.number ? await getVersion(db, patient.id, otherNumber) : undefined;
	const owners = await ownersFor(event, patient.id, ms.id);
	const label = (id: string) => owners.find((o) => o.id === id)?.label ?? id;
	const projection = version.projection as unknown as PpsProjection;
	const [older, newer] = other && other.number < version.number ? [other, version] : [version, other];
	return {
		ms: { id: ms.id, name: ms.name },
		patient: { id: patient.id, code: patient.code, name: patientLabel(patient) },
		version: { number: version.number, created_at: version.created_at, by: `${version.first_name ?? ''} ${version.last_name ?? ''}`.trim(), projection },
		diff: other && newer ? { a: older.number, b: newer.number, lines: diff(older.projection as unknown as PpsProjection, newer.projection as unknown as PpsProjection, label) } : null,
		owners: Object.fromEntries(owners.map((o) => [o.id, o.label])),
		canRestore: access === 'rw',
		// "Partager dans le fil de l'équipe": for whoever may write in the patient's thread.
		canShare: conversationAccess(actor, { kind: 'patient', patient: patientRef }) === 'rw'
	};
}

export const actions = {
	restore: async (event) => {
		const { patient, ms, ctx, ref, access, docName } = await ppsContext(event, 'pps.restore');
		const t = messages(event.locals.locale);
		if (access !== 'rw') return formError(403, t.errors.forbidden);
		const n = versionNumber(event.params.number);
		const version = n ? await getVersion(getDb(), patient.id, n) : undefined;
		if (!version) return formError(404, t.common.notFound);
		// Restoring is an edit like any other: it reaches everyone connected and is stored.
		await withLiveDoc(docName, (doc) => restore(doc, version.projection as unknown as PpsProjection, 'restore'));
		await audit(getDb(), ctx, { action: 'pps.restored', targetType: 'patient', targetId: patient.id, microstructureId: ref.id, networkId: ref.networkId, details: { version: version.number } });
		redirect(303, `/ms/${ms.id}/patients/${patient.id}/pps?restauree=${version.number}`);
	}
};
