// One-click RCP decisions and what each one does to the patient (domain §3: "capture as a
// by-product of the discussion"). Validation and effects are pure; live.ts applies them.
import { z } from 'zod';
import type { Action } from '../patients/lifecycle.ts';
import type { RcpDecision } from '../db/schema.ts';
import { calendarDate, cleanString } from '../input.ts';

export const DECISIONS = ['poursuite', 'adaptation_pps', 'renouvellement', 'fin_de_suivi', 'reorientation', 'a_revoir'] as const satisfies readonly RcpDecision[];
export const EXIT_REASONS = ['amelioration', 'souhait_patient', 'reorientation', 'perdu_de_vue', 'demenagement', 'deces', 'autre'] as const;
export const MAX_ACTIONS = 10;

// A real calendar day: '2027-02-30' would pass a pattern and fail in PostgreSQL after the pathway
// step was already applied (recordDecision), leaving a renewal or exit without its decision.
const isoDate = calendarDate();

/** A decision as it arrives from a browser: anything else is refused. */
export const decisionInput = z
	.object({
		kind: z.enum(DECISIONS),
		exitReason: z.enum(EXIT_REASONS).optional(),
		detail: cleanString().trim().max(500).optional(),
		actions: z
			.array(z.object({ what: cleanString().trim().min(1).max(300), ownerId: z.uuid(), dueOn: isoDate.nullable().optional() }).strict())
			.max(MAX_ACTIONS)
			.default([])
	})
	.strict();

export type DecisionInput = z.infer<typeof decisionInput>;

export interface DecisionPlan {
	/** The pathway step the decision takes, through the patient lifecycle. */
	pathway: Action | null;
	/** Freeze the PPS as a version validated by this RCP at closing. */
	validatePps: boolean;
	/** Put the case on the next session's agenda. */
	carryOver: boolean;
	/** Changes the patient's state: such a decision cannot be replaced afterwards. */
	final: boolean;
	details: Record<string, unknown>;
}

/** What a decision does, decided on `today` (Paris), or a French reason to refuse it. */
export function planDecision(input: DecisionInput, today: string): { ok: true; plan: DecisionPlan } | { ok: false; error: string } {
	const detail = input.detail?.trim() || undefined;
	const base = { pathway: null, validatePps: false, carryOver: false, final: false, details: detail ? { detail } : {} };
	for (const a of input.actions) if (a.dueOn && a.dueOn < today) return { ok: false, error: "L'échéance d'une action ne peut pas être passée." };
	switch (input.kind) {
		case 'poursuite':
			return { ok: true, plan: base };
		case 'adaptation_pps':
			return { ok: true, plan: { ...base, validatePps: true } };
		case 'a_revoir':
			return { ok: true, plan: { ...base, carryOver: true } };
		case 'renouvellement':
			return { ok: true, plan: { ...base, pathway: { kind: 'renew', on: today }, validatePps: true, final: true } };
		case 'reorientation':
			if (!detail) return { ok: false, error: 'Précisez vers qui ou quoi le patient est réorienté.' };
			return { ok: true, plan: base };
		case 'fin_de_suivi':
			if (!input.exitReason) return { ok: false, error: 'Choisissez le motif de fin de suivi.' };
			if (input.exitReason === 'autre' && !detail) return { ok: false, error: 'Précisez le motif de fin de suivi.' };
			return {
				ok: true,
				plan: { ...base, pathway: { kind: 'exit', on: today, reason: input.exitReason, detail }, final: true, details: { ...base.details, exitReason: input.exitReason } }
			};
	}
}
