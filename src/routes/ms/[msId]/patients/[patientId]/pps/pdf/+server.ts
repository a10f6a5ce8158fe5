import { error } from '@sveltejs/kit';
import * as Y from 'yjs';
import { getDb } from '$lib/server/db';
import { patientLabel } from '$lib/server/patients/patients';
import { ownersFor, ppsContext } from '$lib/server/pps/context';
import { getVersionJson } from '$lib/server/pps/pps';
import { withLiveDoc } from '$lib/server/live';
import { renderRefusal, renderResponse } from '$lib/server/render/http';
import { renderPool } from '$lib/server/render/pool';
import { fill, formatDateTime, messages } from '$lib/i18n';

// The PPS as a PDF: a validated version (?version=N) or the current document. Rendered in a render
// worker: the event loop only reads the data (a version's JSON text, unparsed; the live document's
// encoded state, moved to the worker, which projects it).
export async function GET(event) {
	const { patient, ms, docName } = await ppsContext(event, 'pps.pdf');
	const t = messages(event.locals.locale);
	const requested = event.url.searchParams.get('version');
	let pps: { json: string } | { update: Uint8Array<ArrayBuffer> };
	let subtitle: string;
	if (requested) {
		const n = Number(requested);
		const version = Number.isInteger(n) && n > 0 && n < 1_000_000 ? await getVersionJson(getDb(), patient.id, n, renderPool().maxInputBytes) : undefined;
		if (!version) error(404, { message: 'Page introuvable' });
		if (version.json === null) return renderRefusal('too_large', event.locals.locale);
		pps = { json: version.json };
		subtitle = `${fill(t.pps.version, { n: version.number })} — ${formatDateTime(version.created_at, event.locals.locale)}`;
	} else {
		// A fresh copy that the worker can own (transferred, not cloned).
		pps = { update: new Uint8Array(await withLiveDoc(docName, (doc) => Y.encodeStateAsUpdate(doc))) };
		subtitle = `${t.pps.current} — ${formatDateTime(new Date(), event.locals.locale)}`;
	}
	const owners = await ownersFor(event, patient.id, ms.id);
	const name = patient.anonymised_at ? patient.code : `${patientLabel(patient)} (${patient.code})`;
	const info = { title: t.pps.title, patient: `${name} — ${ms.name}`, subtitle, owners: Object.fromEntries(owners.map((o) => [o.id, o.label])) };
	return renderResponse('ppsPdf', { pps, info, locale: event.locals.locale }, {
		locale: event.locals.locale,
		transfer: 'update' in pps ? [pps.update.buffer] : [],
		headers: { 'content-type': 'application/pdf', 'content-disposition': `inline; filename="pps-${patient.code}.pdf"`, 'cache-control': 'no-store' }
	});
}
