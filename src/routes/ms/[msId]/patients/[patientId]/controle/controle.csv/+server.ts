import { getDb } from '$lib/server/db';
import { patientOf } from '$lib/server/patients/guard';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditControlFile, controlFile, controlFileCsv, fileSafe } from '$lib/server/cockpit/control-file';
import { } from '$lib/i18n';
import { withCockpit } from '$lib/i18n/cockpit';

// The control file as CSV (UTF-8 with BOM, ';'), one line per fact; audited as a download.
export async function GET(event) {
	const { ms, ref, ctx, patient } = await patientOf(event, 'control_file');
	const db = getDb();
	const file = await controlFile(db, patient, ms.name, parisToday());
	await auditControlFile(db, ctx, ref, patient.id, 'csv');
	return new Response(controlFileCsv(file, withCockpit(event.locals.locale)), {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="controle-${fileSafe(patient.code)}.csv"`,
			'cache-control': 'no-store'
		}
	});
}
