import { json } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { patientOf } from '$lib/server/patients/guard';
import { exportPatient } from '$lib/server/patients/patients';
import { audit } from '$lib/server/audit/audit';

// Right of access (RGPD art. 15): everything held about the patient, as JSON. Audited as an export.
export async function GET(event) {
	const { ref, ctx, patient } = await patientOf(event, 'export');
	const body = await exportPatient(getDb(), patient);
	await audit(getDb(), ctx, { action: 'patient.exported', targetType: 'patient', targetId: patient.id, microstructureId: ref.id, networkId: ref.networkId });
	return json(body, { headers: { 'content-disposition': `attachment; filename="patient-${patient.code}.json"`, 'cache-control': 'no-store' } });
}
