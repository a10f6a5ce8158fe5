// The RCP forms' schemas (planning, template), validated on the server with field errors in French.
import { z } from 'zod';
import { choice, choices, date, optionalDate, optionalText, text, time } from '../forms.ts';
import { cleanString } from '../input.ts';
import { addDays, parisToday } from '../patients/lifecycle.ts';
import { PROFESSIONS } from '../../professions.ts';
import { WEEKDAYS } from './schedule.ts';

// Planning is for the years to come: a date further away is a typing error (9999-12-31), and a
// series materialises sessions from its start, so it may not start long ago either.
const planned = () => date({ min: () => addDays(parisToday(), -366), max: () => addDays(parisToday(), 5 * 366) });
const until = () => optionalDate({ min: () => addDays(parisToday(), -366), max: () => addDays(parisToday(), 10 * 366) });
const visio = () =>
	cleanString()
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
		startsOn: planned(),
		untilOn: until()
	})
	.refine(endAfterStart, endError)
	.refine((d) => !d.untilOn || d.untilOn > d.startsOn, { error: 'La fin de la série doit suivre son début.', path: ['untilOn'] })
	// Only sessions to come are planned: a series already over would be created empty.
	.refine((d) => !d.untilOn || d.untilOn >= parisToday(), { error: 'Cette fin de série est déjà passée : aucune RCP ne serait planifiée.', path: ['untilOn'] });

export const sessionSchema = z.object({ ...slot, date: planned() }).refine(endAfterStart, endError);

export const templateSchema = z.object({
	name: text(120),
	targetMinutes: z.coerce.number({ error: 'errors.required' }).int().min(15, { error: 'Entre 15 et 480 minutes.' }).max(480, { error: 'Entre 15 et 480 minutes.' }),
	minFrequency: choice(['hebdomadaire', 'bimensuelle', 'mensuelle', 'bimestrielle', 'trimestrielle'] as const),
	sections: choices(['cas', 'organisation_pec', 'organisation_ms'] as const).min(1, { error: 'Gardez au moins une partie.' }),
	quorumProfessions: choices(PROFESSIONS),
	optionalInvitees: optionalText(300),
	patientMayAttend: z.array(z.literal('oui')).max(1),
	minutesPerCase: z.coerce.number({ error: 'errors.required' }).int().min(2, { error: 'Entre 2 et 60 minutes.' }).max(60, { error: 'Entre 2 et 60 minutes.' })
});
