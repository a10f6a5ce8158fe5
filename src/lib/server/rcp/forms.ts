// The RCP forms' schemas (planning, template), validated on the server with field errors in French.
import { z } from 'zod';
import { choice, optionalText, text } from '../forms.ts';
import { PROFESSIONS } from '../../professions.ts';
import { WEEKDAYS } from './schedule.ts';

const time = () => z.string({ error: 'errors.required' }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'errors.required' });
const date = () => z.string({ error: 'errors.date' }).regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'errors.date' });
const visio = () =>
	z
		.string()
		.trim()
		.max(500, { error: 'errors.tooLong' })
		.refine((v) => v === '' || /^https:\/\/[^\s]+$/.test(v), { error: 'Le lien de visio doit commencer par https://.' })
		.optional()
		.default('');

const slot = {
	title: text(120),
	startTime: time(),
	endTime: time(),
	roomId: z.union([z.literal(''), z.uuid({ error: 'errors.choice' })]).optional().default(''),
	visioUrl: visio(),
	programme: z.enum(['', 'MSMA', 'MSPC'], { error: 'errors.choice' }).optional().default('')
};

const endAfterStart = (d: { startTime: string; endTime: string }) => d.endTime > d.startTime;
const endError = { error: "L'heure de fin doit suivre l'heure de début.", path: ['endTime'] };

export const seriesSchema = z
	.object({
		...slot,
		pattern: choice(['mensuel', 'hebdomadaire', 'bimensuel'] as const),
		nth: choice(['1', '2', '3', '4', '-1'] as const).optional().default('1'),
		weekday: choice(WEEKDAYS),
		startsOn: date(),
		untilOn: z.union([z.literal(''), date()]).optional().default('')
	})
	.refine(endAfterStart, endError)
	.refine((d) => !d.untilOn || d.untilOn > d.startsOn, { error: 'La fin de la série doit suivre son début.', path: ['untilOn'] });

export const sessionSchema = z.object({ ...slot, date: date() }).refine(endAfterStart, endError);

export const templateSchema = z.object({
	name: text(120),
	targetMinutes: z.coerce.number({ error: 'errors.required' }).int().min(15, { error: 'Entre 15 et 480 minutes.' }).max(480, { error: 'Entre 15 et 480 minutes.' }),
	minFrequency: choice(['hebdomadaire', 'bimensuelle', 'mensuelle', 'bimestrielle', 'trimestrielle'] as const),
	sections: z.array(choice(['cas', 'organisation_pec', 'organisation_ms'] as const)).min(1, { error: 'Gardez au moins une partie.' }),
	quorumProfessions: z.array(choice(PROFESSIONS)).max(PROFESSIONS.length),
	optionalInvitees: optionalText(300),
	patientMayAttend: z.array(z.literal('oui')).max(1),
	minutesPerCase: z.coerce.number({ error: 'errors.required' }).int().min(2, { error: 'Entre 2 et 60 minutes.' }).max(60, { error: 'Entre 2 et 60 minutes.' })
});
