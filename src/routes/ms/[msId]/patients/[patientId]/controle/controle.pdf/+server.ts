import { getDb } from '$lib/server/db';
import { patientOf } from '$lib/server/patients/guard';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditControlFile, controlFile, fileSafe } from '$lib/server/cockpit/control-file';
import { renderResponse } from '$lib/server/render/http';

// The control file as a PDF: the data is read here (SQL), the document is laid out in a render
// worker, off the event loop. Audited as a download.
export async function GET(event) {
	const { ms, ref, ctx, patient } = await patientOf(event, 'control_file');
	const db = getDb();
	const file = await controlFile(db, patient, ms.name, parisToday());
	await auditControlFile(db, ctx, ref, patient.id, 'pdf');
	return renderResponse('controlFilePdf', { file, locale: event.locals.locale }, {
		locale: event.locals.locale,
		headers: {
			'content-type': 'application/pdf',
			'content-disposition': `attachment; filename="controle-${fileSafe(patient.code)}.pdf"`,
			'cache-control': 'no-store'
		}
	});
}
