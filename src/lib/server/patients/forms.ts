// Validation of the patient forms (shared by the inclusion page and the record page).
import { z } from 'zod';
import { date, optionalText, text } from '../forms.ts';
import { cleanFileName } from '../input.ts';
import { parisToday } from './lifecycle.ts';

/** A real calendar day (see forms.ts `date`): pathway steps, inclusion, birth. */
export const isoDate = () => date();

const optionalEnum = <const T extends readonly [string, ...string[]]>(values: T) =>
	z.preprocess((v) => (v === '' || v === undefined ? null : v), z.enum(values, { error: 'errors.choice' }).nullable());

export const identityFields = {
	lastName: text(100),
	firstName: text(100),
	birthDate: isoDate().refine((d) => d >= '1900-01-01' && d <= parisToday(), { error: 'errors.birthDate' }),
	sex: optionalEnum(['F', 'M', 'X']),
	phone: optionalText(30).refine((v) => v === '' || /^[+0-9 ().-]{6,30}$/.test(v), { error: 'errors.phone' }),
	email: optionalText(254).refine((v) => v === '' || z.email().safeParse(v).success, { error: 'errors.email' })
};

export const recordFields = {
	motif: z.enum(['addiction', 'precarite', 'sante_mentale'], { error: 'errors.choice' }),
	orientationOrigin: optionalEnum(['medecin_ms', 'csapa', 'autre_medecin', 'hopital', 'autre']),
	medecinTraitant: optionalText(200)
};

export const orientationField = z.enum(['psychologue', 'travailleur_social', 'les_deux'], { error: 'errors.choice' });
export const consentMethodField = z.enum(['oral_atteste', 'formulaire_signe'], { error: 'errors.consent' });

const MAX_CONSENT_BYTES = 5 * 1024 * 1024;

/** A scanned consent form: PDF, JPEG or PNG, checked by its first bytes, not only its name. */
export async function readConsentFile(value: FormDataEntryValue | null): Promise<{ ok: true; file: { name: string; type: string; bytes: Uint8Array } | null } | { ok: false; error: string }> {
	if (!value || typeof value === 'string' || value.size === 0) return { ok: true, file: null };
	if (value.size > MAX_CONSENT_BYTES) return { ok: false, error: 'Le fichier dépasse 5 Mo.' };
	const bytes = new Uint8Array(await value.arrayBuffer());
	const head = Array.from(bytes.slice(0, 4));
	const type =
		head[0] === 0x25 && head[1] === 0x50 && head[2] === 0x44 && head[3] === 0x46
			? 'application/pdf'
			: head[0] === 0xff && head[1] === 0xd8
				? 'image/jpeg'
				: head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47
					? 'image/png'
					: null;
	if (!type) return { ok: false, error: 'Format non accepté : PDF, JPEG ou PNG uniquement.' };
	return { ok: true, file: { name: cleanFileName(value.name) || 'consentement', type, bytes } };
}

/** Empty strings from optional inputs become null in the database. */
export function orNull(value: string | null | undefined): string | null {
	return value ? value : null;
}
