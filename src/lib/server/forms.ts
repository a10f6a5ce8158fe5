// Server-side validation of form actions with zod: field-level errors in the user's language.
// Every form goes through `parseForm`, which refuses unclean text in any field (NUL, lone
// surrogates, control characters) before the schema runs, so that no route can store it.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { messages, type Locale } from '../i18n/index.ts';
import { calendarDate, cleanString, clockTime, isCleanText, type DateBounds } from './input.ts';

export type FieldErrors = Record<string, string>;

export interface FormFailure {
	errors: FieldErrors;
	values: Record<string, string>;
	message?: string;
}

/** Text fields that may be long are still bounded: nobody types 10 kB into a name. */
export const text = (max = 200) => cleanString().trim().min(1, { error: 'errors.required' }).max(max, { error: 'errors.tooLong' });
export const optionalText = (max = 200) => cleanString().trim().max(max, { error: 'errors.tooLong' }).optional().default('');
export const email = () => cleanString().trim().toLowerCase().pipe(z.email({ error: 'errors.email' }).max(254, { error: 'errors.tooLong' }));
// Passwords are not normalised (an existing hash was made from the bytes typed), only bounded.
export const password = () =>
	z.string({ error: 'errors.required' }).min(10, { error: 'errors.passwordTooShort' }).max(256, { error: 'errors.tooLong' });
/** One value of a closed list, checked against the list itself (never a lookup by key). */
export const choice = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: 'errors.choice' });
/** Several values of a closed list (checkboxes), each at most once. */
export const choices = <const T extends readonly [string, ...string[]]>(values: T) =>
	z
		.array(choice(values))
		.max(values.length, { error: 'errors.choice' })
		.refine((v) => new Set(v).size === v.length, { error: 'errors.choice' });
/** A real calendar day 'YYYY-MM-DD' within bounds (1900–2100 unless narrowed). */
export const date = (bounds: DateBounds = {}) => calendarDate(bounds);
/** An optional day: an empty field is `undefined`. */
export const optionalDate = (bounds: DateBounds = {}) => z.preprocess((v) => (v === '' ? undefined : v), calendarDate(bounds).optional());
/** A time of day 'HH:MM'. */
export const time = () => clockTime();
/** An id chosen in a list the page offered. */
export const id = () => z.uuid({ error: 'errors.choice' });

const SECRETS = ['password', 'passwordConfirm', 'currentPassword', 'newPassword', 'code'];
const MAX_ECHOED = 100;

/** What was typed, sent back so the page keeps it: bounded, secrets left out, unclean text dropped. */
function valuesOf(form: FormData): Record<string, string> {
	const values: Record<string, string> = {};
	let n = 0;
	for (const [key, value] of form.entries()) {
		if (n >= MAX_ECHOED) break;
		if (typeof value !== 'string' || SECRETS.includes(key) || key in values || !isCleanText(key)) continue;
		const kept = value.slice(0, 1000).toWellFormed();
		values[key] = isCleanText(kept) ? kept : '';
		n++;
	}
	return values;
}

function translate(message: string, locale: Locale): string {
	if (message.startsWith('errors.')) {
		const key = message.slice('errors.'.length) as keyof ReturnType<typeof messages>['errors'];
		return messages(locale).errors[key] ?? message;
	}
	return message;
}

function failure(form: FormData, errors: FieldErrors, locale: Locale) {
	return fail(400, { errors, values: valuesOf(form), message: messages(locale).common.formErrors });
}

/**
 * Parses a submitted form. Multi-valued fields (checkboxes) are read as arrays when the schema's
 * field is an array. Secrets (passwords, codes) are never echoed back.
 */
export function parseForm<S extends z.ZodObject>(
	schema: S,
	form: FormData,
	locale: Locale
): { ok: true; data: z.output<S> } | { ok: false; failure: ReturnType<typeof fail<FormFailure>> } {
	const raw: Record<string, unknown> = {};
	const errors: FieldErrors = {};
	for (const [key, field] of Object.entries(schema.shape)) {
		const isArray = field instanceof z.ZodArray || (field as z.ZodType).def?.type === 'array';
		const entries = form.getAll(key);
		const all = entries.filter((v): v is string => typeof v === 'string');
		// Whatever the field's own schema says, unclean text never reaches it, nor a file.
		if (all.length < entries.length) errors[key] = messages(locale).errors.invalid;
		else if (!all.every(isCleanText)) errors[key] = messages(locale).errors.characters;
		raw[key] = isArray ? all : all[0];
	}
	if (Object.keys(errors).length) return { ok: false, failure: failure(form, errors, locale) };
	const result = schema.safeParse(raw, { error: z.locales[locale]().localeError });
	if (result.success) return { ok: true, data: result.data };
	for (const issue of result.error.issues) {
		const key = String(issue.path[0] ?? '_');
		errors[key] ??= translate(issue.message, locale);
	}
	return { ok: false, failure: failure(form, errors, locale) };
}

/** A failure that is not about one field (wrong password, throttled…). */
export function formError(status: number, message: string, values: Record<string, string> = {}, errors: FieldErrors = {}) {
	return fail(status, { errors, values, message });
}
