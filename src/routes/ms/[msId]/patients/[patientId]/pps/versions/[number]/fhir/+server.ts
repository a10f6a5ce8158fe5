import { error } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { ppsContext } from '$lib/server/pps/context';
import { getVersionJson } from '$lib/server/pps/pps';
import { careTeam } from '$lib/server/patients/patients';
import { renderRefusal, renderResponse } from '$lib/server/render/http';
import { renderPool } from '$lib/server/render/pool';

// A validated version as a FHIR R4 bundle: CarePlan (with its CareTeam) and Goals. Built and
// serialised in a render worker (a maximal version is ~0.9 MB of JSON).
export async function GET(event) {
	const { patient } = await ppsContext(event, 'pps.fhir');
	const n = Number(event.params.number);
	const version = Number.isInteger(n) && n > 0 && n < 1_000_000 ? await getVersionJson(getDb(), patient.id, n, renderPool().maxInputBytes) : undefined;
	if (!version) error(404, { message: 'Page introuvable' });
	if (version.json === null) return renderRefusal('too_large', event.locals.locale);
	const team = await careTeam(getDb(), patient.id);
	return renderResponse(
		'fhir',
		{
			patient: { id: patient.id, code: patient.code },
			version: { number: version.number, created_at: version.created_at, json: version.json },
			team: team.members.map((m) => ({ id: m.id, first_name: m.first_name, last_name: m.last_name, profession: m.profession })),
			base: event.url.origin + '/fhir'
		},
		{ locale: event.locals.locale, headers: { 'content-type': 'application/fhir+json; charset=utf-8', 'cache-control': 'no-store' } }
	);
}
