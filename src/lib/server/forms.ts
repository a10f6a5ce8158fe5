// Server-side validation of form actions with zod: field-level errors in the user's language.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { messages, type Locale } from '../i18n/index.ts';

export type FieldErrors = Record<string, string>;

export interface FormFailure {
	errors: FieldErrors;
	values: Record<string, string>;
	message?: string;
}

/** Text fields that may be long are still bounded: nobody types 10 kB into a name. */
export const text = (max = 200) =>
	z
		.string({ error: 'errors.required' })
		.trim()
		.min(1, { error: 'errors.required' })
		.max(max, { error: 'errors.tooLong' });
export const optionalText = (max = 200) => z.string().trim().max(max, { error: 'errors.tooLong' }).optional().default('');
export const email = () => z.string({ error: 'errors.required' }).trim().toLowerCase().pipe(z.email({ error: 'errors.email' }).max(254));
export const password = () =>
	z.string({ error: 'errors.required' }).min(10, { error: 'errors.passwordTooShort' }).max(256, { error: 'errors.tooLong' });
export const choice = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: 'errors.choice' });

function valuesOf(form: FormData, hidden: string[]): Record<string, string> {
	const values: Record<string, string> = {};
	for (const [key, value] of form.entries()) {
		if (typeof value === 'string' && !hidden.includes(key)) values[key] = value.slice(0, 1000);
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
	for (const [key, field] of Object.entries(schema.shape)) {
		const isArray = field instanceof z.ZodArray || (field as z.ZodType).def?.type === 'array';
		const all = form.getAll(key).filter((v): v is string => typeof v === 'string');
		raw[key] = isArray ? all : all[0];
	}
	const result = schema.safeParse(raw, { error: z.locales[locale]().localeError });
	if (result.success) return { ok: true, data: result.data };
	const errors: FieldErrors = {};
	for (const issue of result.error.issues) {
		const key = String(issue.path[0] ?? '_');
		errors[key] ??= translate(issue.message, locale);
	}
	return {
		ok: false,
		failure: fail(400, {
			errors,
			values: valuesOf(form, ['password', 'passwordConfirm', 'currentPassword', 'newPassword', 'code']),
			message: messages(locale).common.formErrors
		})
	};
}

/** A failure that is not about one field (wrong password, throttled…). */
export function formError(status: number, message: string, values: Record<string, string> = {}, errors: FieldErrors = {}) {
	return fail(status, { errors, values, message });
}
