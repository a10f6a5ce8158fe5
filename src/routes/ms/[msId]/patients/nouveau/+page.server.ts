import { fail, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { createPatient, addConsentDocument, type NewPatient } from '$lib/server/patients/patients';
import { patientsOf } from '$lib/server/patients/guard';
import { consentMethodField, identityFields, isoDate, orNull, orientationField, readConsentFile, recordFields } from '$lib/server/patients/forms';
import { parisToday } from '$lib/server/patients/lifecycle';
import { loadNirKeys, prepareNir } from '$lib/server/patients/nir';
import { readPicks, referralCandidates } from '$lib/server/patients/referral';
import { requestTransfer } from '$lib/server/patients/requests';
import type { DuplicateReport } from '$lib/server/patients/duplicates';
import { formError, optionalText, parseForm } from '$lib/server/forms';
import { messages } from '$lib/i18n';

export async function load(event) {
	const { actor, ms, ref } = await patientsOf(event);
	const candidates = await referralCandidates(getDb(), ms.id);
	return {
		ms: { id: ms.id, name: ms.name, programmes: ms.programmes },
		today: parisToday(),
		// A choice is asked only where several professionals of one profession could take the referral.
		referral: Object.entries(candidates)
			.filter(([, people]) => people.length > 1)
			.map(([profession, people]) => ({ profession, people: people.map((p) => ({ id: p.id, name: `${p.first_name} ${p.last_name}` })) })),
		// The NIR is for the administrative coordination only (billing); they may type it at inclusion.
		canNir: can(actor, 'patient.nir', { microstructure: ref })
	};
}

const common = {
	...identityFields,
	...recordFields,
	programme: z.enum(['MSMA', 'MSPC'], { error: 'errors.choice' }),
	includedOn: isoDate(),
	nir: optionalText(30),
	homonymOf: optionalText(64)
};
const includeSchema = z.object({ ...common, orientation: orientationField, consentMethod: consentMethodField });
const orientSchema = z.object(common);
const identitySchema = z.object({ lastName: identityFields.lastName, firstName: identityFields.firstName, birthDate: identityFields.birthDate, nir: optionalText(30) });

/** A refused inclusion: the form's values back (nothing typed is lost) and the matches it may show. */
function duplicateFailure(message: string, form: FormData, duplicate: DuplicateReport) {
	const values: Record<string, string> = {};
	for (const [key, value] of form.entries()) if (typeof value === 'string' && key !== 'homonymOf' && key !== 'intent') values[key] = value.slice(0, 1000);
	return fail(409, { errors: {} as Record<string, string>, values, message, duplicate });
}

export const actions = {
	default: async (event) => {
		const { actor, ms, ref, ctx } = await patientsOf(event);
		const t = messages(event.locals.locale);
		const form = await event.request.formData();
		const db = getDb();
		const canNir = can(actor, 'patient.nir', { microstructure: ref });

		// "Demander le transfert": the identity typed is looked up again, nothing is created.
		if (form.get('intent') === 'transfer') {
			const parsed = parseForm(identitySchema, form, event.locals.locale);
			if (!parsed.ok) return parsed.failure;
			const nir = canNir && parsed.data.nir ? prepareNir({ status: 'fourni', nir: parsed.data.nir }, loadNirKeys()) : null;
			const probe = { lastName: parsed.data.lastName, firstName: parsed.data.firstName, birthDate: parsed.data.birthDate, nir: nir?.ok ? nir.nir : null };
			const asked = await requestTransfer(db, ctx, { ...ref, name: ms.name }, probe, probe.nir ? loadNirKeys() : null);
			const values: Record<string, string> = {};
			for (const [key, value] of form.entries()) if (typeof value === 'string' && key !== 'intent') values[key] = value.slice(0, 1000);
			if (!asked.ok) return fail(400, { errors: {}, values, message: asked.reason === 'none' ? t.duplicates.transferNone : t.duplicates.transferAlready });
			return { success: t.duplicates.transferRequested, values };
		}

		// "C'est un homonyme" is its own button: the mode of the refused submission comes with it.
		const mode = (form.get('mode') ?? form.get('homonymMode')) === 'orienter' ? 'orienter' : 'inclure';
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
		const keep = { ...Object.fromEntries([...form.entries()].filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'homonymOf').map(([k, v]) => [k, v.slice(0, 1000)])) };
		if (!ms.programmes.includes(d.programme)) return formError(400, 'Cette microstructure ne propose pas ce programme.', keep, { programme: 'Programme non proposé ici.' });
		const picks = readPicks(form);
		if (!picks.ok) return formError(400, t.common.formErrors, keep, { [`referTo_${picks.profession}`]: t.referral.invalid });
		// A NIR typed by someone who may not handle it is ignored, never stored.
		const nir = canNir && d.nir ? prepareNir({ status: 'fourni', nir: d.nir }, loadNirKeys()) : null;
		if (nir && !nir.ok) return formError(400, t.common.formErrors, keep, { nir: nir.error });
		const created = await createPatient(
			db,
			ctx,
			ref,
			{
				identity: { lastName: d.lastName, firstName: d.firstName, birthDate: d.birthDate, sex: d.sex as 'F' | 'M' | 'X' | null, phone: orNull(d.phone), email: orNull(d.email) },
				programme: d.programme,
				motif: d.motif,
				orientationOrigin: d.orientationOrigin as never,
				medecinTraitant: orNull(d.medecinTraitant),
				start
			},
			parisToday(),
			{ referTo: picks.picks, homonymOf: d.homonymOf || null, nir: nir?.ok ? nir : null, nirKeys: nir?.ok ? loadNirKeys() : null }
		);
		if (!created.ok) {
			if (created.duplicate) return duplicateFailure(created.error, form, created.duplicate);
			return formError(400, created.field ? t.common.formErrors : created.error, keep, { [created.field ?? 'includedOn']: created.error });
		}
		if (file.file) await addConsentDocument(db, ctx, ref, created.id, file.file);
		redirect(303, `/ms/${ms.id}/patients/${created.id}?nouveau`);
	}
};
