import { error } from '@sveltejs/kit';
import * as Y from 'yjs';
import { getDb } from '$lib/server/db';
import { patientLabel } from '$lib/server/patients/patients';
import { ownersFor, ppsContext } from '$lib/server/pps/context';
import { getVersion } from '$lib/server/pps/pps';
import { ppsPdf } from '$lib/server/pps/pdf';
import { withLiveDoc } from '$lib/server/realtime/attach';
import { fill, formatDateTime, messages } from '$lib/i18n';
import { project, type PpsProjection } from '$lib/pps/model';

// The PPS as a PDF: a validated version (?version=N) or the current document.
export async function GET(event) {
	const { patient, ms, docName } = await ppsContext(event, 'pps.pdf');
	const t = messages(event.locals.locale);
	const requested = event.url.searchParams.get('version');
	let projection: PpsProjection;
	let subtitle: string;
	if (requested) {
		const version = await getVersion(getDb(), patient.id, Number(requested) || 0);
		if (!version) error(404, { message: 'Page introuvable' });
		projection = version.projection as unknown as PpsProjection;
		subtitle = `${fill(t.pps.version, { n: version.number })} — ${formatDateTime(version.created_at, event.locals.locale)}`;
	} else {
		const state = await withLiveDoc(docName, (doc) => Y.encodeStateAsUpdate(doc));
		const doc = new Y.Doc();
		Y.applyUpdate(doc, state);
		projection = project(doc);
		doc.destroy();
		subtitle = `${t.pps.current} — ${formatDateTime(new Date(), event.locals.locale)}`;
	}
	const owners = await ownersFor(event, patient.id, ms.id);
	const name = patient.anonymised_at ? patient.code : `${patientLabel(patient)} (${patient.code})`;
	const pdf = await ppsPdf(projection, { title: t.pps.title, patient: `${name} — ${ms.name}`, subtitle, who: (id) => owners.find((o) => o.id === id)?.label ?? id }, t.pps);
	return new Response(new Uint8Array(pdf), {
		headers: { 'content-type': 'application/pdf', 'content-disposition': `inline; filename="pps-${patient.code}.pdf"`, 'cache-control': 'no-store' }
	});
}
