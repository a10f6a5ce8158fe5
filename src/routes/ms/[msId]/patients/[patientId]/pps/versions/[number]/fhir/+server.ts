import { error, json } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { ppsContext } from '$lib/server/pps/context';
import { fhirBundle, getVersion } from '$lib/server/pps/pps';
import { careTeam } from '$lib/server/patients/patients';
import type { PpsProjection } from '$lib/pps/model';

// A validated version as a FHIR R4 bundle: CarePlan (with its CareTeam) and Goals.
export async function GET(event) {
	const { patient } = await ppsContext(event, 'pps.fhir');
	const n = Number(event.params.number);
	const version = Number.isInteger(n) && n > 0 ? await getVersion(getDb(), patient.id, n) : undefined;
	if (!version) error(404, { message: 'Page introuvable' });
	const team = await careTeam(getDb(), patient.id);
	const bundle = fhirBundle(patient, { number: version.number, created_at: version.created_at, projection: version.projection as unknown as PpsProjection }, team.members, event.url.origin + '/fhir');
	return json(bundle, { headers: { 'content-type': 'application/fhir+json; charset=utf-8', 'cache-control': 'no-store' } });
}
