import { getDb } from '$lib/server/db';
import { patientOf } from '$lib/server/patients/guard';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditControlFile, controlFile } from '$lib/server/cockpit/control-file';

// The patient's control file as a page: whoever may read the patient (policy 'patient.read', 404
// otherwise, through the patient guard); every view is audited.
export async function load(event) {
	const { ms, ref, ctx, patient } = await patientOf(event, 'control_file');
	const db = getDb();
	const file = await controlFile(db, patient, ms.name, parisToday());
	await auditControlFile(db, ctx, ref, patient.id, 'page');
	return { ms: { id: ms.id, name: ms.name }, file };
}
