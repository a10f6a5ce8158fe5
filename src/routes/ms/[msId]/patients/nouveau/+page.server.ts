import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { createPatient, addConsentDocument, type NewPatient } from '$lib/server/patients/patients';
import { patientsOf } from '$lib/server/patients/guard';
import { consentMethodField, identityFields, isoDate, orNull, orientationField, readConsentFile, recordFields } from '$lib/server/patients/forms';
import { parisToday } from '$lib/server/patients/lifecycle';
import { formError, parseForm } from '$lib/server/forms';

export async function load(event) {
	const { ms } = await patientsOf(event);
	return { ms: { id: ms.id, name: ms.name, programmes: ms.programmes }, today: parisToday() };
}

const common = {
	...identityFields,
	...recordFields,
	programme: z.enum(['MSMA', 'MSPC'], { error: 'errors.choice' }),
	includedOn: isoDate()
};
const includeSchema = z.object({ ...common, orientation: orientationField, consentMethod: consentMethodField });
const orientSchema = z.object(common);

export const actions = {
	default: async (event) => {
		const { ms, ref, ctx } = await patientsOf(event);
		const form = await event.request.formData();
		const mode = form.get('mode') === 'orienter' ? 'orienter' : 'inclure';
		const file = await readConsentFile(form.get('consentFile'));
		if (!file.ok) return formError(400, file.error, {}, { consentFile: file.error });
		let d: z.output<typeof orientSchema>;
		let start: NewPatient['start'];
		if (mode === 'inclure') {
			const parsed = parseForm(includeSchema, form, event.locals.locale);
			if (!parsed.ok) return parsed.failure;
			d = parsed.data;
			start = { kind: 'include', on: d.includedOn, orientation: parsed.data.orientation, consent: { on: d.includedOn, method: parsed.data.consentMethod } };
		} else {
			const parsed = parseForm(orientSchema, form, event.locals.locale);
			if (!parsed.ok) return parsed.failure;
			d = parsed.data;
			start = { kind: 'orient', on: d.includedOn };
		}
		if (!ms.programmes.includes(d.programme)) return formError(400, 'Cette microstructure ne propose pas ce programme.', {}, { programme: 'Programme non proposé ici.' });
		const today = parisToday();
		const db = getDb();
		const created = await createPatient(db, ctx, ref, {
			identity: { lastName: d.lastName, firstName: d.firstName, birthDate: d.birthDate, sex: d.sex as 'F' | 'M' | 'X' | null, phone: orNull(d.phone), email: orNull(d.email) },
			programme: d.programme,
			motif: d.motif,
			orientationOrigin: d.orientationOrigin as never,
			medecinTraitant: orNull(d.medecinTraitant),
			start
		}, today);
		if (!created.ok) return formError(400, created.error, {}, { includedOn: created.error });
		if (file.file) await addConsentDocument(db, ctx, ref, created.id, file.file);
		redirect(303, `/ms/${ms.id}/patients/${created.id}?nouveau`);
	}
};
